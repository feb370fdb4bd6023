/**
 * The pool's options: one schema, one frozen defaults object, validated once at
 * construction (tarn's strict keys, fastify's "validated once and frozen").
 *
 * Defaults follow HikariCP where a connection pool's experience matters (size, lifetime,
 * jitter, leak detection off) and deliberately depart where wirewarden already does the
 * work elsewhere: validation on borrow is off by default because every idle connection
 * is heartbeated by its actor, and `min` is 0 (pgxpool, generic-pool) so that a pool
 * opens no socket before it is used. `docs/pool.md` has the side-by-side table.
 *
 * `protocol`, `transport`, `heartbeat` and `backoff` are opaque here: they are checked
 * as objects and validated by their owners (the connection actor, the backoff policy);
 * `rt.createPool` runs those checks at its boundary with the same `pool.` paths
 * (create-pool.ts). `id`, `validationTimeoutMs`, `connectTimeoutMs` and
 * `handshakeTimeoutMs` are read by the supervisor source, not by the core.
 * The cross-field checks (`min <= max`, duplicate endpoints, `reclaimLeaked` without
 * leak detection, `resetOnRelease` without a `reset()`) run after the schema so that
 * their messages can name both fields.
 *
 * @example
 * const options = parsePoolOptions({
 *   endpoints: [{ host: '127.0.0.1', port: 6379 }],
 *   protocol: myProtocol,
 *   min: 2, max: 10,
 * });
 */
import { InvalidOptionError } from '../errors.js';
import { balanceOption, latencyDecayOption, type BalanceStrategy } from './balancer.js';
import { endpointsFrom, isEndpointSource, type EndpointProvider, type EndpointSource } from './endpoint-provider.js';
import {
  parseEndpointHealthOptions, type EndpointHealthOptions, type EndpointHealthOptionsInput,
} from './endpoint-health-options.js';
import type { BreakerOptions } from './health/breaker-options.js';
import type { FailoverOptions } from './health/failover-policy.js';
import type { OutlierOptions } from './health/outlier-options.js';
import type { SheddingOptions } from './health/queue-delay-shedder.js';
import type { PoolLogger } from './pool-events.js';
import {
  arrayOf, boolean, custom, describeValue, duration, integer, isObject, number, optional, parseOptions, shape, string,
  type Checker,
} from '../options.js';

/** Where a pool connects. Structurally an `Endpoint` of `src/transport/types.ts`. */
export interface PoolEndpoint {
  readonly host?: string;
  readonly port?: number;
  /** Unix domain socket path; replaces host and port. */
  readonly path?: string;
  /** Failover group: the lowest group with a live endpoint is used. Default 0. */
  readonly priority: number;
  /** Relative share of connections within its priority group. Default 1. */
  readonly weight: number;
  /** TLS server name override. */
  readonly servername?: string;
}

/**
 * Defaults, with the anchors they were chosen against (docs/pool.md has the table).
 * Every duration is in milliseconds; `0` disables the feature it bounds.
 */
