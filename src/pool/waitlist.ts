/**
 * Waiting for a connection: the FIFO ring (waiter-queue.ts), each waiter's clock and
 * abort signal, and the wait counters. A waiter ends exactly once, whichever comes
 * first: a grant, its timeout, its signal, or the pool closing. The pool has two: one for
 * acquires (granted a `Lease`) and one for shared dispatches (granted a slot with room);
 * they share one ticket counter, so a free connection can go to the older head.
 *
 * Timeouts with neither a timer nor a clock read per plain waiter. They share one
 * alarm, the waiter tick, which runs every `tickMs` while anyone waits:
 *
 *   enqueue ──▶ unstamped ──(next tick, ≤ tickMs later)──▶ stamped: deadline = tick + timeoutMs
 *
 * A plain waiter's deadline counts from the first tick after it queued (or from an
 * exact read when it queued into an empty queue), so its timeout fires at most
 * `tickMs` late and never early, even after a long synchronous run held the event loop.
 * Stamped deadlines are in queue order, so each tick expires from the head. That is
 * one scheduler action per `tickMs` instead of one timer and two clock reads per
 * acquire (≈150 ns here, more than a whole contended acquire of an array pool). A
 * waiter object (signal, per-call `timeoutMs`, leak stack, validation) has its own exact
 * timer and exact timestamps.
 *
 * Plain wait durations use the coarse clock at both ends. Each is quantized to the
 * tick, but ticks fall at random phases relative to acquires, so the expected
 * difference is the true wait: `waitDurationMs` is accurate in aggregate.
 */
import type { SchedulerAction, SchedulerLike } from 'rxjs';
import { abortedError, PoolTimeoutError } from '../errors.js';
import { Alarm } from './alarm.js';
import type { Lease } from './lease.js';
import type { PoolClock } from './pool-clock.js';
import type { WaitCounters } from './pool-stats.js';
import { Waiter, WaiterQueue, type RejectLease, type ResolveLease, type WaiterOwner } from './waiter-queue.js';

/** What the waitlist asks of the pool when an acquire times out. */
export interface WaitlistHost {
  /** What waits, for messages: `acquire` or `dispatch` (`acquire timed out after …`). */
  readonly what?: string;
  /** `size 10, leased 10, idle 0, pending 0, waiting 5`; read while the waiter still counts. */
  describeState(): string;
  /** The timeout's `cause`: the last dial error when every endpoint is failing. */
  timeoutCause(): unknown;
  /** After the bookkeeping (may run user code: it emits an event). */
  onTimedOut(message: string, waitedMs: number, now: number): void;
  /** A queued acquire got its connection after `waitedMs` (the acquire-wait histogram, src/observe). */
  onGranted?(waitedMs: number): void;
  /** A grant emptied the queue (load shedding: no standing queue). */
  onEmpty?(now: number): void;
  /** Each waiter tick, before timeouts expire (load shedding drops and observes the head here). */
  onTick?(now: number): void;
  /** The waiter tick's period; default `waiterTickMs(defaultTimeoutMs)`. */
  readonly tickMs?: number;
}

function waiterTimeoutWork(this: SchedulerAction<Waiter<unknown, unknown>>, w?: Waiter<unknown, unknown>): void {
  w!.owner.onWaiterTimeout(w!);
}

/** Arrival numbers shared by a pool's queues. */
export interface Tickets {
  next: number;
}

/** The waiter tick: 1/50 of the default timeout, between 1 and 50 ms. */
export function waiterTickMs(acquireTimeoutMs: number): number {
  return Math.min(50, Math.max(1, Math.floor(acquireTimeoutMs / 50)));
}

export class Waitlist<C, V = Lease<C>> implements WaiterOwner<C, V> {
  readonly #q = new WaiterQueue<C, V>();
  readonly #scheduler: SchedulerLike;
  readonly #clock: PoolClock;
  readonly #counters: WaitCounters;
  readonly #host: WaitlistHost;
  readonly #what: string;
  readonly #tickets: Tickets;
  readonly #defaultTimeoutMs: number;
  readonly #tickMs: number;
  readonly #tick: Alarm;
  /** Ring slots pushed since the last tick: the only entries that may be unstamped. */
  #unstamped = 0;

  constructor(
    scheduler: SchedulerLike, clock: PoolClock, counters: WaitCounters, defaultTimeoutMs: number, host: WaitlistHost,
    tickets: Tickets = { next: 0 },
  ) {
    this.#scheduler = scheduler;
    this.#clock = clock;
    this.#counters = counters;
    this.#host = host;
    this.#what = host.what ?? 'acquire';
    this.#tickets = tickets;
    this.#defaultTimeoutMs = defaultTimeoutMs;
    this.#tickMs = host.tickMs ?? waiterTickMs(defaultTimeoutMs);
    this.#tick = new Alarm(scheduler, (now) => this.#onTick(now));
  }

  /** Queued waiters (not those waiting on a validation probe). */
  get size(): number {
    return this.#q.size;
  }

