/**
 * OTP's restart intensity as a sliding window: more than `maxRestarts` restarts within
 * any `withinMs` and the supervisor gives up. Only timestamps are kept (plain data for
 * the snapshot), oldest first; expired ones are dropped as time moves on, so the memory
 * is bounded by the restart rate, and a head index keeps dropping O(1) even when
 * `maxRestarts` is `Infinity` and the window holds thousands.
 *
 * `window()` (the snapshot's `restartLog`, copied on every restart) returns at most the
 * newest `RESTART_LOG_LIMIT` timestamps: a copy of the whole window made each restart
 * quadratic under an unbounded `maxRestarts` (10k connections refused ~5 times each
 * during an outage: 50k restarts cost 6.6 s of CPU). A finite `maxRestarts` below the
 * limit never holds more than `maxRestarts + 1` anyway, so its log is complete.
 */

/** The most restart timestamps a snapshot's `restartLog` shows (the newest ones). */
export const RESTART_LOG_LIMIT = 100;

export class RestartIntensity {
  readonly #maxRestarts: number;
  readonly #withinMs: number;
  #times: number[] = [];
  #head = 0;

  constructor(maxRestarts: number, withinMs: number) {
    this.#maxRestarts = maxRestarts;
    this.#withinMs = withinMs;
  }

  /**
   * Records a restart at `nowMs` and returns how many restarts the window now holds;
   * the caller gives up when that `exceeds` `maxRestarts`.
   */
  record(nowMs: number): number {
    this.#expire(nowMs);
    this.#times.push(nowMs);
    return this.#times.length - this.#head;
  }

  /** How many restarts the window ending at `nowMs` holds (what the restart planner reads). */
  count(nowMs: number): number {
    this.#expire(nowMs);
    return this.#times.length - this.#head;
  }

  exceeds(count: number): boolean {
    return count > this.#maxRestarts;
  }

  /** The restart timestamps still inside the window at `nowMs`, oldest first (the newest `RESTART_LOG_LIMIT`). */
  window(nowMs: number): readonly number[] {
    this.#expire(nowMs);
    return this.#times.slice(Math.max(this.#head, this.#times.length - RESTART_LOG_LIMIT));
  }

  #expire(nowMs: number): void {
    // A restart exactly `withinMs` ago has left the window (OTP compares strictly too).
    const horizon = nowMs - this.#withinMs;
    while (this.#head < this.#times.length && this.#times[this.#head]! <= horizon) this.#head++;
    if (this.#head > 64 && this.#head * 2 > this.#times.length) {
      this.#times = this.#times.slice(this.#head);
      this.#head = 0;
    }
  }
}
