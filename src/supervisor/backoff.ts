/**
 * Backoff policies: how long a supervisor waits before restarting a child that exited.
 *
 * A policy is a pure function of `(attempt, prevMs, random, phase)`, so the same inputs
 * always give the same delay: property tests can pin the bounds, a seeded `random`
 * reproduces a reconnect storm, and the supervisor (not the policy) owns the clock, the
 * counter and the per-child phase. Delays are whole milliseconds: events and dashboards
 * show `delayMs: 1375`, not `1374.9999`, and integer bounds make the jitter ranges exact.
 *
 * Jitter (AWS "Exponential Backoff and Jitter"; `cap(k) = min(maxMs, initialMs·multiplier^(k-1))`,
 * `cap(0) = 0`, `k` = attempt):
 *
 *   none          cap(k)                           — synchronised retries; only for tests
 *   full          uniform in [0, cap(k)]           — the default; spreads independent failures
 *   equal         uniform in [⌈cap/2⌉, cap(k)]     — never retries "immediately"
 *   decorrelated  uniform in [initialMs, min(maxMs, 3·prev)] — ignores attempt and multiplier
 *   proportional  cap(k)·(1 ± jitterRatio)         — gRPC's ±20 %; may exceed maxMs by the ratio
 *
 * Every delay is at most `MAX_DURATION_MS` (2^31 − 1): jitter above a `maxMs` near it is
 * clamped, since a timer cannot wait longer (it would fire at once).
 *   phased        cap(k-1) + round(φ·cap(k)) − round(φ·cap(k-1)), φ = the child's phase
 *                                                  — flat dial rate for children that fail together
 *
 * Why `phased`: children that died together (a server killed under 10k connections) and
 * draw a fresh uniform delay per attempt cannot come back at a flat rate. When the server
 * returns, each one is part-way through a delay drawn from [0, cap], and the time left has
 * a linearly falling density: the dial rate just after the restart is at least twice the
 * mean. A phased child instead keeps one φ ∈ [0, 1) for its life and fires attempt k at
 * `S(k-1) + round(φ·cap(k))` after its first death (`S` = running sum of caps, the end of
 * window k-1): the population retries at a flat rate during the outage, and after it each
 * child's next dial is uniform over the rest of the current window. Each delay stays in
 * [cap(k-1), cap(k)] (never the tiny repeats of `φ·cap(k)`), the telescoping form makes
 * the schedule exact (no rounding drift), and once caps saturate the period is exactly
 * `maxMs` at the child's phase — the heartbeat's phase jitter, applied to restarts.
 *
 * @example
 * const policy = exponentialBackoff({ initialMs: 100, maxMs: 10_000, multiplier: 2, jitter: 'decorrelated' });
 * policy.delayMs(1, undefined, Math.random); // somewhere in [100, 300]
 */
import { InvalidOptionError } from '../errors.js';
import { clampDurationMs, duration, fail, number, oneOf, parseOptions, shape, optional } from '../options.js';

export type Jitter = 'none' | 'full' | 'equal' | 'decorrelated' | 'proportional' | 'phased';

/** A restart delay policy. Implement it to plug in your own; it must be pure. */
export interface BackoffPolicy {
  /** Short name for logs and docs: `exponential`, `constant`, or your own. */
  readonly name: string;
  /** The resolved options, as plain data (safe to log or show in a snapshot). */
  readonly options: Readonly<Record<string, unknown>>;
  /**
   * The delay before restart number `attempt` (1-based; the counter resets once a child
   * stayed up `resetAfterMs`). `prevMs` is the previous delay returned for this child, or
   * `undefined` on the first attempt. `random` returns a number in [0, 1). `phase` is a
   * per-child constant in [0, 1): the supervisor draws it from `random` at the child's
   * first restart and keeps it until the attempt counter resets, so a policy can place
   * every attempt of one child at the same point of its window (`jitter: 'phased'`).
   * Policies that need no phase ignore it; a caller without per-child state may omit it.
   */
  delayMs(attempt: number, prevMs: number | undefined, random: () => number, phase?: number): number;
}

