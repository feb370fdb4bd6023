/**
 * Waiting for a connection: the FIFO queue plus each waiter's clock and abort signal,
 * and the wait counters. A waiter ends exactly once (`settled`), whichever comes first:
 * a grant, its timeout, its signal, or the pool closing.
 *
 * Timeouts with neither a timer nor a clock read per waiter. Waiters on the pool's
 * default timeout share one alarm, the waiter tick:
 *
 *   enqueue ──▶ unstamped ──(next tick, at most tickMs later)──▶ stamped: deadline = tick + timeoutMs
 *
 * A waiter's deadline is counted from the first tick after it queued (or from an exact
 * read when it queues into an empty queue), so a timeout fires at
 * most `tickMs` late and never early, even when a long synchronous run held the event
 * loop. Stamped waiters' deadlines are in queue order, so each tick expires from the
 * head. The tick runs every `tickMs` while anyone waits (and stops when nobody does):
 * that is one scheduler action per `tickMs` instead of one timer and two clock reads
 * per acquire (≈150 ns here, more than the whole contended acquire of an array pool).
 * A per-call `timeoutMs`, or a wait on a validation probe, gets its own exact timer.
 *
 * Wait durations use the coarse clock at both ends (enqueue, settle). Each is quantized
 * to the tick, but ticks fall at random phases relative to acquires, so the expected
 * difference equals the true wait and `waitDurationMs` is accurate in aggregate.
 */
import type { SchedulerAction, SchedulerLike } from 'rxjs';
import { abortedError } from '../errors.js';
import { Alarm } from './alarm.js';
import type { Lease } from './lease.js';
import type { PoolClock } from './pool-clock.js';
import type { PoolCounters } from './pool-stats.js';
import { Waiter, WaiterQueue, type WaiterOwner } from './waiter-queue.js';

function waiterTimeoutWork(this: SchedulerAction<Waiter<unknown>>, w?: Waiter<unknown>): void {
  w!.owner.onWaiterTimeout(w!);
}

/** The waiter tick: 1/50 of the default timeout, between 1 and 50 ms. */
export function waiterTickMs(acquireTimeoutMs: number): number {
  return Math.min(50, Math.max(1, Math.floor(acquireTimeoutMs / 50)));
}

export class Waitlist<C> implements WaiterOwner<C> {
  readonly #queue = new WaiterQueue<C>();
  readonly #scheduler: SchedulerLike;
  readonly #clock: PoolClock;
  readonly #counters: PoolCounters;
  readonly #defaultTimeoutMs: number;
  readonly #tickMs: number;
  readonly #tick: Alarm;
  /** The oldest queued waiter not yet stamped; all after it are unstamped too. */
  #firstUnstamped: Waiter<C> | undefined = undefined;
  /** Builds the timeout error while the waiter still counts as waiting. */
  readonly #timeoutError: (w: Waiter<C>, now: number) => Error;

  constructor(
    scheduler: SchedulerLike,
    clock: PoolClock,
    counters: PoolCounters,
    defaultTimeoutMs: number,
    timeoutError: (w: Waiter<C>, now: number) => Error,
  ) {
    this.#scheduler = scheduler;
    this.#clock = clock;
    this.#counters = counters;
    this.#defaultTimeoutMs = defaultTimeoutMs;
    this.#tickMs = waiterTickMs(defaultTimeoutMs);
    this.#timeoutError = timeoutError;
    this.#tick = new Alarm(scheduler, (now) => this.#onTick(now));
  }

  /** Waiters in the queue (not those waiting on a validation probe). */
  get size(): number {
    return this.#queue.size;
  }

  get first(): Waiter<C> | undefined {
    return this.#queue.first;
  }

