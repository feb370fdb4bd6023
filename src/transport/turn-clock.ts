/**
 * The scheduler's time read once per event-loop turn, for deadlines that many requests
 * stamp in the same turn (FifoDeadlines: the session's default request timeout).
 *
 * Why: a per-request `Date.now()` (RxJS's `asyncScheduler.now()`, through its timestamp
 * provider) was ~5 % of a pipelined wire client's CPU per request. The callers resumed
 * by one inbound chunk all issue their next request in the same turn, so one read serves
 * them all, as the pool's `PoolClock` serves its lease path and undici's fast timers
 * serve its keep-alive deadlines.
 *
 * Trade-offs:
 * - Only the real clock (`asyncScheduler`) is cached. Any other scheduler (virtual time in
 *   tests, the simulated network) is read every time: its time may jump inside a
 *   synchronous run, and tests must see exact deadlines.
 * - A cached reading is forgotten by a microtask queued at the read, and after
 *   `READS_PER_READING` uses, so it lags the clock by at most the synchronous work of one
 *   turn or of that many requests (microseconds; below `Date.now()`'s own 1 ms step). A
 *   deadline counted from it may thus come that much early, never more; it is late by
 *   the deadline timer's own resolution as before.
 * - Shared by every connection of the process: one microtask per turn in all.
 *
 * @example
 * const deadline = turnNow(scheduler) + timeoutMs;
 */
import { asyncScheduler, type SchedulerLike } from 'rxjs';

/** Uses of one reading before the clock is read again within a long synchronous run. */
export const READS_PER_READING = 64;

let reading: number | undefined;
let readsLeft = 0;

function forget(): void {
  reading = undefined;
}

/** `scheduler.now()`, read at most once per turn (and per `READS_PER_READING` uses) on the real clock. */
export function turnNow(scheduler: SchedulerLike): number {
  if (scheduler !== asyncScheduler) return scheduler.now();
  if (reading === undefined) {
    queueMicrotask(forget);
  } else if (--readsLeft > 0) {
    return reading;
  }
  readsLeft = READS_PER_READING;
  return (reading = scheduler.now());
}
