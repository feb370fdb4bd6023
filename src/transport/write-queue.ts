/**
 * The outbound half of one connection, whatever it carries (wire frames, RESP commands):
 * writes go to the stream while it takes them, wait in a queue once it pushes back, and
 * leave in order on `'drain'`. One owner for backpressure, its bound and the write bursts.
 *
 *   write(item) ──▶ held for this tick ──(tick ends)──▶ stream.write          a lone item
 *        │            └─ a 2nd item: cork, held + rest ──(tick ends)──▶ one writev
 *        │ the stream pushed back earlier
 *        ▼
 *   queue ──'drain'──▶ stream.write …        over the bound ──▶ WriteQueueFullError ('refuse')
 *
 * Two overflow policies, chosen by the protocol (`WriteItems.overflow`):
 * - `'refuse'` (wire frames): once `stream.write` returned false, items wait here, and an
 *   item that would take the queue over `maxQueuedBytes` is refused with
 *   `WriteQueueFullError` before anything of it is written. A slow reader costs at most
 *   the stream's high-water mark plus one item plus `maxQueuedBytes`. Refusals throw
 *   synchronously, so a stateful encoder in front (msgpackr records) knows exactly which
 *   item the peer did not see.
 * - `'wait'` (RESP commands): nothing is refused for being slow. The stream is written
 *   ahead until it asked to wait *and* holds `maxQueuedBytes` (at least its high-water
 *   mark); later items wait here in order, unbounded: they are the callers' own data,
 *   bounded by their concurrency, and RESP matches replies by order, so a refusal would
 *   only move the failure to the caller.
 * Either way an item is written whole, never split: a half-written RESP command would
 * make the server read the next one as its tail.
 *
 * Auto-pipelining (ioredis's `enableAutoPipelining`, without its per-batch timer): every
 * item written in one tick leaves in ONE stream write. The first is held (no cork, no
 * write yet); a second corks the stream and writes the held one before itself; the end of
 * the burst writes a lone held item as is, or uncorks the burst into one `writev`. So a
 * lone item (a reply, a request on a quiet connection) pays no cork, no buffered write
 * request and no `writev` — at 10k idle connections the corked path cost more than the
 * frame. Only a lone item written in several chunks (`items.split`: a large payload or
 * Buffer argument, never copied) is corked, to stay one syscall. Backpressure holds inside a burst: once the stream pushes back, the rest of the
 * burst waits in the queue (or is refused). One microtask ends the burst of every queue
 * that wrote since the last one (a module-level list): no allocation, promise or timer
 * per write, and no `process.nextTick`, whose queue makes Node 20 run its
 * unhandled-rejection pass (a fresh Map) after every tick that used it — per heartbeat,
 * on 10k connections. A "tick" is thus the synchronous run plus the microtasks queued
 * before the burst's own: callers resumed by one inbound chunk all write in it.
 *
 * A stream that throws from its own write (a user Duplex whose `_write` throws
 * synchronously; Node then leaves it mid-write for good) is destroyed with that error,
 * alone: the shared microtask still ends every other queue's burst, and a caller whose
 * item was not written gets `ConnectionClosedError` (the error as `cause`), never the
 * throw of an item another caller wrote earlier in the tick.
 */
import type { Duplex } from 'node:stream';
import { ConnectionClosedError, WriteQueueFullError } from '../errors.js';

/** How a queue writes the items of one protocol, and what it does when they pile up. */
export interface WriteItems<T> {
  /** `'refuse'`: bounded queue, `WriteQueueFullError` past it. `'wait'`: write ahead, then wait unbounded. */
  readonly overflow: 'refuse' | 'wait';
  /** Names an item in messages (`frame`, `command`). */
  readonly noun: string;
  /** Bytes the item puts on the wire, counted against `maxQueuedBytes`. */
  bytes(item: T): number;
  /** Writes the whole item; the last `stream.write` result (false: the stream asked to wait). */
  write(stream: Duplex, item: T): boolean;
  /**
   * True when `write` makes more than one `stream.write` call for the item (a command with
   * a large Buffer argument, a frame with a large payload): a lone one is then corked, so
   * it still leaves in one syscall.
   */
  split(item: T): boolean;
  /**
   * For `writeAlone`: the item an already-encoded one stands for, built only when it must
   * wait in the queue (a heartbeat frame otherwise costs no second object).
   */
  fromEncoded?(encoded: Uint8Array): T;
}

const BURST_NONE = 0;
const BURST_HELD = 1;
const BURST_CORKED = 2;

