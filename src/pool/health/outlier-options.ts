/**
 * Outlier ejection options, after Envoy's `config.cluster.v3.OutlierDetection` (camelCase,
 * durations in ms, the stdev factor as a plain number: Envoy's 1900 is 1.9 here).
 *
 * @example
 * const options = parseOutlierOptions({ consecutiveFailures: 3, maxEjectionPercent: 50 });
 */
import { InvalidOptionError } from '../../errors.js';
import { duration, integer, number, parseOptions, shape } from '../../options.js';

export const outlierDefaults = Object.freeze({
  /** Envoy `consecutive_5xx` 5: counted failures of any kind (classify-outcome.ts) in a row; 0 turns it off. */
  consecutiveFailures: 5,
  /**
   * Envoy `consecutive_gateway_failure` 5 (enforced 0 there): connection failures in a row —
   * refused or failed dials and handshakes, deaths, timeouts. 3 here, and on: a refused dial
   * is unambiguous evidence, where an error reply may be one bad request. 0 turns it off.
   */
  consecutiveGatewayFailure: 3,
  /** Envoy `interval` 10 s: how often success rates are compared and ejections end. */
  intervalMs: 10_000,
  /** Envoy `base_ejection_time` 30 s, multiplied by the endpoint's ejection count. */
  baseEjectionTimeMs: 30_000,
  /** Envoy `max_ejection_time` 300 s. */
  maxEjectionTimeMs: 300_000,
  /** Envoy `max_ejection_time_jitter` 0; 3 s here so that endpoints ejected together do not return together. */
  maxEjectionTimeJitterMs: 3000,
  /** Envoy `max_ejection_percent` 10; at least one endpoint of two or more, never all (see outlier-detector.ts). */
  maxEjectionPercent: 10,
  /** Envoy `success_rate_minimum_hosts` 5. */
  successRateMinimumHosts: 5,
  /** Envoy `success_rate_request_volume` 100 calls per interval. */
  successRateRequestVolume: 100,
  /** Envoy `success_rate_stdev_factor` 1900 (÷ 1000): eject below mean − 1.9 × stdev. */
  successRateStdevFactor: 1.9,
  /** Successes in a row that end an endpoint's probation after an ejection (Envoy's `healthy_threshold` for active checks). */
  healthyThreshold: 3,
});

const d = outlierDefaults;
export const outlierOptionsSchema = shape({
  consecutiveFailures: integer({ min: 0, default: d.consecutiveFailures }),
  consecutiveGatewayFailure: integer({ min: 0, default: d.consecutiveGatewayFailure }),
  intervalMs: duration({ min: 1, default: d.intervalMs }),
  baseEjectionTimeMs: duration({ min: 1, default: d.baseEjectionTimeMs }),
  maxEjectionTimeMs: duration({ min: 1, default: d.maxEjectionTimeMs }),
  maxEjectionTimeJitterMs: duration({ min: 0, default: d.maxEjectionTimeJitterMs }),
  maxEjectionPercent: number({ min: 0, max: 100, default: d.maxEjectionPercent }),
  successRateMinimumHosts: integer({ min: 1, default: d.successRateMinimumHosts }),
  successRateRequestVolume: integer({ min: 1, default: d.successRateRequestVolume }),
  successRateStdevFactor: number({ min: 0, max: 100, default: d.successRateStdevFactor }),
  healthyThreshold: integer({ min: 1, default: d.healthyThreshold }),
});

export interface OutlierOptions {
  readonly consecutiveFailures: number;
  readonly consecutiveGatewayFailure: number;
  readonly intervalMs: number;
  readonly baseEjectionTimeMs: number;
  readonly maxEjectionTimeMs: number;
  readonly maxEjectionTimeJitterMs: number;
  readonly maxEjectionPercent: number;
  readonly successRateMinimumHosts: number;
  readonly successRateRequestVolume: number;
  readonly successRateStdevFactor: number;
  readonly healthyThreshold: number;
}

/** Validates outlier options at `path` (`pool.outlierDetection`); the cap cannot be below the base. */
export function parseOutlierOptions(input: unknown, path = 'outlierDetection'): OutlierOptions {
  const o = parseOptions(path, outlierOptionsSchema, input);
  if (o.maxEjectionTimeMs < o.baseEjectionTimeMs) {
    throw new InvalidOptionError(`${path}.maxEjectionTimeMs must be >= ${path}.baseEjectionTimeMs (${o.baseEjectionTimeMs}), got ${o.maxEjectionTimeMs}`);
  }
  return o;
}
