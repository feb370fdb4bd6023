/**
 * One clock for everything: every ticker, timeout and backoff delay in wirewarden runs
 * on an RxJS `SchedulerLike` (default `asyncScheduler`). Tests and the simulated network
 * inject a `VirtualTimeScheduler` or `TestScheduler`, so no unit test sleeps, and the same
 * scheduler backs XState's `clock` so machines and streams share one timeline.
 */
import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';

export type { SchedulerLike } from 'rxjs';

export const defaultScheduler: SchedulerLike = asyncScheduler;

/** XState's clock interface (`createActor(logic, { clock })`), backed by a scheduler. */
export interface XStateClock {
  setTimeout(fn: (...args: unknown[]) => void, timeoutMs: number): unknown;
  clearTimeout(id: unknown): void;
}

export function clockFromScheduler(scheduler: SchedulerLike): XStateClock {
  return {
    setTimeout: (fn, timeoutMs) => scheduler.schedule(() => fn(), Math.max(0, timeoutMs)),
    clearTimeout: (id) => (id as Subscription | undefined)?.unsubscribe(),
  };
}

/**
 * Runs `fn` once after `delayMs` on the scheduler; returns a cancel function.
 * Cheaper than building an observable for one-shot deadlines on warm paths.
 */
export function scheduleOnce(scheduler: SchedulerLike, delayMs: number, fn: () => void): () => void {
  const sub = scheduler.schedule(fn, Math.max(0, delayMs));
  return () => sub.unsubscribe();
}

export function isScheduler(value: unknown): value is SchedulerLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as SchedulerLike).schedule === 'function' &&
    typeof (value as SchedulerLike).now === 'function'
  );
}

/**
 * The scheduler's time with sub-millisecond resolution when it is the real clock.
 * `asyncScheduler.now()` is `Date.now()` (1 ms steps), which turns every loopback RTT into
 * 0 or 1 ms and starves the RFC 6298 estimator; virtual schedulers keep their own time.
 */
export function preciseNow(scheduler: SchedulerLike): number {
  return scheduler === asyncScheduler ? performance.timeOrigin + performance.now() : scheduler.now();
}