export interface ExponentialBackoffOptions {
  /** Delay scale of the first attempt. Default 100. */
  readonly initialMs?: number;
  /** Upper bound of the un-jittered delay. Default 30000. */
  readonly maxMs?: number;
  /** Growth per attempt. Default 2. */
  readonly multiplier?: number;
  /**
   * How delays are spread (table in the module doc). Default `'full'`; prefer `'phased'`
   * for many children that fail together (connections to one endpoint).
   */
  readonly jitter?: Jitter;
  /** Spread of `'proportional'` jitter, in [0, 1]. Default 0.2 (only valid with `'proportional'`). */
  readonly jitterRatio?: number;
}

export interface ConstantBackoffOptions {
  /** The delay. Default 1000. */
  readonly delayMs?: number;
  /** Uniform spread around the delay, in [0, 1]: `delayMs·(1 ± jitterRatio)`. Default 0. */
  readonly jitterRatio?: number;
}

/** Defaults of `exponentialBackoff()`, also the supervisor's default policy. */
export const backoffDefaults = Object.freeze({
  initialMs: 100,
  maxMs: 30_000,
  multiplier: 2,
  jitter: 'full' as Jitter,
  jitterRatio: 0.2,
  constantDelayMs: 1000,
});

const JITTERS: readonly Jitter[] = ['none', 'full', 'equal', 'decorrelated', 'proportional', 'phased'];

const exponentialSchema = shape({
  initialMs: duration({ min: 1, default: backoffDefaults.initialMs }),
  maxMs: duration({ min: 1, default: backoffDefaults.maxMs }),
  multiplier: number({ min: 1, default: backoffDefaults.multiplier }),
  jitter: oneOf(JITTERS, { default: backoffDefaults.jitter }),
  jitterRatio: optional(number({ min: 0, max: 1 })),
});

const constantSchema = shape({
  delayMs: duration({ min: 0, default: backoffDefaults.constantDelayMs }),
  jitterRatio: number({ min: 0, max: 1, default: 0 }),
});

/**
 * @internal `r` clamped into [0, 1), so a sloppy random source or phase cannot break the
 * bounds: NaN and negatives give 0, anything >= 1 the largest double below 1.
 */
export function unitInterval(r: number): number {
  if (!(r >= 0)) return 0;
  return r < 1 ? r : 1 - Number.EPSILON;
}

/** A `random()` result clamped into [0, 1). */
function unit(random: () => number): number {
  return unitInterval(random());
}

/** A uniformly random integer in [lo, hi] (both integers, lo <= hi). */
function between(lo: number, hi: number, random: () => number): number {
  return lo + Math.floor(unit(random) * (hi - lo + 1));
}

function checkAttempt(attempt: number): void {
  if (!Number.isInteger(attempt) || attempt < 1) {
    throw new InvalidOptionError(`backoff attempt must be an integer >= 1, got ${String(attempt)}`);
  }
}

/**
 * Exponential backoff with a choice of jitter. Options are validated here, so a bad
 * policy fails where it is written, not at the first restart.
 *
 * @example
 * exponentialBackoff({ initialMs: 100, maxMs: 30_000, multiplier: 2, jitter: 'full' });
 * // 10k connections to one server: one phase per child, a flat dial rate after an outage.
 * const phased = exponentialBackoff({ initialMs: 100, maxMs: 2000, jitter: 'phased' });
 * phased.delayMs(3, 150, Math.random, 0.25); // 200 + round(0.25·400) − round(0.25·200) = 250
 */