export const poolDefaults = Object.freeze({
  /** HikariCP `minimumIdle` = max (fixed size); pgxpool `MinConns` 0; generic-pool 0. */
  min: 0,
  /** HikariCP `maximumPoolSize` 10; pgxpool max(4, NumCPU); Go unlimited. */
  max: 10,
  /** HikariCP `connectionTimeout` 30 s; tarn 30 s; generic-pool and Go wait forever. */
  acquireTimeoutMs: 30_000,
  /** Unlimited, as HikariCP, Go and generic-pool; 0 means "never queue". */
  maxWaiting: Number.POSITIVE_INFINITY,
  /** HikariCP `idleTimeout` 10 min; pgxpool 30 min; tarn/generic-pool 30 s; Go none. */
  idleTimeoutMs: 600_000,
  /** HikariCP `maxLifetime` 30 min; pgxpool 1 h; Go none. */
  maxLifetimeMs: 1_800_000,
  /** HikariCP's variance: up to 2.5 % shorter. pgxpool `MaxConnLifetimeJitter` 0. */
  lifetimeJitter: 0.025,
  /** Off, as HikariCP `leakDetectionThreshold` 0. */
  leakDetectionMs: 0,
  /** HikariCP only logs; reclaiming is opt-in. */
  reclaimLeaked: false,
  /** Off: the actor's heartbeat probes idle connections. pgxpool pings after 1 s idle. */
  validateAfterIdleMs: 0,
  /** Off; HikariCP always resets JDBC state, here a protocol's `reset()` costs a round trip. */
  resetOnRelease: false,
  /** HikariCP sweeps every 30 s, tarn every 1 s: 1 s bounds idle/leak lateness cheaply. */
  housekeepingIntervalMs: 1000,
  /** Bound on waiting for leases at `close()`; OTP's worker `shutdown` default. */
  closeTimeoutMs: 5000,
  /** Bound on a validation probe or a reset; HikariCP `validationTimeout` 5 s. */
  validationTimeoutMs: 5000,
  /**
   * A connection `ready` this long proved its endpoint healthy: its reconnect backoff
   * starts over, so repeated short outages each recover from the first delay. On the
   * order of the initial delay, not OTP's/our supervisors' 30 s; a peer that accepts and
   * drops at once never gets there and is still paced by growing delays.
   */
  resetBackoffAfterMs: 1000,
});

const endpointSchema = shape({
  host: optional(string({ nonEmpty: true })),
  port: optional(integer({ min: 1, max: 65_535 })),
  path: optional(string({ nonEmpty: true })),
  priority: integer({ min: 0, default: 0 }),
  weight: integer({ min: 1, max: 1000, default: 1 }),
  servername: optional(string({ nonEmpty: true })),
});

const poolId = custom<string>('a non-empty string without "/"', (v) => typeof v === 'string' && v.length > 0 && !v.includes('/'));
const intOrInfinity = (min: number): Checker<number> =>
  custom<number>(
    `an integer >= ${min} or Infinity`,
    (v) => v === Number.POSITIVE_INFINITY || (typeof v === 'number' && Number.isInteger(v) && v >= min),
    { default: Number.POSITIVE_INFINITY },
  );

const d = poolDefaults;
/** The largest per-connection dispatch limit (a count that fits a 32-bit signed int). */
const MAX_IN_FLIGHT = 2 ** 31 - 1;
const endpointList = arrayOf(endpointSchema, { minLength: 1 });
/** A fixed list, or a dynamic source (pool-discovery.ts) that is normalised with `endpointsFrom`. */
const endpointsOption = custom<readonly PoolEndpoint[] | EndpointSource>(
  'an array of at least 1 endpoint, or a discovery source (an EndpointProvider such as redisSentinel(…), an Observable of endpoint arrays, or a function returning one)',
  (v) => Array.isArray(v) || isEndpointSource(v),
);

