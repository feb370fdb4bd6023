/**
 * The acquire queue: FIFO, with O(1) removal of any waiter (abort, timeout).
 *
 *   head ⇄ w1 ⇄ w2 ⇄ w3 ⇄ tail        each Waiter is its own list node (intrusive)
 *
 * An intrusive doubly linked list rather than an array: `Array.prototype.shift` is O(n)
 * on large arrays (Piscina measured ~0 op/s at 100k queued tasks before its FixedQueue),
 * and removing an aborted waiter from the middle of an array is O(n) too. The links
 * live on the waiter itself, so queueing allocates nothing besides the waiter.
 *
 * A waiter is also the listener for its `AbortSignal` (`handleEvent`, which
 * `EventTarget` accepts in place of a function), and the state of its timeout action,
 * so a queued acquire allocates no closure for either. Its promise is created with a
 * shared executor for the same reason.
 */
import type { Subscription } from 'rxjs';
import type { Lease } from './lease.js';

/** What a waiter calls back into (the pool core). */
export interface WaiterOwner<C> {
  onWaiterAbort(waiter: Waiter<C>): void;
  onWaiterTimeout(waiter: Waiter<C>): void;
}

interface Resolvers {
  resolve: (value: never) => void;
  reject: (err: unknown) => void;
}
let creating: Resolvers | undefined;
function captureResolvers(resolve: (value: never) => void, reject: (err: unknown) => void): void {
  creating!.resolve = resolve;
  creating!.reject = reject;
}

export class Waiter<C> {
  prev: Waiter<C> | undefined = undefined;
  next: Waiter<C> | undefined = undefined;
  /** In the FIFO queue (false while validating a slot, or once settled). */
  queued = false;
  settled = false;
  resolve: (lease: Lease<C>) => void = noop;
  reject: (err: unknown) => void = noop;
  readonly promise: Promise<Lease<C>>;
  readonly owner: WaiterOwner<C>;
  /** When it started waiting (the pool's coarse clock, see pool-clock.ts). */
  enqueuedAt: number;
  readonly timeoutMs: number;
  /** When it times out; set by the waiter tick for waiters on the shared deadline. */
  deadline: number;
  /**
   * True when the waiter tick times this waiter out (the default timeout, queued in
   * arrival order); false when it has its own timer.
   */
  sharedDeadline = false;
  /** Its own timeout action, when not on the shared deadline. */
  timer: Subscription | undefined = undefined;
  signal: AbortSignal | undefined;
  /** The acquirer's call site, captured only when leak detection is on. */
  acquireStack: Error | undefined = undefined;

  constructor(owner: WaiterOwner<C>, now: number, timeoutMs: number, signal: AbortSignal | undefined) {
    this.owner = owner;
    this.enqueuedAt = now;
    this.timeoutMs = timeoutMs;
    this.deadline = now + timeoutMs;
    this.signal = signal;
    creating = this as unknown as Resolvers;
    this.promise = new Promise<Lease<C>>(captureResolvers);
    creating = undefined;
  }

  /** `EventTarget` listener protocol: the signal aborted. */
  handleEvent(): void {
    this.owner.onWaiterAbort(this);
  }
}

function noop(): void {}

export class WaiterQueue<C> {
  #head: Waiter<C> | undefined = undefined;
  #tail: Waiter<C> | undefined = undefined;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get first(): Waiter<C> | undefined {
    return this.#head;
  }

  /** Appends at the tail (a new arrival). */
  push(w: Waiter<C>): void {
    w.prev = this.#tail;
    w.next = undefined;
    if (this.#tail) this.#tail.next = w;
    else this.#head = w;
    this.#tail = w;
    w.queued = true;
    this.#size++;
  }

  /** Inserts at the head: a waiter that lost its slot keeps its place in line. */
  unshift(w: Waiter<C>): void {
    w.next = this.#head;
    w.prev = undefined;
    if (this.#head) this.#head.prev = w;
    else this.#tail = w;
    this.#head = w;
    w.queued = true;
    this.#size++;
  }

  shift(): Waiter<C> | undefined {
    const w = this.#head;
    if (w) this.remove(w);
    return w;
  }

  /** O(1); a no-op for a waiter that is not queued. */
  remove(w: Waiter<C>): void {
    if (!w.queued) return;
    if (w.prev) w.prev.next = w.next;
    else this.#head = w.next;
    if (w.next) w.next.prev = w.prev;
    else this.#tail = w.prev;
    w.prev = w.next = undefined;
    w.queued = false;
    this.#size--;
  }

  *[Symbol.iterator](): IterableIterator<Waiter<C>> {
    for (let w = this.#head; w; w = w.next) yield w;
  }
}
