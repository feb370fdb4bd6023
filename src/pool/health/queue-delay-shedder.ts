/**
 * `QueueDelayShedder`: load shedding by queue delay, CoDel's idea as Elixir's DBConnection
 * applies it to a connection pool (`queue_target`, `queue_interval`).
 *
 * A queue that a burst fills and then drains is fine; a *standing* queue — waits above the
 * target for a whole interval — means the pool is offered more than it can serve, and then
 * every new waiter only adds latency for all the others. So:
 *
 *                  waits above queueTargetMs for a whole queueIntervalMs
 *        ┌──────┐ ─────────────────────────────────────────────────────▶ ┌──────────┐
 *        │  ok  │                                                        │ shedding │
 *        └──────┘ ◀───────────────────────────────────────────────────── └──────────┘
 *                  waits at or below the target for a whole interval
 *
 *   ok:        every acquire may queue.
 *   shedding:  an acquire that would queue behind a waiter already past the target is
 *              rejected at once (`WW_POOL_OVERLOADED`), and queued waiters past twice the
 *              target are dropped (DBConnection's rule): the queue stays about one target
 *              long, so those admitted wait at most about twice the target.
 *
 * "Waits above the target for a whole interval" is CoDel's minimum over a sliding interval:
 * each observation (a waiter dequeued after `w` ms, the oldest waiter's current wait, an
 * empty queue) is above or not; one observation at or below the target starts the interval
 * over. An observation above is dated from when that waiter crossed the target (its wait
 * minus the target), which FIFO order makes sound: every waiter dequeued since then waited
 * at least as long. So detection takes one interval after the queue starts standing, however
 * rarely the pool reports.
 *
 * Pure and cheap: time is passed in, each call is a few comparisons, no timer, no
 * allocation. The pool reports dequeues and empties, asks `admit` before queueing a waiter,
 * and drops waiters older than `dropAfterMs` at its waiter tick.
 *
 * @example
 * const shedder = new QueueDelayShedder(parseSheddingOptions({ queueTargetMs: 50 }));
 * if (!shedder.admit(now, headWaitedMs)) throw shedder.overloadedError(waiting);
 */
import { InvalidOptionError, PoolOverloadedError } from '../../errors.js';
import { duration, parseOptions, shape } from '../../options.js';

export const sheddingDefaults = Object.freeze({
  /** DBConnection `queue_target` 50 ms. */
  queueTargetMs: 50,
  /**
   * DBConnection `queue_interval` is 1000 ms (2000 since v2.8); 250 ms here because it is the
   * time a standing queue goes unchecked: at twice the offered load, waits climb by half the
   * elapsed time, and the interval's worth of them lands in the p99 of a 30 s run
   * (docs/endpoint-health.md has the measurement). Bursts that drain within it are not shed.
   */
  queueIntervalMs: 250,
});

export const sheddingOptionsSchema = shape({
  queueTargetMs: duration({ min: 1, default: sheddingDefaults.queueTargetMs }),
  queueIntervalMs: duration({ min: 1, default: sheddingDefaults.queueIntervalMs }),
});

export interface SheddingOptions {
  readonly queueTargetMs: number;
  readonly queueIntervalMs: number;
}

/** Validates shedding options at `path` (`pool.shedding`); the interval must be at least the target. */
export function parseSheddingOptions(input: unknown, path = 'shedding'): SheddingOptions {
  const o = parseOptions(path, sheddingOptionsSchema, input);
  if (o.queueIntervalMs < o.queueTargetMs) {
    throw new InvalidOptionError(`${path}.queueIntervalMs must be >= ${path}.queueTargetMs (${o.queueTargetMs}), got ${o.queueIntervalMs}`);
  }
  return o;
}

/** A change of mode, for the pool's events. */
export type SheddingChange = (shedding: boolean, at: number) => void;

export class QueueDelayShedder {
  readonly #targetMs: number;
  readonly #intervalMs: number;
  readonly #onChange: SheddingChange | undefined;
  #shedding = false;
  /** The side of the target the last observation was on. */
  #above = false;
  /** Since when observations have stayed on that side. */
  #since = Number.NEGATIVE_INFINITY;
  /** The last observation at or below the target: an above one is never dated before it. */
  #lastBelowAt = Number.NEGATIVE_INFINITY;

  constructor(options: SheddingOptions, onChange?: SheddingChange) {
    this.#targetMs = options.queueTargetMs;
    this.#intervalMs = options.queueIntervalMs;
    this.#onChange = onChange;
  }

  get shedding(): boolean {
    return this.#shedding;
  }

  /** Queued waiters older than this are dropped: twice the target while shedding, else never. */
  get dropAfterMs(): number {
    return this.#shedding ? 2 * this.#targetMs : Number.POSITIVE_INFINITY;
  }

  /**
   * An acquire is about to queue behind a waiter that has waited `headWaitedMs` (0 when the
   * queue is empty). True: queue it. False: reject it at once with `overloadedError()`.
   */
  admit(now: number, headWaitedMs: number): boolean {
    this.#observe(now, headWaitedMs);
    return !this.#shedding || headWaitedMs <= this.#targetMs;
  }

  /** The oldest waiter has waited `headWaitedMs` (the pool's waiter tick), or 0 for none. */
  observeQueue(now: number, headWaitedMs: number): void {
    this.#observe(now, headWaitedMs);
  }

  /** A waiter got its connection after `waitedMs` in the queue. */
  onDequeue(now: number, waitedMs: number): void {
    this.#observe(now, waitedMs);
  }

  /** The queue emptied: no standing queue. */
  onEmpty(now: number): void {
    this.#observe(now, 0);
  }

  /** `WW_POOL_OVERLOADED` naming the rule and the state it saw. */
  overloadedError(waiting: number, headWaitedMs?: number): PoolOverloadedError {
    const head = headWaitedMs === undefined ? '' : `, oldest waited ${Math.round(headWaitedMs)} ms`;
    return new PoolOverloadedError(
      `acquire shed: queue wait stayed above ${this.#targetMs} ms for ${this.#intervalMs} ms (waiting ${waiting}${head})`,
    );
  }

  #observe(now: number, waitedMs: number): void {
    // Hysteresis: shedding starts above the target and ends only well below it, so a queue
    // held at the target by the shedding itself does not read as recovered.
    const limit = this.#shedding ? this.#targetMs / 2 : this.#targetMs;
    const above = waitedMs > limit;
    if (above) {
      if (!this.#above) {
        this.#above = true;
        this.#since = Math.max(now - (waitedMs - limit), this.#lastBelowAt);
      }
    } else {
      this.#lastBelowAt = now;
      if (this.#above || this.#since === Number.NEGATIVE_INFINITY) {
        this.#above = false;
        this.#since = now;
      }
    }
    if (this.#shedding !== above && now - this.#since >= this.#intervalMs) {
      this.#shedding = above;
      this.#onChange?.(above, now);
    }
  }
}