let bursting: { endBurst(): void }[] = [];

function endBursts(): void {
  const batch = bursting;
  bursting = [];
  for (const queue of batch) queue.endBurst();
}

/**
 * One stream's bounded write queue. Not shared between streams.
 *
 * @example
 * const queue = new WriteQueue(socket, FRAMES, 8 << 20);
 * try { queue.write(payload); } catch (err) { if (hasCode(err, 'WW_WRITE_QUEUE_FULL')) shed(); }
 * await queue.end();   // flushes the queue, then ends the stream
 */
export class WriteQueue<T> {
  readonly maxQueuedBytes: number;
  readonly #stream: Duplex;
  readonly #items: WriteItems<T>;
  #queue: T[] = [];
  #queuedBytes = 0;
  #blocked = false;
  /** Writes in this tick: none, one (held until the burst ends), or more (the stream is corked). */
  #burst: typeof BURST_NONE | typeof BURST_HELD | typeof BURST_CORKED = BURST_NONE;
  /** The burst's first item while it is alone: written when the burst ends, or when a second comes. */
  #held: T | undefined;
  #ending = false;
  #disposed = false;
  #ended: Promise<void> | undefined;
  #resolveEnded: (() => void) | undefined;
  /** Created at the first backpressure: most queues never see one. */
  #onDrain: (() => void) | undefined;

  constructor(stream: Duplex, items: WriteItems<T>, maxQueuedBytes: number) {
    this.#stream = stream;
    this.#items = items;
    this.maxQueuedBytes = maxQueuedBytes;
  }

  /** Bytes waiting in the queue for the stream to drain (not yet handed to it). */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** True while writes go to the queue rather than to the stream. */
  get blocked(): boolean {
    return this.#blocked;
  }

  /** Whether `write` can still accept items (stream open, not ending). */
  get writable(): boolean {
    const s = this.#stream;
    return !this.#disposed && !this.#ending && !s.destroyed && !s.writableEnded;
  }

