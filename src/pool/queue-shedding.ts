/**
 * Load shedding on one of the pool's queues (acquires, or dispatches): the CoDel rule of
 * `QueueDelayShedder` (health/queue-delay-shedder.ts) applied to a `Waitlist`.
 *
 *   before queueing      admit(now)  → undefined, or the `WW_POOL_OVERLOADED` to reject with
 *   before each grant    beforeGrant(now): while shedding, drop head waiters older than 2× target
 *   waiter tick          drop as above, then observe the head's wait (the queue is standing?)
 *   grant / empty        the dequeued wait, or an empty queue (it drained)
 *
 * Off the fast path: an acquire that finds an idle connection with nobody queued never
 * gets here. The waiter tick runs at a fifth of the target while shedding is configured, so
 * that a waiter past twice the target is dropped within a tenth of the target's doubling.
 *
 * @example
 * const shedding = new QueueShedding(options.shedding, 'acquire', clock, emit);
 * const waiters = new Waitlist(scheduler, clock, counters, timeoutMs, { ...host, ...shedding.hooks(onGranted) });
 * shedding.attach(waiters, () => counters.shed++);
 */
import { PoolOverloadedError } from '../errors.js';
import { QueueDelayShedder, type SheddingOptions } from './health/queue-delay-shedder.js';
import type { PoolClock } from './pool-clock.js';
import type { PoolEvent } from './pool-events.js';
import { waiterTickMs, type Waitlist, type WaitlistHost } from './waitlist.js';

export class QueueShedding {
  readonly shedder: QueueDelayShedder;
  readonly #what: string;
  readonly #options: SheddingOptions;
  readonly #clock: PoolClock;
  #waiters: Waitlist<unknown, unknown> | undefined = undefined;
  #onShed: () => void = () => {};

  constructor(options: SheddingOptions, what: string, clock: PoolClock, emit: (event: PoolEvent) => void) {
    this.#what = what;
    this.#options = options;
    this.#clock = clock;
    this.shedder = new QueueDelayShedder(options, (active, at) => emit({ type: 'shedding', at, active }));
    this.tickMs = Math.max(1, Math.floor(options.queueTargetMs / 5));
  }

  /** The waiter tick for a queue with shedding: at most a fifth of the target. */
  readonly tickMs: number;

  get shedding(): boolean {
    return this.shedder.shedding;
  }

  /** The waitlist's host hooks (`onGranted` chained after the shedder's). */
  hooks(acquireTimeoutMs: number, onGranted?: (waitedMs: number) => void): Pick<WaitlistHost, 'onGranted' | 'onEmpty' | 'onTick' | 'tickMs'> {
    const shedder = this.shedder;
    return {
      tickMs: Math.min(this.tickMs, waiterTickMs(acquireTimeoutMs)),
      onGranted: (waitedMs) => {
        shedder.onDequeue(this.#clock.now, waitedMs);
        onGranted?.(waitedMs);
      },
      onEmpty: (now) => shedder.onEmpty(now),
      onTick: (now) => {
        this.beforeGrant(now);
        shedder.observeQueue(now, this.#waiters?.headWaitedMs(now) ?? 0);
      },
    };
  }

  /** The queue this sheds; `onShed` counts each refusal and drop (stats). */
  attach(waiters: Waitlist<unknown, unknown>, onShed: () => void): void {
    this.#waiters = waiters;
    this.#onShed = onShed;
  }

  /** Undefined: queue the caller. Else the error to reject it with at once. */
  admit(now: number): PoolOverloadedError | undefined {
    const w = this.#waiters!;
    const head = w.headWaitedMs(now);
    if (this.shedder.admit(now, head)) return undefined;
    this.#onShed();
    return this.#error(w.size, head);
  }

  /** While shedding: queued waiters past twice the target are dropped (DBConnection's rule). */
  beforeGrant(now: number): void {
    const shedder = this.shedder;
    if (!shedder.shedding) return;
    const w = this.#waiters!;
    w.dropOlderThan(now, shedder.dropAfterMs, (waitedMs) => {
      this.#onShed();
      return this.#error(w.size, waitedMs, true);
    });
  }

  #error(waiting: number, headWaitedMs: number, dropped = false): PoolOverloadedError {
    const o = this.#options;
    const how = dropped ? `dropped after waiting ${Math.round(headWaitedMs)} ms` : `shed (oldest waiter ${Math.round(headWaitedMs)} ms)`;
    return new PoolOverloadedError(
      `${this.#what} ${how}: queue wait stayed above queueTargetMs ${o.queueTargetMs} for queueIntervalMs ${o.queueIntervalMs} (waiting ${waiting})`,
    );
  }
}
