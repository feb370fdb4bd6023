/**
 * Restarts in batches, so a storm of due restarts cannot monopolise the event loop.
 *
 *   restart due ──▶ budget left this turn? ──yes──▶ spawn now
 *                          └──no──▶ queue ──(next turn, 1 ms on the scheduler)──▶ spawn up to `batch`
 *
 * Why: after an outage, thousands of restart timers fall due while the loop is busy with
 * the I/O of the connections already back; Node then runs every due timer in one timers
 * phase, so dials leave in bursts of thousands separated by long silent stretches — the
 * server sees a thundering herd whatever the jitter, and the client's own I/O stalls
 * behind it. A turn spawns at most `batch` children; the rest wait for the next turn,
 * which is a 1 ms timer, so the loop's poll phase (the sockets just opened) runs in
 * between. A restart that finds budget left starts at once, so an unloaded supervisor
 * (or one restarting fewer than `batch` children at an instant) behaves exactly as
 * without pacing; under load the dial rate becomes `batch` per loop iteration, which
 * adapts to what the loop can handle.
 *
 * The turn timer is the supervisor's own (a `TIMER` event in its mailbox), so it runs on
 * the runtime's scheduler (virtual time in tests) and is cancelled with the others when
 * the supervisor stops.
 */

/**
 * Children spawned per turn. Measured with the 10k reconnect storm on 2 cores (a turn then
 * takes ~5–10 ms of the loop): 64 gave dial-rate peak/mean 1.4–2.0, 32 gave 1.3–1.4 with
 * the same recovery time.
 */
export const RESTART_BATCH = 32;

export class RestartPacer {
  readonly #batch: number;
  readonly #schedule: (delayMs: number, fn: () => void) => () => void;
  #budget: number;
  #queue: Array<() => void> = [];
  #head = 0;
  #turn: (() => void) | undefined;

  /** @param schedule the supervisor's timer (returns a cancel function) */
  constructor(schedule: (delayMs: number, fn: () => void) => () => void, batch = RESTART_BATCH) {
    this.#schedule = schedule;
    this.#batch = batch;
    this.#budget = batch;
  }

  /** Restarts waiting for a later turn. */
  get waiting(): number {
    return this.#queue.length - this.#head;
  }

  /** Runs `restart` now if this turn has budget left, else in a later turn (in order). */
  run(restart: () => void): void {
    this.#turn ??= this.#schedule(1, () => this.#nextTurn());
    if (this.#budget > 0 && this.waiting === 0) {
      this.#budget--;
      restart();
      return;
    }
    this.#queue.push(restart);
  }

  /** Drops everything waiting and the turn timer (the supervisor is stopping). */
  clear(): void {
    this.#turn?.();
    this.#turn = undefined;
    this.#queue = [];
    this.#head = 0;
    this.#budget = this.#batch;
  }

  #nextTurn(): void {
    this.#turn = undefined;
    this.#budget = this.#batch;
    while (this.#budget > 0 && this.#head < this.#queue.length) {
      const restart = this.#queue[this.#head]!;
      this.#queue[this.#head++] = NOOP;
      this.#budget--;
      restart();
    }
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else {
      this.#turn = this.#schedule(1, () => this.#nextTurn());
    }
  }
}

const NOOP = (): void => {};
