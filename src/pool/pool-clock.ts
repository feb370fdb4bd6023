/**
 * The pool's notion of "now": the scheduler's time as last observed, read exactly only
 * off the lease path.
 *
 * Why: reading a clock costs 60–80 ns on the reference machine (`Date.now()`,
 * `performance.now()` and `hrtime` alike), as much as an entire array-pool acquire, and
 * the lease path would need two reads per acquire+release. So the fast path uses
 * `now`, which is refreshed by every exact read the slow paths make anyway and by the
 * pool's own ticks (each housekeeping sweep; the waiter tick while acquires queue). It
 * is never ahead of the scheduler and lags it by at most one tick while the pool has
 * connections (undici's "fast timers" make the same trade at 500 ms).
 *
 * What uses the coarse time, and the resulting resolution:
 *   leasedAt, lastReleasedAt, lifetime checks at acquire/release → one housekeeping interval
 *   per-acquire wait durations → one waiter tick (unbiased in aggregate, see waitlist.ts)
 * What reads exactly: timeouts and deadlines, validation (`validateAfterIdleMs`), leak
 * detection (which captures a stack anyway), events' `at`, and every slow path.
 *
 * @example
 * const clock = new PoolClock(scheduler);
 * clock.now;      // cheap, possibly a tick old
 * clock.read();   // exact, refreshes clock.now
 */
import { asyncScheduler, type SchedulerLike } from 'rxjs';

export class PoolClock {
  readonly #scheduler: SchedulerLike;
  /** The latest observed scheduler time. */
  now: number;

  constructor(scheduler: SchedulerLike) {
    this.#scheduler = scheduler;
    this.now = scheduler.now();
  }

  /** Reads the scheduler's time and remembers it. */
  read(): number {
    const t = this.#scheduler.now();
    if (t > this.now) this.now = t;
    return t;
  }

  /** Records a time observed elsewhere (an alarm's firing time). */
  observe(t: number): void {
    if (t > this.now) this.now = t;
  }
}

/**
 * The clock of dispatch latencies: `performance.now()` on the real scheduler (sub-
 * millisecond: a loopback round trip is tens of microseconds, which `Date.now()` rounds to
 * 0 or 1 ms), the scheduler's own time on a virtual one. Only differences are used.
 *
 * @example
 * const now = latencyClock(scheduler);
 * const t0 = now(); await work(); const latencyMs = now() - t0;
 */
export function latencyClock(scheduler: SchedulerLike): () => number {
  return scheduler === asyncScheduler ? () => performance.now() : () => scheduler.now();
}
