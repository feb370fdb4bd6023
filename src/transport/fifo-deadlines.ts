/**
 * One timer for many deadlines that share the same duration (the session's default
 * request timeout), in the spirit of undici's coarse timers.
 *
 *   add(key) ──▶ Map (insertion order = deadline order) ──▶ one scheduler action at the
 *   head's deadline; on fire: expire every head that is due, re-arm for the next head.
 *
 * Trade-offs:
 * - Entries share one duration, so insertion order is deadline order and the earliest
 *   deadline is always the Map's first entry: add and delete are O(1), no heap.
 * - Deleting an entry (the reply arrived) does not touch the timer; a fire that finds the
 *   head not yet due just re-arms. To bound re-arming under a steady stream of requests,
 *   the timer never re-arms sooner than `resolutionMs` after it fired, so an expiry may be
 *   late by up to `resolutionMs` (requests wait `durationMs` to `durationMs + resolutionMs`).
 * - Deleting the last entry leaves the timer armed: it fires once, finds nothing and
 *   lapses. Sequential calls (the usual `pool.use(c => c.request(…))`) thus share one
 *   timer instead of scheduling and cancelling one per call; an idle session holds at most
 *   that one lapsing timer, for at most `durationMs`, and none after `clear()`.
 * - Calls with their own `timeoutMs` do not come here; they get one precise timer each.
 * - `add` stamps a deadline with the clock as read once per turn (turn-clock.ts): on the
 *   real clock an entry may expire early by the synchronous work that preceded it in its
 *   turn (microseconds), instead of paying a clock read per entry. Virtual time is exact.
 */
import type { SchedulerLike, Subscription } from 'rxjs';
import { turnNow } from './turn-clock.js';

export class FifoDeadlines<K> {
  readonly durationMs: number;
  readonly resolutionMs: number;
  readonly #scheduler: SchedulerLike;
  readonly #onExpire: (key: K) => void;
  readonly #deadlines = new Map<K, number>();
  #timer: Subscription | undefined;
  #firing = false;

  /**
   * @param durationMs every entry's timeout
   * @param onExpire called for each entry whose deadline passed (already removed)
   * @param resolutionMs least gap between two fires. Default `min(1000, durationMs / 10)`.
   */
  constructor(scheduler: SchedulerLike, durationMs: number, onExpire: (key: K) => void, resolutionMs?: number) {
    this.#scheduler = scheduler;
    this.durationMs = durationMs;
    this.resolutionMs = resolutionMs ?? Math.max(1, Math.min(1000, Math.floor(durationMs / 10)));
    this.#onExpire = onExpire;
  }

  get size(): number {
    return this.#deadlines.size;
  }

  /** True while a timer is scheduled (it lapses once it fires with nothing due). */
  get armed(): boolean {
    return this.#timer !== undefined;
  }

  add(key: K): void {
    const deadline = turnNow(this.#scheduler) + this.durationMs;
    this.#deadlines.set(key, deadline);
    if (!this.#timer && !this.#firing) this.#arm(deadline);
  }

  delete(key: K): void {
    this.#deadlines.delete(key);
  }

  /** Drops every entry and the timer. */
  clear(): void {
    this.#deadlines.clear();
    this.#disarm();
  }

  #arm(at: number): void {
    this.#timer = this.#scheduler.schedule(() => this.#fire(), Math.max(0, at - this.#scheduler.now()));
  }

  #disarm(): void {
    this.#timer?.unsubscribe();
    this.#timer = undefined;
  }

  #fire(): void {
    this.#timer = undefined;
    this.#firing = true;
    const now = this.#scheduler.now();
    try {
      for (const [key, deadline] of this.#deadlines) {
        if (deadline > now) break;
        this.#deadlines.delete(key);
        this.#onExpire(key);
      }
    } finally {
      this.#firing = false;
      const head = this.#deadlines.values().next();
      if (!head.done && !this.#timer) this.#arm(Math.max(head.value, now + this.resolutionMs));
    }
  }
}