export function exponentialBackoff(options?: ExponentialBackoffOptions): BackoffPolicy {
  const o = parseOptions('exponentialBackoff', exponentialSchema, options);
  if (o.maxMs < o.initialMs) fail('exponentialBackoff.maxMs', `an integer >= initialMs (${o.initialMs})`, o.maxMs);
  if (o.jitterRatio !== undefined && o.jitter !== 'proportional') {
    throw new InvalidOptionError(
      `exponentialBackoff.jitterRatio only applies to jitter "proportional", got jitter ${JSON.stringify(o.jitter)}`,
    );
  }
  const { initialMs, maxMs, multiplier, jitter } = o;
  const ratio = o.jitterRatio ?? backoffDefaults.jitterRatio;
  const resolved = Object.freeze(jitter === 'proportional' ? { initialMs, maxMs, multiplier, jitter, jitterRatio: ratio } : { initialMs, maxMs, multiplier, jitter });

  const capOf = (attempt: number): number => Math.min(maxMs, Math.round(initialMs * multiplier ** (attempt - 1)));

  return Object.freeze({
    name: 'exponential',
    options: resolved,
    delayMs(attempt: number, prevMs: number | undefined, random: () => number, phase?: number): number {
      checkAttempt(attempt);
      switch (jitter) {
        case 'none':
          return capOf(attempt);
        case 'full':
          return between(0, capOf(attempt), random);
        case 'equal': {
          const cap = capOf(attempt);
          return between(Math.ceil(cap / 2), cap, random);
        }
        case 'decorrelated': {
          const prev = prevMs === undefined || !(prevMs >= 0) ? initialMs : prevMs;
          const hi = Math.max(initialMs, Math.min(maxMs, Math.floor(3 * prev)));
          return between(initialMs, hi, random);
        }
        case 'proportional': {
          const cap = capOf(attempt);
          return clampDurationMs(Math.max(0, Math.round(cap * (1 + ratio * (2 * unit(random) - 1)))));
        }
        case 'phased': {
          // Without a phase (a caller with no per-child state) a fresh one per attempt:
          // the same [cap(k-1), cap(k)] range, but no flat rate across a population.
          const p = phase === undefined ? unit(random) : unitInterval(phase);
          const prevCap = attempt === 1 ? 0 : capOf(attempt - 1);
          return prevCap + Math.round(p * capOf(attempt)) - Math.round(p * prevCap);
        }
      }
    },
  });
}

/**
 * The same delay every time, optionally spread by `jitterRatio`.
 *
 * @example
 * constantBackoff({ delayMs: 500, jitterRatio: 0.1 }); // 450..550 ms
 */
export function constantBackoff(options?: ConstantBackoffOptions): BackoffPolicy {
  const o = parseOptions('constantBackoff', constantSchema, options);
  const { delayMs, jitterRatio } = o;
  return Object.freeze({
    name: 'constant',
    options: Object.freeze({ delayMs, jitterRatio }),
    delayMs(attempt: number, _prevMs: number | undefined, random: () => number): number {
      checkAttempt(attempt);
      if (jitterRatio === 0) return delayMs;
      return clampDurationMs(Math.max(0, Math.round(delayMs * (1 + jitterRatio * (2 * unit(random) - 1)))));
    },
  });
}

/**
 * gRPC's connection backoff (grpc/grpc `doc/connection-backoff.md`, grpc-js
 * `backoff-timeout.ts`): 1 s, ×1.6, ±20 % uniform jitter, max 120 s. As in gRPC the jitter
 * applies after the cap, so a delay can reach 144 s.
 *
 * @example
 * const spec = { id: 'conn', logic, backoff: grpcBackoff() };
 */
export function grpcBackoff(): BackoffPolicy {
  return exponentialBackoff({ initialMs: 1000, maxMs: 120_000, multiplier: 1.6, jitter: 'proportional', jitterRatio: 0.2 });
}

/** The supervisor's default: exponential, full jitter, 100 ms .. 30 s, ×2. */
export function defaultBackoff(): BackoffPolicy {
  return exponentialBackoff();
}

/**
 * The reconnect backoff of a group of connections to the same endpoints (a pool's slots, a
 * subscriber) unless one is given: the default range (100 ms .. 30 s, ×2) with phased
 * jitter instead of full. Connections to one endpoint fail together, and so do those of
 * every other instance of the application: phased jitter brings them back at a flat rate
 * (full jitter front-loads the recovery, peak/mean ≥ 2) and, once the caps saturate, dials
 * a dead endpoint half as often (every 30 s instead of every 15 s on average; docs/backoff.md).
 */
export const reconnectBackoff: BackoffPolicy = exponentialBackoff({ jitter: 'phased' });

/** True when `value` looks like a `BackoffPolicy` (an object with a `delayMs` function). */
export function isBackoffPolicy(value: unknown): value is BackoffPolicy {
  return typeof value === 'object' && value !== null && typeof (value as BackoffPolicy).delayMs === 'function';
}
