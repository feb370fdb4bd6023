/**
 * Keeps one connection's messages in order while some of them are being decoded or
 * encoded on a worker thread.
 *
 *   push(item) ────────┐
 *   pushPending(p) ────┼──▶ [ slot │ slot │ slot … ] ──head ready?──▶ deliver(item)
 *                      │          p settles ─┘            head failed? ──▶ onError(err), stop
 *                      └── waitingBytes > highWaterBytes ──▶ onPressure(true) … ≤ half ──▶ onPressure(false)
 *
 * Trade-offs:
 * - Delivery is strictly in push order: a later item, however ready, waits for every
 *   earlier one. That is the contract of one ordered connection (replies, pushes and
 *   one-way messages are seen in the order they were sent), and it costs a worker's
 *   latency to the frames behind an offloaded one, never their order.
 * - A failure is reported when its turn comes, not when it happens, so everything the
 *   peer sent before a bad frame is still delivered, as it would have been inline. The
 *   first failure stops the queue for good: the owner is expected to kill the connection.
 * - The fast path stays the owner's: while `idle` is true, nothing waits, so the owner
 *   delivers directly and this queue costs a field check. A queue exists per connection
 *   only once that connection offloads something.
 * - `waitingBytes` drives backpressure with hysteresis (on above the high-water mark,
 *   off at half of it), so a reader is paused and resumed once per burst, not per frame.
 * - `clear()` forgets everything; a pending item that settles afterwards is ignored, and
 *   every settlement is observed, so no rejection goes unhandled.
 */
import { safeInstanceOf } from './safe-instanceof.js';
import { describeFailure } from './wire-server-failure.js';

export interface FramingOrderOptions<T> {
  /** Receives items in push order. May throw: the error goes to `onError` and the queue stops. */
  readonly deliver: (item: T) => void;
  /** The first failure: a pending item rejected (in its turn) or `deliver` threw. Called once. */
  readonly onError: (error: Error) => void;
  /** Waiting bytes above which `onPressure(true)` is called. */
  readonly highWaterBytes: number;
  /** Told to stop (`true`) or resume (`false`) producing; e.g. pause the socket. */
  readonly onPressure?: (paused: boolean) => void;
}

interface Slot<T> {
  readonly bytes: number;
  /** 0 pending, 1 ready, 2 failed, 3 dropped (cleared while pending). */
  state: 0 | 1 | 2 | 3;
  value: T | undefined;
  error: Error | undefined;
}

/**
 * An ordered FIFO of ready and pending items for one connection.
 *
 * @example
 * const order = new FramingOrder<WireMessage>({
 *   deliver: (msg) => dispatch(msg),
 *   onError: (err) => stream.destroy(err),
 *   highWaterBytes: 8 << 20,
 *   onPressure: (paused) => (paused ? stream.pause() : stream.resume()),
 * });
 * order.pushPending(pool.decode(inner).then(parseWireMessage), inner.length);
 * if (order.idle) dispatch(small); else order.push(small, frame.length);
 */
export class FramingOrder<T> {
  readonly #deliver: (item: T) => void;
  readonly #onError: (error: Error) => void;
  readonly #onPressure: ((paused: boolean) => void) | undefined;
  readonly #highWaterBytes: number;
  #slots: (Slot<T> | undefined)[] = [];
  #head = 0;
  #waitingBytes = 0;
  #draining = false;
  #paused = false;
  #stopped = false;

  constructor(options: FramingOrderOptions<T>) {
    this.#deliver = options.deliver;
    this.#onError = options.onError;
    this.#onPressure = options.onPressure;
    this.#highWaterBytes = options.highWaterBytes;
  }

  /** True when nothing waits: the owner may deliver a ready item itself, in order. */
  get idle(): boolean {
    return this.#head === this.#slots.length && !this.#draining;
  }

  /** Items waiting (ready or pending). */
  get length(): number {
    return this.#slots.length - this.#head;
  }

  /** Bytes of the items waiting, as declared when pushed. */
  get waitingBytes(): number {
    return this.#waitingBytes;
  }

  /** Whether `onPressure(true)` was the last call. */
  get paused(): boolean {
    return this.#paused;
  }

  /** True after a failure: pushes are ignored from then on. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Queues a ready item; it is delivered at once when nothing waits before it. */
  push(item: T, bytes: number): void {
    if (this.#stopped) return;
    this.#add({ bytes, state: 1, value: item, error: undefined });
    this.#drain();
  }

  /** Queues an item that is still being produced; later items wait for it. */
  pushPending(pending: Promise<T>, bytes: number): void {
    if (this.#stopped) return;
    const slot: Slot<T> = { bytes, state: 0, value: undefined, error: undefined };
    this.#add(slot);
    pending.then(
      (value) => {
        if (slot.state !== 0) return;
        slot.state = 1;
        slot.value = value;
        this.#drain();
      },
      (reason: unknown) => {
        if (slot.state !== 0) return;
        slot.state = 2;
        slot.error = safeInstanceOf(reason, Error) ? reason : new Error(describeFailure(reason).message, { cause: reason });
        this.#drain();
      },
    );
  }

  /** Drops every waiting item; pending ones are ignored when they settle. */
  clear(): void {
    for (let i = this.#head; i < this.#slots.length; i++) this.#slots[i]!.state = 3;
    this.#slots = [];
    this.#head = 0;
    this.#waitingBytes = 0;
    this.#paused = false;
  }

  #add(slot: Slot<T>): void {
    this.#slots.push(slot);
    this.#waitingBytes += slot.bytes;
    if (!this.#paused && this.#waitingBytes > this.#highWaterBytes) {
      this.#paused = true;
      this.#onPressure?.(true);
    }
  }

  #drain(): void {
    // `deliver` may push (re-entrancy): the outer loop picks those up, in order.
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (this.#head < this.#slots.length) {
        const slot = this.#slots[this.#head]!;
        if (slot.state === 0) break;
        this.#slots[this.#head++] = undefined;
        this.#waitingBytes -= slot.bytes;
        if (slot.state === 2) return this.#fail(slot.error!);
        const value = slot.value as T;
        slot.value = undefined;
        try {
          this.#deliver(value);
        } catch (err) {
          // `deliver` runs a listener's code, which may throw a value no check can trust.
          return this.#fail(safeInstanceOf(err, Error) ? err : new Error(describeFailure(err).message, { cause: err }));
        }
        if (this.#stopped) return;
      }
      if (this.#head === this.#slots.length) {
        this.#slots = [];
        this.#head = 0;
      } else if (this.#head > 64 && this.#head * 2 > this.#slots.length) {
        this.#slots = this.#slots.slice(this.#head);
        this.#head = 0;
      }
      if (this.#paused && this.#waitingBytes <= this.#highWaterBytes / 2) {
        this.#paused = false;
        this.#onPressure?.(false);
      }
    } finally {
      this.#draining = false;
    }
  }

  #fail(error: Error): void {
    this.#stopped = true;
    this.clear();
    this.#onError(error);
  }
}