export const poolOptionsSchema = shape({
  endpoints: endpointsOption,
  /** The protocol adapter (`wire()`, `resp()`, `custom()`); validated by the connection actor. */
  protocol: custom<object>('a protocol object', isObject),
  transport: optional(custom<object>('a transport object', isObject)),
  min: integer({ min: 0, default: d.min }),
  max: integer({ min: 1, default: d.max }),
  acquireTimeoutMs: duration({ min: 1, default: d.acquireTimeoutMs }),
  maxWaiting: intOrInfinity(0),
  idleTimeoutMs: duration({ min: 0, default: d.idleTimeoutMs }),
  maxLifetimeMs: duration({ min: 0, default: d.maxLifetimeMs }),
  lifetimeJitter: number({ min: 0, max: 1, default: d.lifetimeJitter }),
  leakDetectionMs: duration({ min: 0, default: d.leakDetectionMs }),
  reclaimLeaked: boolean({ default: d.reclaimLeaked }),
  /** Grace after a leak warning before a reclaim; default: `leakDetectionMs` again. */
  leakReclaimGraceMs: optional(duration({ min: 0 })),
  validateAfterIdleMs: duration({ min: 0, default: d.validateAfterIdleMs }),
  resetOnRelease: boolean({ default: d.resetOnRelease }),
  heartbeat: optional(custom<object>('an object', isObject)),
  backoff: optional(custom<object>('a backoff policy object', isObject)),
  housekeepingIntervalMs: duration({ min: 1, default: d.housekeepingIntervalMs }),
  closeTimeoutMs: duration({ min: 0, default: d.closeTimeoutMs }),
  validationTimeoutMs: duration({ min: 1, default: d.validationTimeoutMs }),
  // ≥ 1: at 0 a connection that never became ready (uptime 0) would reset the backoff on every failed dial.
  resetBackoffAfterMs: duration({ min: 1, default: d.resetBackoffAfterMs }),
  /** The pool's supervisor id under the runtime's root (`root/<id>/conn-1`); default `pool-<n>`. */
  id: optional(poolId),
  /** Where leak warnings go besides `events$`; default `process.emitWarning`. */
  logger: optional(custom<PoolLogger>('a logger (an object with a warn function)',
    (v) => isObject(v) && typeof (v as { warn?: unknown }).warn === 'function')),
  /** Passed to the connection actor (its default: 10000). */
  connectTimeoutMs: optional(duration({ min: 1 })),
  handshakeTimeoutMs: optional(duration({ min: 1 })),
  /** `pool.dispatch`: concurrent dispatches per connection; default the protocol's `sharing.maxInFlight`. */
  maxInFlightPerConnection: optional(integer({ min: 1, max: MAX_IN_FLIGHT })),
  /** How a dispatch picks its endpoint (balancer.ts); default `p2c-peak-ewma`. */
  balance: balanceOption,
  /** τ of the endpoints' dispatch latency estimates (peak-ewma.ts); default 1000. */
  latencyDecayMs: latencyDecayOption,
  /** Endpoint health (endpoint-health-options.ts): checked there, with the same paths. */
  breaker: optional(custom<unknown>('a boolean or an options object', () => true)),
  outlierDetection: optional(custom<unknown>('a boolean or an options object', () => true)),
  failover: optional(custom<unknown>('an options object', () => true)),
  shedding: optional(custom<unknown>('a boolean or an options object', () => true)),
});

/** Validated, defaulted, frozen pool options. */
export interface PoolOptions {
  readonly id?: string;
  /** The fixed endpoints; empty when they come from `endpointSource`. */
  readonly endpoints: readonly PoolEndpoint[];
  /** Where the endpoints come from when they change at run time (docs/pool.md "Discovery"). */
  readonly endpointSource?: EndpointProvider;
  readonly protocol: object;
  readonly transport?: object;
  readonly min: number;
  readonly max: number;
  readonly acquireTimeoutMs: number;
  readonly maxWaiting: number;
  readonly idleTimeoutMs: number;
  readonly maxLifetimeMs: number;
  readonly lifetimeJitter: number;
  readonly leakDetectionMs: number;
  readonly reclaimLeaked: boolean;
  readonly leakReclaimGraceMs: number;
  readonly validateAfterIdleMs: number;
  readonly resetOnRelease: boolean;
  readonly heartbeat?: object;
  readonly backoff?: object;
  readonly housekeepingIntervalMs: number;
  readonly closeTimeoutMs: number;
  readonly validationTimeoutMs: number;
  readonly resetBackoffAfterMs: number;
  readonly logger?: PoolLogger;
  readonly connectTimeoutMs?: number;
  readonly handshakeTimeoutMs?: number;
  readonly maxInFlightPerConnection?: number;
  readonly balance: BalanceStrategy;
  readonly latencyDecayMs: number;
  /** Circuit breaker per endpoint (docs/pool.md "Circuit breaker"); `false`: off. */
  readonly breaker: BreakerOptions | false;
  /** Outlier ejection (docs/pool.md "Outlier ejection"); `false`: off. */
  readonly outlierDetection: OutlierOptions | false;
  /** Failover and failback between priority groups (docs/pool.md "Failover and failback"). */
  readonly failover: FailoverOptions;
  /** Queue-delay load shedding (docs/pool.md "Load shedding"); `false` (the default): off. */
  readonly shedding: SheddingOptions | false;
}

