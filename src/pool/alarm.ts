/**
 * One re-armable one-shot timer on the injected scheduler: the pool's only timer
 * primitive. Arming for a later time than the one already armed is a no-op, so callers
 * can arm on every event and pay for a scheduler action only when the earliest
 * deadline moves earlier. That is what keeps queued acquires from creating one timer
 * each: the waiters that use the default timeout share one alarm set for the oldest.
 *
 * @example
 * const alarm = new Alarm(scheduler, (now) => sweep(now));
 * alarm.armAt(scheduler.now() + 1000);
 * alarm.cancel(); // on close: nothing left on the scheduler
 */
import type { SchedulerAction, SchedulerLike, Subscription } from 'rxjs';

export class Alarm {
  readonly #scheduler: SchedulerLike;
  readonly #fire: (now: number) => void;
  #sub: Subscription | undefined = undefined;
  #at = Number.POSITIVE_INFINITY;

  constructor(scheduler: SchedulerLike, fire: (now: number) => void) {
    this.#scheduler = scheduler;
    this.#fire = fire;
  }

  get armed(): boolean {
    return this.#sub !== undefined;
  }

  /** The time it fires at; `Infinity` when not armed. */
  get at(): number {
    return this.#at;
  }

  /** Fires at `at` (scheduler time) unless already armed for that time or earlier. */
  armAt(at: number): void {
    if (this.#sub !== undefined && this.#at <= at) return;
    this.#sub?.unsubscribe();
    this.#at = at;
    const delayMs = Math.max(0, at - this.#scheduler.now());
    this.#sub = this.#scheduler.schedule(Alarm.#work, delayMs, this);
  }

  cancel(): void {
    this.#sub?.unsubscribe();
    this.#sub = undefined;
    this.#at = Number.POSITIVE_INFINITY;
  }

  static #work(this: SchedulerAction<Alarm>, alarm?: Alarm): void {
    const a = alarm!;
    a.#sub = undefined;
    a.#at = Number.POSITIVE_INFINITY;
    a.#fire(a.#scheduler.now());
  }
}