  /**
   * Writes one item as part of this tick's burst. True when it was taken for the stream
   * (written, or held until the burst ends) and the stream takes more; false when it was
   * queued or the stream pushed back. Throws `ConnectionClosedError` or
   * `WriteQueueFullError` having written nothing of `item`.
   */
  write(item: T): boolean {
    if (this.#mustQueue()) return this.#enqueue(item);
    if (this.#burst === BURST_NONE) {
      this.#burst = BURST_HELD;
      this.#held = item;
      if (bursting.push(this) === 1) queueMicrotask(endBursts);
      return true;
    }
    if (this.#burst === BURST_HELD && !this.#corkHeld()) return this.#enqueue(item);
    const ok = this.#put(item);
    if (this.#mustWait(ok)) this.#block();
    return ok;
  }

  /**
   * Writes `encoded` (an item already in its wire form) outside the burst: a frame on
   * its own (a heartbeat) goes to the stream at once — behind an item held for the burst,
   * into the cork of a burst already running, in order — and schedules no microtask.
   * Behind backpressure it is queued (as `items.fromEncoded(encoded)`) as `write` would.
   * Same results and errors.
   */
  writeAlone(encoded: Uint8Array): boolean {
    if (this.#mustQueue() || (this.#burst === BURST_HELD && !this.#corkHeld())) {
      return this.#enqueue(this.#items.fromEncoded!(encoded));
    }
    let ok: boolean;
    try {
      ok = this.#stream.write(encoded);
    } catch (err) {
      throw this.#failed(err);
    }
    if (this.#mustWait(ok)) this.#block();
    return ok;
  }

  /** Resolves once every queued item was handed to the stream and the stream was ended (or the queue disposed). */
  end(): Promise<void> {
    if (this.#ended) return this.#ended;
    // The item held for this burst goes before the end, as it was written.
    if (this.#burst === BURST_HELD) this.endBurst();
    this.#ending = true;
    this.#ended = new Promise<void>((resolve) => {
      this.#resolveEnded = resolve;
    });
    if (!this.#blocked) this.#finish();
    return this.#ended;
  }

  /** Drops the queue and detaches from the stream (after it closed or was destroyed). */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.#onDrain) this.#stream.off('drain', this.#onDrain);
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#blocked = false;
    this.#held = undefined;
    this.#resolveEnded?.();
  }

  /**
   * @internal the end of this tick's burst (its microtask, or `end()`): a lone held item
   * goes to the stream as is; a corked burst leaves in one writev.
   */
  endBurst(): void {
    const burst = this.#burst;
    this.#burst = BURST_NONE;
    try {
      if (burst === BURST_CORKED) {
        this.#stream.uncork();
      } else if (burst === BURST_HELD) {
        const item = this.#held as T;
        this.#held = undefined;
        const s = this.#stream;
        // Destroyed within the tick: the item dies with the connection, like the queue.
        if (this.#disposed || s.destroyed || s.writableEnded) return;
        const items = this.#items;
        if (!items.split(item)) {
          if (this.#mustWait(items.write(s, item))) this.#block();
          return;
        }
        s.cork();
        const ok = items.write(s, item);
        s.uncork();
        if (this.#mustWait(ok)) this.#block();
      }
    } catch (err) {
      // Never out of the shared microtask: the other queues' bursts must still end.
      this.#failed(err);
    }
  }

  /** True when an item must wait in the queue (backpressure); throws `ConnectionClosedError` when none can be taken. */
  #mustQueue(): boolean {
    if (!this.writable) {
      throw new ConnectionClosedError(`cannot write a ${this.#items.noun}: the stream is closed or ending`);
    }
    return this.#blocked;
  }

  /** Queues `item` behind backpressure (false: not written), or throws `WriteQueueFullError` ('refuse'). */
  #enqueue(item: T): false {
    const size = this.#items.bytes(item);
    if (this.#items.overflow === 'refuse' && this.#queuedBytes + size > this.maxQueuedBytes) {
      throw new WriteQueueFullError(
        `write queue full: ${this.#queuedBytes} bytes queued, a ${this.#items.noun} of ${size} bytes would exceed maxQueuedBytes ${this.maxQueuedBytes}`,
      );
    }
    this.#queue.push(item);
    this.#queuedBytes += size;
    return false;
  }

  /**
   * A second item in this tick: cork, and write the held one first (the burst leaves in
   * one writev when it ends). False when the stream pushed back on the held item: the
   * caller's item then takes the queue's path.
   */
  #corkHeld(): boolean {
    const item = this.#held as T;
    this.#held = undefined;
    this.#burst = BURST_CORKED;
    this.#stream.cork();
    if (!this.#mustWait(this.#put(item))) return true;
    this.#block();
    return false;
  }

  /** `items.write(item)`; a throwing stream is destroyed, and the caller gets `ConnectionClosedError`. */
  #put(item: T): boolean {
    try {
      return this.#items.write(this.#stream, item);
    } catch (err) {
      throw this.#failed(err);
    }
  }

  /**
   * The stream threw from a write: it is left mid-write (Node never calls that write's
   * callback), so it is destroyed with the error, and the queue dropped. Returns what a
   * caller whose item was not written is told.
   */
  #failed(err: unknown): ConnectionClosedError {
    this.dispose();
    const s = this.#stream;
    const cause = err instanceof Error ? err : new Error('the stream threw a non-Error value while writing', { cause: err });
    if (!s.destroyed) s.destroy(cause);
    return new ConnectionClosedError(`cannot write a ${this.#items.noun}: the stream threw while writing and was destroyed`, { cause });
  }

  /** Whether to stop writing after a write returned `ok`: see the overflow policies. */
  #mustWait(ok: boolean): boolean {
    return !ok && (this.#items.overflow === 'refuse' || this.#stream.writableLength >= this.maxQueuedBytes);
  }

  #block(): void {
    this.#blocked = true;
    this.#onDrain ??= this.#flush.bind(this);
    this.#stream.once('drain', this.#onDrain);
  }

  #flush(): void {
    if (this.#disposed) return;
    const s = this.#stream;
    if (s.destroyed || s.writableEnded) return this.dispose();
    this.#blocked = false;
    const items = this.#items;
    let i = 0;
    s.cork();
    try {
      while (i < this.#queue.length) {
        const item = this.#queue[i++]!;
        this.#queuedBytes -= items.bytes(item);
        if (this.#mustWait(items.write(s, item))) {
          this.#block();
          break;
        }
      }
      this.#queue = i === this.#queue.length ? [] : this.#queue.slice(i);
      s.uncork();
    } catch (err) {
      // Out of a 'drain' listener a throw would be uncaught; the stream dies with it instead.
      this.#failed(err);
      return;
    }
    if (!this.#blocked && this.#ending) this.#finish();
  }

  #finish(): void {
    const s = this.#stream;
    try {
      if (!s.destroyed && !s.writableEnded) s.end();
    } catch (err) {
      this.#failed(err);
    }
    this.#resolveEnded?.();
  }
}