  /** Queues a waiter at the tail; its clock and abort listener start now. */
  enqueue(timeoutMs: number, signal: AbortSignal | undefined, stack: Error | undefined): Waiter<C> {
    const clock = this.#clock;
    const w = new Waiter<C>(this, clock.now, timeoutMs, signal);
    w.acquireStack = stack;
    this.#counters.waitCount++;
    const wasEmpty = this.#queue.size === 0;
    this.#queue.push(w);
    if (wasEmpty) {
      // No contention: an exact read is affordable, and starts the tick.
      const now = clock.read();
      w.enqueuedAt = now;
      w.deadline = now + timeoutMs;
      this.#tick.armAt(Math.min(w.deadline, now + this.#tickMs));
    } else {
      const due = clock.now + this.#tickMs;
      if (this.#tick.at > due) this.#tick.armAt(due);
    }
    if (timeoutMs !== this.#defaultTimeoutMs) {
      w.timer = this.#scheduler.schedule(waiterTimeoutWork, timeoutMs, w as Waiter<unknown>);
    } else {
      w.sharedDeadline = true;
      if (!wasEmpty) this.#firstUnstamped ??= w;
    }
    if (signal !== undefined) signal.addEventListener('abort', w, { once: true });
    return w;
  }

  /** A waiter outside the queue (on a validation probe), with an exact timer. */
  startOutside(now: number, timeoutMs: number, signal: AbortSignal | undefined, stack: Error | undefined): Waiter<C> {
    const w = new Waiter<C>(this, now, timeoutMs, signal);
    w.acquireStack = stack;
    this.#counters.waitCount++;
    w.timer = this.#scheduler.schedule(waiterTimeoutWork, timeoutMs, w as Waiter<unknown>);
    if (signal !== undefined) signal.addEventListener('abort', w, { once: true });
    return w;
  }

  /** Back at the head: a validating waiter whose slot failed keeps its place in line. */
  requeueFirst(w: Waiter<C>): void {
    this.#queue.unshift(w);
  }

  /** Ends the wait with a lease. */
  grant(w: Waiter<C>, lease: Lease<C>): void {
    this.#settle(w, this.#clock.now);
    w.resolve(lease);
  }

  reject(w: Waiter<C>, error: Error): void {
    if (w.settled) return;
    this.#settle(w, this.#clock.read());
    w.reject(error);
  }

  /** Rejects every queued waiter (pool closing) and stops the tick. */
  rejectAll(error: () => Error): void {
    for (let w = this.#queue.first; w; w = this.#queue.first) this.reject(w, error());
    this.#tick.cancel();
  }

  /**
   * Cancels the tick once nobody queues (from the housekeeping sweep). Not done on every
   * dequeue: a queue that empties and refills would then pay for a timer per waiter.
   */
  tidy(): void {
    if (this.#queue.size === 0) this.#tick.cancel();
  }

  onWaiterAbort(w: Waiter<C>): void {
    if (!w.settled) this.reject(w, abortedError(w.signal!, 'acquire'));
  }

  onWaiterTimeout(w: Waiter<C>): void {
    this.#timeout(w, this.#clock.read());
  }

  #timeout(w: Waiter<C>, now: number): void {
    if (w.settled) return;
    this.#counters.timeouts++;
    const error = this.#timeoutError(w, now);
    this.#settle(w, now);
    w.reject(error);
  }

  #settle(w: Waiter<C>, now: number): void {
    w.settled = true;
    if (w === this.#firstUnstamped) this.#firstUnstamped = w.next;
    this.#queue.remove(w);
    if (w.timer !== undefined) {
      w.timer.unsubscribe();
      w.timer = undefined;
    }
    if (w.signal !== undefined) w.signal.removeEventListener('abort', w);
    if (now > w.enqueuedAt) this.#counters.waitDurationMs += now - w.enqueuedAt;
  }

  #onTick(now: number): void {
    this.#clock.observe(now);
    for (let w = this.#firstUnstamped; w !== undefined; w = w.next) {
      if (w.sharedDeadline) w.deadline = now + w.timeoutMs;
    }
    this.#firstUnstamped = undefined;
    let w = this.#queue.first;
    let next: Waiter<C> | undefined;
    for (; w !== undefined; w = next) {
      next = w.next;
      if (!w.sharedDeadline) continue;
      if (w.deadline > now) break;
      this.#timeout(w, now);
      // Whoever observed the timeout may have released a lease, which dequeues waiters.
      if (next !== undefined && !next.queued) next = this.#queue.first;
    }
    // While anyone waits, tick every tickMs: the coarse clock then has that resolution
    // for wait durations, and new arrivals are stamped within tickMs.
    if (this.#queue.size > 0) this.#tick.armAt(Math.min(w?.deadline ?? Infinity, now + this.#tickMs));
  }
}
