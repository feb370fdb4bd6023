/**
 * Drives a virtual clock for a simulated chaos run — a `SimulatedScheduler` (what
 * `runScenario` uses) or an RxJS `VirtualTimeScheduler`: jumps from one scheduled action
 * to the next (never ticking through empty milliseconds), and lets the event loop turn
 * between steps so that what Node's streams and promises defer — `process.nextTick`,
 * microtasks — runs at the virtual time it was caused at.
 *
 *   loop: turn the event loop ─▶ next action due ≤ target? ─ no ─▶ clock = target, done
 *                                     │ yes
 *                                     └─▶ run everything due at that instant ─▶ loop
 *
 * Trade-offs:
 * - Each step runs in a `setImmediate` callback: Node drains every nextTick and
 *   microtask between two immediates, which is what stream plumbing needs. The run's cost
 *   is then proportional to its events, not to its duration, which is where the speed-up
 *   over real time comes from.
 * - Steps are queued `STEPS_PER_TURN` at a time, so one turn of the event loop (its poll
 *   and timers phases, 2–5 µs — a quarter of a simulated heartbeat) serves up to that many
 *   instants, not one. The cost: work that defers itself with `setImmediate` (none of
 *   wirewarden's on the simulated network) runs after the rest of the batch, at a later
 *   virtual instant, and real timers wait that many steps longer.
 * - A livelock (work rescheduling itself at the same instant forever) would hang a
 *   naive loop; after `maxStepsPerInstant` steps at one instant the driver throws.
 * - A work that throws: both schedulers cancel every queued action and rethrow; the
 *   driver lets that error out, since the run can no longer be trusted.
 * - `VirtualTimeScheduler` chains a new action each time a periodic one re-arms (see
 *   simulated-scheduler.ts): fine for short tests, not for hours of virtual time.
 */
import type { VirtualTimeScheduler } from 'rxjs';
import { SimulatedScheduler } from './simulated-scheduler.js';

/** Lets pending nextTicks, microtasks and immediates run. */
export function turnEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Steps queued per turn of the event loop (see the trade-offs above). */
const STEPS_PER_TURN = 64;

export interface VirtualDriverOptions {
  /** Steps allowed at one virtual instant before the driver calls it a livelock. Default 10 000. */
  readonly maxStepsPerInstant?: number;
}

/** What the driver needs of a virtual clock. */
interface SteppedClock {
  now(): number;
  nextDueAt(): number | undefined;
  /** Runs everything due at `at` (the next due time), leaving the clock there. */
  runInstant(at: number): void;
  /** Moves the clock forward to `at` without running anything. */
  moveTo(at: number): void;
}

function virtualTimeClock(vts: VirtualTimeScheduler): SteppedClock {
  return {
    now: () => vts.now(),
    nextDueAt: () => vts.actions[0]?.delay,
    runInstant: (at) => {
      vts.maxFrames = at;
      try {
        vts.flush();
      } finally {
        vts.maxFrames = Number.POSITIVE_INFINITY;
      }
    },
    moveTo: (at) => {
      if (vts.frame < at) vts.frame = at;
    },
  };
}

/**
 * @example
 * const driver = new VirtualDriver(new SimulatedScheduler());
 * await driver.advanceTo(5_000);           // runs everything due in [now, 5000]
 * await driver.settle(rt.shutdown(), 60_000); // advances until the promise settles
 */
export class VirtualDriver {
  readonly scheduler: SimulatedScheduler | VirtualTimeScheduler;
  /** Steps taken so far (one per distinct instant with due actions, plus loop turns). */
  steps = 0;
  readonly #clock: SteppedClock;
  readonly #maxStepsPerInstant: number;

  constructor(scheduler: SimulatedScheduler | VirtualTimeScheduler, options?: VirtualDriverOptions) {
    this.scheduler = scheduler;
    this.#clock = scheduler instanceof SimulatedScheduler ? scheduler : virtualTimeClock(scheduler);
    this.#maxStepsPerInstant = options?.maxStepsPerInstant ?? 10_000;
  }

  now(): number {
    return this.#clock.now();
  }

  /** Time of the next scheduled action, or undefined when none is left. */
  nextDueAt(): number | undefined {
    return this.#clock.nextDueAt();
  }

  /** Runs every action due up to `target` (in order, deferred work in between) and leaves the clock there. */
  advanceTo(target: number): Promise<void> {
    const clock = this.#clock;
    const maxSteps = this.#maxStepsPerInstant;
    let instant = clock.now();
    let stepsHere = 0;
    let done = false;
    return new Promise<void>((resolve, reject) => {
      const finish = (err?: unknown): void => {
        done = true;
        if (err !== undefined) reject(err as Error);
        else {
          clock.moveTo(target);
          resolve();
        }
      };
      // One step: the next instant due, if any before `target`, with everything due then.
      // What it defers runs before the next step (Node drains ticks between immediates).
      // It runs as a microtask, as it did after an `await`: what it queues then runs in the
      // same order — its microtasks first, then its nextTicks — and a run replays exactly.
      const step = (last: boolean): void => {
        if (!done) queueMicrotask(() => stepNow(last));
      };
      const stepNow = (last: boolean): void => {
        if (done) return;
        this.steps++;
        const next = clock.nextDueAt();
        if (next === undefined || next > target) return finish();
        if (next === instant) {
          if (++stepsHere > maxSteps) {
            return finish(new Error(`virtual time is stuck at ${instant} ms: more than ${maxSteps} steps without time passing`));
          }
        } else {
          instant = next;
          stepsHere = 0;
        }
        try {
          clock.runInstant(next);
        } catch (err) {
          return finish(err);
        }
        if (last) queueTurn();
      };
      const queueTurn = (): void => {
        for (let i = 1; i <= STEPS_PER_TURN; i++) setImmediate(step, i === STEPS_PER_TURN);
      };
      queueTurn();
    });
  }

  /** Advances by `ms`. */
  advance(ms: number): Promise<void> {
    return this.advanceTo(this.#clock.now() + ms);
  }

  /**
   * Advances time until `promise` settles or `limitMs` of virtual time pass; resolves
   * with `{ settled }`. The promise's own rejection is not rethrown here.
   */
  async settle(promise: Promise<unknown>, limitMs: number, stepMs = 10): Promise<{ settled: boolean }> {
    let settled = false;
    void promise.then(() => (settled = true), () => (settled = true));
    const end = this.#clock.now() + limitMs;
    await turnEventLoop();
    while (!settled && this.#clock.now() < end) {
      // Jump to the next action; with none left, let time pass in small strides.
      await this.advanceTo(Math.min(end, this.nextDueAt() ?? this.#clock.now() + stepMs));
    }
    return { settled };
  }
}
