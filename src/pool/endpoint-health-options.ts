/**
 * The pool's endpoint-health options (`breaker`, `outlierDetection`, `failover`,
 * `shedding`), validated at the pool's boundary with `pool.` paths by the building
 * blocks' own parsers (src/pool/health/*-options.ts), and what they default to.
 *
 *   breaker           off   (`true` or an options object turns it on). A count-based breaker
 *                           cannot tell a restart's burst of deaths and failed redials from an
 *                           outage: on by default, a 200 ms server restart opened it and cost
 *                           the open wait (5 s ± 20 %) of refused calls with no reconnection —
 *                           58 of 60 requests failed in the kv-handler chaos scenario, and 8
 *                           chaos scenarios that bound recovery after a restart failed. A pool
 *                           that would rather fail fast through long outages turns it on.
 *   outlierDetection  off   (`true` or an object turns it on; Envoy's default too). Without a
 *                           panic threshold, a set whose endpoints all fail keeps an ejected
 *                           one out for `baseEjectionTimeMs` even if it recovers first.
 *   failover          on    (an object; priority groups always exist)
 *   shedding          off   (`true` or an object turns it on). Refusing callers is a policy the
 *                           application chooses: its callers must treat `WW_POOL_OVERLOADED`
 *                           as "retry later", which code written for a queue that only ever
 *                           times out may not do.
 *
 * @example
 * parseEndpointHealthOptions({ breaker: { failureRateThreshold: 25 }, shedding: true }, 'pool');
 */
import { InvalidOptionError } from '../errors.js';
import { describeValue, isObject } from '../options.js';
import { parseBreakerOptions, type BreakerOptions, type BreakerOptionsInput } from './health/breaker-options.js';
import { parseFailoverOptions, type FailoverOptions } from './health/failover-policy.js';
import { parseOutlierOptions, type OutlierOptions } from './health/outlier-options.js';
import { parseSheddingOptions, type SheddingOptions } from './health/queue-delay-shedder.js';

/** Validated endpoint-health options; `false`: that piece is off. */
export interface EndpointHealthOptions {
  readonly breaker: BreakerOptions | false;
  readonly outlierDetection: OutlierOptions | false;
  readonly failover: FailoverOptions;
  readonly shedding: SheddingOptions | false;
}

/** What a user passes for each piece. */
export interface EndpointHealthOptionsInput {
  /** Circuit breaker per endpoint (resilience4j's names); default off. `true` or options turn it on. */
  readonly breaker?: boolean | BreakerOptionsInput;
  /** Outlier ejection across the endpoint set (Envoy's names); default off. `true` or options turn it on. */
  readonly outlierDetection?: boolean | Partial<OutlierOptions>;
  /** Failover and failback between priority groups. */
  readonly failover?: Partial<FailoverOptions>;
  /** Queue-delay load shedding (CoDel, DBConnection); default off. `true`: on with the defaults. */
  readonly shedding?: boolean | Partial<SheddingOptions>;
}

/** A toggle with options: `true` or absent → `parse({})` when on by default, an object → `parse(it)`. */
function toggle<T>(value: unknown, at: string, onByDefault: boolean, parse: (input: unknown, path: string) => T): T | false {
  if (value === false) return false;
  if (value === undefined) return onByDefault ? parse({}, at) : false;
  if (value === true) return parse({}, at);
  if (!isObject(value)) throw new InvalidOptionError(`${at} must be a boolean or an options object, got ${describeValue(value)}`);
  return parse(value, at);
}

/** Validates the four pieces of `input` (a pool's options object) at `path`; throws `WW_INVALID_OPTION`. */
export function parseEndpointHealthOptions(input: Record<string, unknown>, path = 'pool'): EndpointHealthOptions {
  const failover = input.failover;
  if (failover !== undefined && !isObject(failover)) {
    throw new InvalidOptionError(`${path}.failover must be an options object, got ${describeValue(failover)}`);
  }
  return Object.freeze({
    breaker: toggle(input.breaker, `${path}.breaker`, false, parseBreakerOptions),
    outlierDetection: toggle(input.outlierDetection, `${path}.outlierDetection`, false, parseOutlierOptions),
    failover: parseFailoverOptions(failover ?? {}, `${path}.failover`),
    shedding: toggle(input.shedding, `${path}.shedding`, false, parseSheddingOptions),
  });
}