  /** The oldest waiter's arrival number; `Infinity` when none waits. */
  headTicket(): number {
    return this.#q.headTicket();
  }

  /** How long the oldest waiter has waited at `now`; 0 when none waits (load shedding's signal). */
  headWaitedMs(now: number): number {
    const q = this.#q;
    if (q.size === 0) return 0;
    const waited = now - q.timeOf(q.head);
    return waited > 0 ? waited : 0;
  }

  /**
   * Rejects the waiters at the head that have waited longer than `ageMs` at `now`, each with
   * `error(waitedMs)` (load shedding's drop rule); returns how many.
   */
  dropOlderThan(now: number, ageMs: number, error: (waitedMs: number) => Error): number {
    const q = this.#q;
    let dropped = 0;
    while (q.size > 0) {
      const i = q.head;
      const waited = now - q.timeOf(i);
      if (!(waited > ageMs)) break;
      const e = q.entry(i)!;
      if (typeof e === 'function') {
        const reject = q.rejectOf(i)!;
        this.#counters.waitDurationMs += waited;
        q.removeAt(i);
        reject(error(waited));
      } else {
        this.reject(e, error(waited));
      }
      dropped++;
    }
    return dropped;
  }

  /** Queues an acquire (or a dispatch) at the tail. */
  enqueue(timeoutMs: number, signal: AbortSignal | undefined, stack: Error | undefined): Promise<V> {
    const q = this.#q;
    const clock = this.#clock;
    this.#counters.waitCount++;
    this.#unstamped++;
    if (signal === undefined && stack === undefined && timeoutMs === this.#defaultTimeoutMs) {
      let resolve: ResolveLease<C, V> | undefined;
      let reject: RejectLease | undefined;
      const promise = new Promise<V>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      if (q.size === 0) {
        // No contention: an exact read is affordable, and starts the tick.
        const now = clock.read();
        q.push(resolve!, reject!, now, now + timeoutMs, this.#tickets.next++);
        this.#tick.armAt(now + this.#tickMs);
      } else {
        q.push(resolve!, reject!, clock.now, Number.NaN, this.#tickets.next++);
        const due = clock.now + this.#tickMs;
        if (this.#tick.at > due) this.#tick.armAt(due);
      }
      return promise;
    }
    const w = this.#start(clock.read(), timeoutMs, signal, stack);
    q.pushWaiter(w);
    return w.promise;
  }

  /** The arrival number the last `enqueue` gave (read right after it). */
  get lastTicket(): number {
    return this.#tickets.next - 1;
  }

  /**
   * Back in line, at the head, for a waiter that was granted and lost its grant (the
   * connection died before it started): it keeps its arrival number `ticket` and its
   * deadline, `queuedAt + timeoutMs` (plus one tick: `queuedAt` may be the coarse time, so
   * it never fires early), and is not counted as a new wait. Rejects at once when `signal`
   * has aborted meanwhile.
   */
  resume(ticket: number, queuedAt: number, timeoutMs: number, signal: AbortSignal | undefined): Promise<V> {
    if (signal?.aborted) return Promise.reject(abortedError(signal, this.#what));
    const now = this.#clock.read();
    const w = this.#start(now, timeoutMs, signal, undefined, Math.max(0, queuedAt + timeoutMs + this.#tickMs - now), ticket);
    this.#q.unshiftWaiter(w);
    return w.promise;
  }

  /** A waiter outside the queue (on a validation probe). */
  startOutside(now: number, timeoutMs: number, signal: AbortSignal | undefined, stack: Error | undefined): Waiter<C, V> {
    this.#counters.waitCount++;
    return this.#start(now, timeoutMs, signal, stack);
  }

  /** A waiter object; it times out after `delayMs` (its `timeoutMs`, unless resumed) and takes the next ticket unless given one. */
  #start(
    now: number, timeoutMs: number, signal: AbortSignal | undefined, stack: Error | undefined, delayMs = timeoutMs, ticket = this.#tickets.next++,
  ): Waiter<C, V> {
    const w = new Waiter<C, V>(this, now, timeoutMs, signal, stack);
    w.ticket = ticket;
    w.timer = this.#scheduler.schedule(waiterTimeoutWork, delayMs, w as Waiter<unknown, unknown>);
    if (signal !== undefined) signal.addEventListener('abort', w, { once: true });
    return w;
  }

  /** Back at the head: a validating waiter whose slot failed keeps its place in line. */
  requeueFirst(w: Waiter<C, V>): void {
    this.#q.unshiftWaiter(w);
  }

  /** The oldest waiter's acquire stack (leak detection). */
  firstStack(): Error | undefined {
    const e = this.#q.entry(this.#q.head);
    return typeof e === 'object' ? e.acquireStack : undefined;
  }

  /** Hands `lease` (or a dispatch's slot) to the oldest waiter; the queue must not be empty. */
  grantFirst(lease: V): void {
    const q = this.#q;
    const i = q.head;
    const e = q.entry(i)!;
    if (typeof e === 'function') {
      const waited = this.#clock.now - q.timeOf(i);
      q.removeAt(i);
      if (waited > 0) this.#counters.waitDurationMs += waited;
      this.#host.onGranted?.(waited > 0 ? waited : 0);
      if (q.size === 0) this.#host.onEmpty?.(this.#clock.now);
      e(lease);
    } else {
      this.grant(e, lease);
    }
  }

  /** Ends a waiter object's wait with a lease. */
  grant(w: Waiter<C, V>, lease: V): void {
    const now = this.#clock.read();
    this.#settle(w, now);
    this.#host.onGranted?.(now > w.enqueuedAt ? now - w.enqueuedAt : 0);
    if (this.#q.size === 0) this.#host.onEmpty?.(now);
    w.resolve(lease);
  }

  reject(w: Waiter<C, V>, error: Error): void {
    if (w.settled) return;
    this.#settle(w, this.#clock.read());
    w.reject(error);
  }

  /** Rejects every queued waiter (pool closing) and stops the tick. */
  rejectAll(error: () => Error): void {
    const q = this.#q;
    const now = this.#clock.read();
    while (q.size > 0) {
      const i = q.head;
      const e = q.entry(i)!;
      if (typeof e === 'function') {
        const reject = q.rejectOf(i)!;
        this.#counters.waitDurationMs += Math.max(0, now - q.timeOf(i));
        q.removeAt(i);
        reject(error());
      } else {
        this.reject(e, error());
      }
    }
    this.cancelTick();
  }

  /** Stops the tick once nobody waits (from the housekeeping sweep, and on close). */
  cancelTick(): void {
    if (this.#q.size === 0) {
      this.#tick.cancel();
      this.#unstamped = 0;
    }
  }

  onWaiterAbort(w: Waiter<C, V>): void {
    if (!w.settled) this.reject(w, abortedError(w.signal!, this.#what));
  }

  onWaiterTimeout(w: Waiter<C, V>): void {
    if (w.settled) return;
    const now = this.#clock.read();
    const message = this.#message(w.timeoutMs);
    this.#counters.timeouts++;
    this.#settle(w, now);
    w.reject(this.#timeoutError(message));
    this.#host.onTimedOut(message, now - w.enqueuedAt, now);
  }

  #settle(w: Waiter<C, V>, now: number): void {
    w.settled = true;
    this.#q.removeWaiter(w);
    if (w.timer !== undefined) {
      w.timer.unsubscribe();
      w.timer = undefined;
    }
    if (w.signal !== undefined) w.signal.removeEventListener('abort', w);
    if (now > w.enqueuedAt) this.#counters.waitDurationMs += now - w.enqueuedAt;
  }

  #message(timeoutMs: number): string {
    return `${this.#what} timed out after ${timeoutMs} ms (${this.#host.describeState()})`;
  }

  #timeoutError(message: string): PoolTimeoutError {
    const cause = this.#host.timeoutCause();
    return new PoolTimeoutError(message, cause === undefined ? undefined : { cause });
  }

  #onTick(now: number): void {
    this.#clock.observe(now);
    this.#host.onTick?.(now);
    const q = this.#q;
    const timeoutMs = this.#defaultTimeoutMs;
    // Stamp the plain entries pushed since the last tick.
    const length = q.length;
    for (let k = Math.max(0, length - this.#unstamped); k < length; k++) {
      const i = q.at(k);
      if (typeof q.entry(i) === 'function' && Number.isNaN(q.deadlineOf(i))) q.setDeadline(i, now + timeoutMs);
    }
    this.#unstamped = 0;
    // Expire plain entries from the head; their deadlines are in queue order. User code
    // (rejections' handlers, events) runs only after the queue is consistent again.
    let expired: { reject: RejectLease; message: string; waitedMs: number }[] | undefined;
    let nextDeadline = Number.POSITIVE_INFINITY;
    for (let i = q.head, next = -1; i !== -1; i = next) {
      next = q.next(i);
      if (typeof q.entry(i) !== 'function') continue;
      const deadline = q.deadlineOf(i);
      if (deadline > now) {
        nextDeadline = deadline;
        break;
      }
      const message = this.#message(timeoutMs);
      (expired ??= []).push({ reject: q.rejectOf(i)!, message, waitedMs: now - q.timeOf(i) });
      this.#counters.timeouts++;
      this.#counters.waitDurationMs += Math.max(0, now - q.timeOf(i));
      q.removeAt(i);
    }
    // While anyone waits, tick every tickMs: the coarse clock then has that resolution
    // for wait durations, and new arrivals are stamped within tickMs.
    if (q.size > 0) this.#tick.armAt(Math.min(nextDeadline, now + this.#tickMs));
    if (expired === undefined) return;
    for (const x of expired) x.reject(this.#timeoutError(x.message));
    for (const x of expired) this.#host.onTimedOut(x.message, x.waitedMs, now);
  }
}
