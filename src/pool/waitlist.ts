/**
 * Waiting for a connection: the FIFO queue plus each waiter's clock and abort signal,
 * and the wait counters. A waiter ends exactly once (`settled`), whichever comes first:
 * a grant, its timeout, its signal, or the pool closing.
 *
 * Timeouts without a timer per waiter: waiters that use the pool's default timeout
 * are queued in arrival order, so their deadlines are in queue order too, and one
 * `Alarm` armed for the oldest suffices. When it fires it times out every expired
 * default waiter from the head and re-arms for the next one; waiters served meanwhile
 * cost nothing. A per-call `timeoutMs`, or a wait on a validation probe (outside the
 * queue), gets its own scheduler action. In the contended benchmark this is the
 * difference between one timer per acquire and one per `acquireTimeoutMs`.
 */
import type { SchedulerAction, SchedulerLike } from 'rxjs';
import { abortedError } from '../errors.js';
import { Alarm } from './alarm.js';
import type { Lease } from './lease.js';
import type { PoolCounters } from './pool-stats.js';
import { Waiter, WaiterQueue, type WaiterOwner } from './waiter-queue.js';

function waiterTimeoutWork(this: SchedulerAction<Waiter<unknown>>, w?: Waiter<unknown>): void {
  w!.owner.onWaiterTimeout(w!);
}

export class Waitlist<C> implements WaiterOwner<C> {
  readonly #queue = new WaiterQueue<C>();
  readonly #scheduler: SchedulerLike;
  readonly #counters: PoolCounters;
  readonly #defaultTimeoutMs: number;
  readonly #alarm: Alarm;
  /** Builds the timeout error while the waiter still counts as waiting. */
  readonly #timeoutError: (w: Waiter<C>, now: number) => Error;

  constructor(
    scheduler: SchedulerLike,
    counters: PoolCounters,
    defaultTimeoutMs: number,
    timeoutError: (w: Waiter<C>, now: number) => Error,
  ) {
    this.#scheduler = scheduler;
    this.#counters = counters;
    this.#defaultTimeoutMs = defaultTimeoutMs;
    this.#timeoutError = timeoutError;
    this.#alarm = new Alarm(scheduler, (now) => this.#expire(now));
  }

  /** Waiters in the queue (not those waiting on a validation probe). */
  get size(): number {
    return this.#queue.size;
  }

  get first(): Waiter<C> | undefined {
    return this.#queue.first;
  }

  /**
   * A new waiter with its clock and abort listener running. `queued` waiters on the
   * default timeout share the alarm; others get their own timer.
   */
  create(now: number, timeoutMs: number, signal: AbortSignal | undefined, stack: Error | undefined, queued: boolean): Waiter<C> {
    const w = new Waiter<C>(this, now, timeoutMs, signal);
    w.acquireStack = stack;
    this.#counters.waitCount++;
    if (queued && timeoutMs === this.#defaultTimeoutMs) {
      w.sharedDeadline = true;
      this.#alarm.armAt(w.deadline);
    } else {
      w.timer = this.#scheduler.schedule(waiterTimeoutWork, timeoutMs, w as Waiter<unknown>);
    }
    signal?.addEventListener('abort', w, { once: true });
    if (queued) this.#queue.push(w);
    return w;
  }

  /** Back at the head: a waiter whose validated slot failed keeps its place in line. */
  requeueFirst(w: Waiter<C>): void {
    this.#queue.unshift(w);
  }

  /** Ends the wait with a lease. */
  grant(w: Waiter<C>, now: number, lease: Lease<C>): void {
    this.#settle(w, now);
    w.resolve(lease);
  }

  reject(w: Waiter<C>, error: Error): void {
    if (w.settled) return;
    this.#settle(w, this.#scheduler.now());
    w.reject(error);
  }

  /** Rejects every queued waiter (pool closing) and stops the shared alarm. */
  rejectAll(error: () => Error): void {
    for (let w = this.#queue.first; w; w = this.#queue.first) this.reject(w, error());
    this.#alarm.cancel();
  }

  /**
   * Cancels the shared alarm when the queue is empty. Not done on every dequeue: a queue
   * that empties and refills would then pay for a timer per waiter again.
   */
  tidy(): void {
    if (this.#queue.size === 0) this.#alarm.cancel();
  }

  onWaiterAbort(w: Waiter<C>): void {
    if (!w.settled) this.reject(w, abortedError(w.signal!, 'acquire'));
  }

  onWaiterTimeout(w: Waiter<C>): void {
    this.#timeout(w, this.#scheduler.now());
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
    this.#queue.remove(w);
    if (w.timer !== undefined) {
      w.timer.unsubscribe();
      w.timer = undefined;
    }
    w.signal?.removeEventListener('abort', w);
    this.#counters.waitDurationMs += now - w.enqueuedAt;
  }

  #expire(now: number): void {
    let w = this.#queue.first;
    while (w !== undefined) {
      let next = w.next;
      if (w.sharedDeadline) {
        if (w.deadline > now) {
          this.#alarm.armAt(w.deadline);
          return;
        }
        this.#timeout(w, now);
        // Whoever observed the timeout may have released a lease, which dequeues waiters.
        if (next !== undefined && !next.queued) next = this.#queue.first;
      }
      w = next;
    }
  }
}
