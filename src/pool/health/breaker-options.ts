/**
 * Circuit breaker options, named after resilience4j's `CircuitBreakerConfig` where they mean
 * the same, validated once (unknown keys rejected, every message names the path).
 *
 * Where the defaults depart from resilience4j, it is because a breaker here guards a pool's
 * endpoint, not one remote method: calls are acquires, dials and requests on a handful of
 * connections, an outage must be noticed within seconds (issue 14: fail fast 3 s into it),
 * and a healthy endpoint must be found again without a minute of refusals. docs/endpoint-
 * health.md has the table with the reasons.
 *
 * Two departures in shape, both for our conventions: the time-based window's length is
 * `slidingWindowSizeMs` (resilience4j's `slidingWindowSize` counts seconds there), and the
 * growing open wait (resilience4j's `IntervalFunction.ofExponentialRandomBackoff`) is spelled
 * out as `waitDurationMultiplier`, `randomizationFactor` and `maxWaitDurationInOpenStateMs`.
 *
 * @example
 * const options = parseBreakerOptions({ failureRateThreshold: 25, slidingWindowType: 'time-based' });
 */
import { InvalidOptionError } from '../../errors.js';
import {
  custom, duration, func, integer, number, oneOf, optional, parseOptions, shape,
} from '../../options.js';
import type { ClassifyError } from './classify-outcome.js';

export type SlidingWindowType = 'count-based' | 'time-based';

export const breakerDefaults = Object.freeze({
  /** resilience4j 50 %. */
  failureRateThreshold: 50,
  /** resilience4j 100 %: only when every call in the window is slow (a server that accepts and crawls). */
  slowCallRateThreshold: 100,
  /** resilience4j 60 s, for remote methods; a pool's request slower than 5 s is already an outage to its caller. */
  slowCallDurationThresholdMs: 5000,
  /** resilience4j COUNT_BASED. */
  slidingWindowType: 'count-based' as SlidingWindowType,
  /** resilience4j 100 calls; 20 keeps a window on a quiet pool about recent traffic. */
  slidingWindowSize: 20,
  /** Time-based: the last 10 s in 10 buckets (opossum's `rollingCountTimeout` 10 s, 10 buckets). */
  slidingWindowSizeMs: 10_000,
  /** resilience4j 100; 5 dead connections or failed dials are enough evidence, a second or two into an outage. */
  minimumNumberOfCalls: 5,
  /** resilience4j 60 s; the first open is short so that a blip costs seconds, repeated opens grow. */
  waitDurationInOpenStateMs: 5000,
  /** Each consecutive open (a half-open that failed) multiplies the wait. */
  waitDurationMultiplier: 2,
  /** The wait's cap: resilience4j's default wait, so a long outage is retried once a minute at least. */
  maxWaitDurationInOpenStateMs: 60_000,
  /** ±20 % (gRPC's connection backoff): breakers that opened together do not retry together. */
  randomizationFactor: 0.2,
  /** resilience4j 10; 5 calls so one lucky call cannot close it, few enough for a quiet pool. */
  permittedNumberOfCallsInHalfOpenState: 5,
  /** resilience4j 0 = wait forever (its issues #903, #935: stuck half-open); bounded here. */
  maxWaitDurationInHalfOpenStateMs: 10_000,
});

const d = breakerDefaults;
const percent = (dflt: number) =>
  custom<number>('a number in (0, 100] (percent)', (v) => typeof v === 'number' && v > 0 && v <= 100, { default: dflt });

