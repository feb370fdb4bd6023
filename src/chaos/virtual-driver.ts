/**
 * Drives a `VirtualTimeScheduler` for a simulated chaos run: jumps from one scheduled
 * action to the next (never ticking through empty milliseconds), and lets the event loop
 * turn between steps so that what Node's streams and promises defer — `process.nextTick`,
 * microtasks — runs at the virtual time it was caused at.
 *
 *   loop: turn the event loop ─▶ next action due ≤ target? ─ no ─▶ clock = target, done
 *                                     │ yes
 *                                     └─▶ flush everything due at that instant ─▶ loop
 *
 * Trade-offs:
 * - One `setImmediate` per step: it runs after every pending nextTick and microtask,
 *   which is what stream plumbing needs, and costs a few µs; the run's cost is then
 *   proportional to its events, not to its duration, which is where the ≥ 100× speed-up
 *   over real time comes from.
 * - A livelock (work rescheduling itself at the same instant forever) would hang a
 *   naive loop; after `maxStepsPerInstant` steps at one instant the driver throws.
 * - `VirtualTimeScheduler.flush()` unsubscribes every action when one throws and
 *   rethrows; the driver lets that error out, since the run can no longer be trusted.
 */
import type { VirtualTimeScheduler } from 'rxjs';

/** Lets pending nextTicks, microtasks and immediates run. */
export function turnEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface VirtualDriverOptions {
  /** Steps allowed at one virtual instant before the driver calls it a livelock. Default 10 000. */
  readonly maxStepsPerInstant?: number;
}

/**
 * @example
 * const driver = new VirtualDriver(new VirtualTimeScheduler());
 * await driver.advanceTo(5_000);           // runs everything due in [now, 5000]
 * await driver.settle(rt.shutdown(), 60_000); // advances until the promise settles
 */
export class VirtualDriver {
  readonly scheduler: VirtualTimeScheduler;
  /** Steps taken so far (one per distinct instant with due actions, plus loop turns). */
  steps = 0;
  readonly #maxStepsPerInstant: number;

  constructor(scheduler: VirtualTimeScheduler, options?: VirtualDriverOptions) {
    this.scheduler = scheduler;
    this.#maxStepsPerInstant = options?.maxStepsPerInstant ?? 10_000;
  }

  now(): number {
    return this.scheduler.now();
  }

  /** Time of the next scheduled action, or undefined when none is left. */
  nextDueAt(): number | undefined {
    return this.scheduler.actions[0]?.delay;
  }

  /** Runs every action due up to `target` (in order, deferred work in between) and leaves the clock there. */
  async advanceTo(target: number): Promise<void> {
    const vts = this.scheduler;
    let instant = vts.frame;
    let stepsHere = 0;
    for (;;) {
      await turnEventLoop();
      this.steps++;
      const next = vts.actions[0];
      if (next === undefined || next.delay > target) break;
      if (next.delay === instant) {
        if (++stepsHere > this.#maxStepsPerInstant) {
          throw new Error(`virtual time is stuck at ${instant} ms: more than ${this.#maxStepsPerInstant} steps without time passing`);
        }
      } else {
        instant = next.delay;
        stepsHere = 0;
      }
      vts.maxFrames = next.delay;
      vts.flush();
    }
    if (vts.frame < target) vts.frame = target;
    vts.maxFrames = Number.POSITIVE_INFINITY;
  }

  /** Advances by `ms`. */
  advance(ms: number): Promise<void> {
    return this.advanceTo(this.scheduler.now() + ms);
  }

  /**
   * Advances time until `promise` settles or `limitMs` of virtual time pass; resolves
   * with `{ settled }`. The promise's own rejection is not rethrown here.
   */
  async settle(promise: Promise<unknown>, limitMs: number, stepMs = 10): Promise<{ settled: boolean }> {
    let settled = false;
    void promise.then(() => (settled = true), () => (settled = true));
    const end = this.scheduler.now() + limitMs;
    await turnEventLoop();
    while (!settled && this.scheduler.now() < end) {
      // Jump to the next action; with none left, let time pass in small strides.
      await this.advanceTo(Math.min(end, this.nextDueAt() ?? this.scheduler.now() + stepMs));
    }
    return { settled };
  }
}
