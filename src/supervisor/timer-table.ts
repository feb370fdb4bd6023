/**
 * A supervisor's timers (restart delays, shutdown deadlines) on the runtime scheduler.
 * A timer does not run its callback from the scheduler: it sends the actor a `TIMER`
 * event with a token, so the callback runs inside the actor like every other change.
 * A cancelled or stale token finds nothing and is ignored.
 */
import type { SchedulerLike } from 'rxjs';
import { MAX_DURATION_MS } from '../options.js';

export class TimerTable {
  readonly #timers = new Map<number, { sub: { unsubscribe(): void }; fn: () => void }>();
  readonly #notify: (token: number) => void;
  #next = 0;

  /** @param notify sends the owning actor `{ type: 'TIMER', token }` */
  constructor(notify: (token: number) => void) {
    this.#notify = notify;
  }

  /** Schedules `fn`; returns its cancel function. A non-finite delay never fires. */
  schedule(scheduler: SchedulerLike, delayMs: number, fn: () => void): () => void {
    if (!Number.isFinite(delayMs)) return () => {};
    const token = ++this.#next;
    const sub = scheduler.schedule(() => this.#notify(token), Math.min(Math.max(0, delayMs), MAX_DURATION_MS));
    this.#timers.set(token, { sub, fn });
    return () => this.#cancel(token);
  }

  /** Runs the callback of a `TIMER` event, if the timer is still armed. */
  fire(token: number): void {
    const timer = this.#timers.get(token);
    if (!timer) return;
    this.#timers.delete(token);
    timer.fn();
  }

  cancelAll(): void {
    for (const timer of this.#timers.values()) timer.sub.unsubscribe();
    this.#timers.clear();
  }

  #cancel(token: number): void {
    const timer = this.#timers.get(token);
    if (!timer) return;
    timer.sub.unsubscribe();
    this.#timers.delete(token);
  }
}