export const breakerOptionsSchema = shape({
  failureRateThreshold: percent(d.failureRateThreshold),
  slowCallRateThreshold: percent(d.slowCallRateThreshold),
  slowCallDurationThresholdMs: duration({ min: 1, default: d.slowCallDurationThresholdMs }),
  slidingWindowType: oneOf(['count-based', 'time-based'] as const, { default: d.slidingWindowType }),
  slidingWindowSize: optional(integer({ min: 1, max: 100_000 })),
  slidingWindowSizeMs: optional(duration({ min: 10 })),
  minimumNumberOfCalls: integer({ min: 1, default: d.minimumNumberOfCalls }),
  waitDurationInOpenStateMs: duration({ min: 1, default: d.waitDurationInOpenStateMs }),
  waitDurationMultiplier: number({ min: 1, max: 100, default: d.waitDurationMultiplier }),
  maxWaitDurationInOpenStateMs: optional(duration({ min: 1 })),
  randomizationFactor: number({ min: 0, max: 1, default: d.randomizationFactor }),
  permittedNumberOfCallsInHalfOpenState: integer({ min: 1, max: 10_000, default: d.permittedNumberOfCallsInHalfOpenState }),
  maxWaitDurationInHalfOpenStateMs: duration({ min: 1, default: d.maxWaitDurationInHalfOpenStateMs }),
  /**
   * Decides whether an error counts (resilience4j's `recordFailurePredicate`, widened): return
   * an `Outcome`, or `undefined` for the built-in rule (classify-outcome.ts).
   */
  recordFailurePredicate: optional(func<ClassifyError>()),
});

/** Validated, defaulted, frozen breaker options. */
export interface BreakerOptions {
  readonly failureRateThreshold: number;
  readonly slowCallRateThreshold: number;
  readonly slowCallDurationThresholdMs: number;
  readonly slidingWindowType: SlidingWindowType;
  /** Count-based only. */
  readonly slidingWindowSize: number;
  /** Time-based only. */
  readonly slidingWindowSizeMs: number;
  readonly minimumNumberOfCalls: number;
  readonly waitDurationInOpenStateMs: number;
  readonly waitDurationMultiplier: number;
  readonly maxWaitDurationInOpenStateMs: number;
  readonly randomizationFactor: number;
  readonly permittedNumberOfCallsInHalfOpenState: number;
  readonly maxWaitDurationInHalfOpenStateMs: number;
  readonly recordFailurePredicate?: ClassifyError;
}

/** What a user passes: every field optional. */
export type BreakerOptionsInput = Partial<BreakerOptions>;

/**
 * Validates breaker options at `path` (`pool.breaker`); throws `InvalidOptionError`
 * (`WW_INVALID_OPTION`) naming the path, the expected shape and the value. The cross-field
 * rules: the window's size option must match its type, `minimumNumberOfCalls` cannot exceed
 * a count-based window (resilience4j clamps it silently), and the open wait's cap cannot be
 * below its start.
 */
export function parseBreakerOptions(input: unknown, path = 'breaker'): BreakerOptions {
  const o = parseOptions(path, breakerOptionsSchema, input);
  const countBased = o.slidingWindowType === 'count-based';
  if (countBased && o.slidingWindowSizeMs !== undefined) {
    throw new InvalidOptionError(`${path}.slidingWindowSizeMs requires ${path}.slidingWindowType "time-based", got "count-based"`);
  }
  if (!countBased && o.slidingWindowSize !== undefined) {
    throw new InvalidOptionError(`${path}.slidingWindowSize requires ${path}.slidingWindowType "count-based", got "time-based" (use slidingWindowSizeMs)`);
  }
  const slidingWindowSize = o.slidingWindowSize ?? d.slidingWindowSize;
  if (countBased && o.minimumNumberOfCalls > slidingWindowSize) {
    throw new InvalidOptionError(
      `${path}.minimumNumberOfCalls must be <= ${path}.slidingWindowSize (${slidingWindowSize}), got ${o.minimumNumberOfCalls}`,
    );
  }
  const maxWait = o.maxWaitDurationInOpenStateMs ?? Math.max(d.maxWaitDurationInOpenStateMs, o.waitDurationInOpenStateMs);
  if (maxWait < o.waitDurationInOpenStateMs) {
    throw new InvalidOptionError(
      `${path}.maxWaitDurationInOpenStateMs must be >= ${path}.waitDurationInOpenStateMs (${o.waitDurationInOpenStateMs}), got ${maxWait}`,
    );
  }
  return Object.freeze({
    ...o,
    slidingWindowSize,
    slidingWindowSizeMs: o.slidingWindowSizeMs ?? d.slidingWindowSizeMs,
    maxWaitDurationInOpenStateMs: maxWait,
  });
}