/** What a user passes: every field but `endpoints` and `protocol` may be left out. */
export type PoolOptionsInput = {
  readonly endpoints: readonly {
    host?: string; port?: number; path?: string; priority?: number; weight?: number; servername?: string;
  }[] | EndpointSource;
  readonly protocol: object;
} & Partial<Omit<PoolOptions, 'endpoints' | 'protocol' | keyof EndpointHealthOptions>> & EndpointHealthOptionsInput;

/** `host:port`, or the socket path: how stats and events name an endpoint. */
export function endpointKey(endpoint: Pick<PoolEndpoint, 'host' | 'port' | 'path'>): string {
  return endpoint.path ?? `${endpoint.host}:${endpoint.port}`;
}

/**
 * Validates pool options; throws `InvalidOptionError` (`WW_INVALID_OPTION`) naming the
 * option path, the expected shape and the value.
 */
export function parsePoolOptions(input: unknown, path = 'pool'): PoolOptions {
  const o = parseOptions(path, poolOptionsSchema, input);
  const endpointSource = isEndpointSource(o.endpoints) ? endpointsFrom(o.endpoints) : undefined;
  const endpoints = endpointSource === undefined ? parseEndpointList(o.endpoints, `${path}.endpoints`) : [];
  if (o.min > o.max) {
    throw new InvalidOptionError(`${path}.min must be <= ${path}.max (${o.max}), got ${o.min}`);
  }
  if (o.reclaimLeaked && o.leakDetectionMs === 0) {
    throw new InvalidOptionError(`${path}.reclaimLeaked requires ${path}.leakDetectionMs >= 1, got 0`);
  }
  if (o.leakReclaimGraceMs !== undefined && !o.reclaimLeaked) {
    throw new InvalidOptionError(
      `${path}.leakReclaimGraceMs requires ${path}.reclaimLeaked true, got ${describeValue(o.reclaimLeaked)}`,
    );
  }
  if (o.resetOnRelease && typeof (o.protocol as { reset?: unknown }).reset !== 'function') {
    throw new InvalidOptionError(`${path}.resetOnRelease requires a protocol with a reset() method`);
  }
  const sharing = (o.protocol as { sharing?: unknown }).sharing;
  if (sharing !== undefined) {
    const limit = isObject(sharing) ? (sharing as { maxInFlight?: unknown }).maxInFlight : undefined;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_IN_FLIGHT) {
      throw new InvalidOptionError(
        `${path}.protocol.sharing.maxInFlight must be an integer in [1, ${MAX_IN_FLIGHT}], got ${describeValue(limit)}`,
      );
    }
  } else if (o.maxInFlightPerConnection !== undefined) {
    throw new InvalidOptionError(
      `${path}.maxInFlightPerConnection requires a protocol that can be shared (protocol.sharing), got protocol ` +
        `${describeValue((o.protocol as { name?: unknown }).name)} without sharing`,
    );
  }
  return Object.freeze({
    ...o,
    endpoints,
    ...(endpointSource === undefined ? {} : { endpointSource }),
    leakReclaimGraceMs: o.leakReclaimGraceMs ?? o.leakDetectionMs,
    ...parseEndpointHealthOptions(o as Record<string, unknown>, path),
  });
}

/**
 * Validates a list of endpoints at `path` (`pool.endpoints`, or a set a discovery provider
 * gave): at least one, each with a host and port or a path, no key twice. Returns them
 * with `priority` and `weight` defaulted, frozen; throws `InvalidOptionError`.
 */
export function parseEndpointList(input: unknown, path: string): readonly PoolEndpoint[] {
  const list = endpointList.check(input, path) as readonly PoolEndpoint[];
  const seen = new Map<string, number>();
  list.forEach((e, i) => {
    const at = `${path}[${i}]`;
    if (e.path === undefined && (e.host === undefined || e.port === undefined)) {
      throw new InvalidOptionError(`${at} must have a host and a port, or a path`);
    }
    if (e.path !== undefined && (e.host !== undefined || e.port !== undefined)) {
      throw new InvalidOptionError(`${at} must have either a path or a host and port, not both`);
    }
    const key = endpointKey(e);
    const first = seen.get(key);
    if (first !== undefined) {
      throw new InvalidOptionError(`${at} duplicates ${path}[${first}] (${key})`);
    }
    seen.set(key, i);
  });
  return list;
}
