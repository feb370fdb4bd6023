/**
 * The outbound half of one connection, whatever it carries (wire frames, RESP commands):
 * writes go to the stream while it takes them, wait in a queue once it pushes back, and
 * leave in order on `'drain'`. One owner for backpressure, its bound and the write bursts.
 *
 *   write(item) ──▶ stream.write ──▶ (ok)
 *        │ the stream pushed back earlier
 *        ▼
 *   queue ──'drain'──▶ stream.write …        over the bound ──▶ WriteQueueFullError ('refuse')
 *
 * Two overflow policies, chosen by the protocol (`WriteItems.overflow`):
 * - `'refuse'` (wire frames): once `stream.write` returned false, items wait here, and an
 *   item that would take the queue over `maxQueuedBytes` is refused with
 *   `WriteQueueFullError` before anything is written. A slow reader costs at most the
 *   stream's high-water mark plus one item plus `maxQueuedBytes`. Refusals throw
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
 * Write bursts: see `#burstStep`. One microtask ends the burst of every queue that wrote
 * since the last one (a module-level list): no allocation per write, and no
 * `process.nextTick`, whose queue makes Node 20 run its unhandled-rejection pass (a fresh
 * Map) after every tick that used it — per heartbeat, on 10k connections.
 */
import type { Duplex } from 'node:stream';
import { ConnectionClosedError, WriteQueueFullError } from '../errors.js';

/** How a queue writes the items of one protocol, and what it does when they pile up. */
export interface WriteItems<T> {
  /** `'refuse'`: bounded queue, `WriteQueueFullError` past it. `'wait'`: write ahead, then wait unbounded. */
  readonly overflow: 'refuse' | 'wait';
  /** Names an item in messages (`frame`, `command`). */
  readonly noun: string;
  /** Cork from the first write of a tick (true) or from the second (false: a lone item goes as is). */
  readonly corkFirst: boolean;
  /** Bytes the item puts on the wire, counted against `maxQueuedBytes`. */
  bytes(item: T): number;
  /** Writes the whole item; the last `stream.write` result (false: the stream asked to wait). */
  write(stream: Duplex, item: T): boolean;
}

const BURST_NONE = 0;
const BURST_ONE = 1;
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
 * const queue = new WriteQueue(socket, FRAME_ITEMS, 8 << 20);
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
  /** Writes in this tick: none, one (sent as is), or more (the stream is corked). */
  #burst: typeof BURST_NONE | typeof BURST_ONE | typeof BURST_CORKED = BURST_NONE;
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
   * Writes one item as part of this tick's burst. True when it went straight to the
   * stream and the stream takes more, false when it was queued or the stream pushed back.
   * Throws `ConnectionClosedError` or `WriteQueueFullError` having written nothing.
   */
  write(item: T): boolean {
    if (!this.#admit(item)) return false;
    this.#burstStep();
    const ok = this.#items.write(this.#stream, item);
    if (this.#mustWait(ok)) this.#block();
    return ok;
  }

  /**
   * Writes `encoded` (the item, already in its wire form) outside the burst: a frame on
   * its own (a heartbeat) goes to the stream as is — into the cork of a burst already
   * running, in order — and schedules no microtask. Behind backpressure `item` is queued
   * as `write` would. Same results and errors as `write`.
   */
  writeAlone(item: T, encoded: Uint8Array): boolean {
    if (!this.#admit(item)) return false;
    const ok = this.#stream.write(encoded);
    if (this.#mustWait(ok)) this.#block();
    return ok;
  }

  /** Resolves once every queued item was handed to the stream and the stream was ended (or the queue disposed). */
  end(): Promise<void> {
    if (this.#ended) return this.#ended;
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
    this.#resolveEnded?.();
  }

  /** @internal called by the microtask that ends the write burst. */
  endBurst(): void {
    if (this.#burst === BURST_CORKED) this.#stream.uncork();
    this.#burst = BURST_NONE;
  }

  /**
   * True when `item` may go to the stream now; false once it was queued behind
   * backpressure. Throws for an item that cannot be taken.
   */
  #admit(item: T): boolean {
    if (!this.writable) {
      throw new ConnectionClosedError(`cannot write a ${this.#items.noun}: the stream is closed or ending`);
    }
    if (!this.#blocked) return true;
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
   * The first write of a tick either corks the stream (`corkFirst`) or goes as is, in
   * which case the second corks it; the microtask uncorks, so a burst (pipelined
   * requests) leaves in one `writev` whatever its length. Without `corkFirst` a lone item
   * (a reply) pays no cork, no buffered write request and no `writev`.
   */
  #burstStep(): void {
    if (this.#burst === BURST_NONE) {
      if (bursting.push(this) === 1) queueMicrotask(endBursts);
      if (this.#items.corkFirst) {
        this.#burst = BURST_CORKED;
        this.#stream.cork();
      } else {
        this.#burst = BURST_ONE;
      }
    } else if (this.#burst === BURST_ONE) {
      this.#burst = BURST_CORKED;
      this.#stream.cork();
    }
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
    } finally {
      this.#queue = i === this.#queue.length ? [] : this.#queue.slice(i);
      s.uncork();
    }
    if (!this.#blocked && this.#ending) this.#finish();
  }

  #finish(): void {
    const s = this.#stream;
    if (!s.destroyed && !s.writableEnded) s.end();
    this.#resolveEnded?.();
  }
}
