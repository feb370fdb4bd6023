/**
 * Writes `u32 length | payload` frames to a Duplex and honours backpressure with a
 * bounded queue.
 *
 *   write(frame) ──▶ stream.write ok ──▶ (returns true)
 *        │ stream said "false" earlier
 *        ▼
 *   queue (≤ maxQueuedBytes) ──'drain'──▶ stream.write …      over the bound ──▶ WriteQueueFullError
 *
 * Trade-offs:
 * - Once `stream.write` returns false, further frames wait in our queue instead of piling
 *   into the stream's own unbounded buffer; the queue refuses a frame that would take it
 *   over `maxQueuedBytes`. A slow reader therefore costs at most the stream's high-water
 *   mark plus one frame plus `maxQueuedBytes`, never unbounded memory.
 * - The first write of a tick goes straight to the stream; a second one in the same tick
 *   corks it and a microtask uncorks it, so a burst of small frames (pipelined requests)
 *   leaves in two syscalls (the first frame, then one `writev`) whatever its length, and
 *   a lone frame (a heartbeat PING, most replies) pays no cork, no buffered write request
 *   and no `writev` — at 10k idle connections the corked path cost more than the PING.
 *   One microtask ends the burst of every writer that wrote since the last one (a module-level list):
 *   no allocation per write, and no `process.nextTick`, whose queue makes Node 20 run
 *   its unhandled-rejection pass (a fresh Map) after every tick that used it — per
 *   heartbeat, on 10k connections.
 * - Small payloads are copied behind their header (one buffer, cheaper than a 2-entry
 *   writev); large ones are written as header + payload views, never copied. A caller must
 *   not mutate a payload after handing it over.
 * - Refusals throw synchronously before any byte is written, so a stateful encoder in
 *   front (msgpackr records) knows exactly which frame the peer did not see.
 */
import type { Duplex } from 'node:stream';
import { ConnectionClosedError, FrameTooLargeError, WriteQueueFullError } from '../errors.js';
import { DEFAULT_MAX_FRAME_BYTES, FRAME_HEADER_BYTES } from './frame-decoder.js';

/** 8 MiB: default bound on frames waiting for the peer to read. */
export const DEFAULT_MAX_QUEUED_BYTES = 8 * 1024 * 1024;

/** Payloads up to this size are copied behind their header into one buffer. */
const COPY_BELOW_BYTES = 16 * 1024;

export interface FrameWriterOptions {
  /** Bound on bytes queued while the stream applies backpressure. Default 8 MiB. */
  readonly maxQueuedBytes?: number;
  /** Refuse to send payloads the peer would refuse. Default 16 MiB. */
  readonly maxFrameBytes?: number;
}

/**
 * Prefixes `payload` with its u32 big-endian length, in one new buffer.
 *
 * @example
 * socket.write(encodeFrame(Buffer.from('hello')));   // <00 00 00 05 68 65 6c 6c 6f>
 */
export function encodeFrame(payload: Uint8Array): Buffer {
  if (payload.length > 0xffffffff) throw new FrameTooLargeError(`frame of ${payload.length} bytes exceeds the u32 length prefix`);
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

const BURST_NONE = 0;
const BURST_ONE = 1;
const BURST_CORKED = 2;

let corkedWriters: FrameWriter[] = [];

function uncorkAll(): void {
  const batch = corkedWriters;
  corkedWriters = [];
  for (const writer of batch) writer.uncork();
}

/**
 * Frame writer over one stream. Not shared between streams.
 *
 * @example
 * const writer = new FrameWriter(socket, { maxQueuedBytes: 1 << 20 });
 * try { writer.write(payload); } catch (err) { if (hasCode(err, 'WW_WRITE_QUEUE_FULL')) shed(); }
 * await writer.end();   // flushes the queue, then ends the stream
 */
export class FrameWriter {
  readonly maxQueuedBytes: number;
  readonly maxFrameBytes: number;
  readonly #stream: Duplex;
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #blocked = false;
  /** Writes in this tick: none, one (sent as is), or more (the stream is corked). */
  #burst: typeof BURST_NONE | typeof BURST_ONE | typeof BURST_CORKED = BURST_NONE;
  #ending = false;
  #disposed = false;
  #ended: Promise<void> | undefined;
  #resolveEnded: (() => void) | undefined;
  /** Created at the first backpressure: most writers never see one. */
  #onDrain: (() => void) | undefined;

  constructor(stream: Duplex, options?: FrameWriterOptions) {
    this.#stream = stream;
    this.maxQueuedBytes = options?.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    this.maxFrameBytes = options?.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  /** Bytes (headers included) waiting in the queue for the stream to drain. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** True while writes go to the queue rather than to the stream. */
  get blocked(): boolean {
    return this.#blocked;
  }

  /** Whether `write` can still accept frames (stream open, not ending). */
  get writable(): boolean {
    const s = this.#stream;
    return !this.#disposed && !this.#ending && !s.destroyed && !s.writableEnded;
  }

  /**
   * Writes one frame. Returns true when it went straight to the stream, false when it was
   * queued behind backpressure. Throws `FrameTooLargeError`, `WriteQueueFullError` or
   * `ConnectionClosedError` without writing anything.
   */
  write(payload: Uint8Array): boolean {
    if (!this.#admit(payload.length)) {
      this.#enqueue(payload);
      return false;
    }
    this.#burstStep();
    const ok = this.#writeFrame(payload);
    if (!ok) this.#block();
    return ok;
  }

  /**
   * Writes a frame whose first 4 bytes are room for the length header, which is filled in
   * here: a payload encoded in place behind that room (a PING, a PONG) goes out without a
   * second buffer or a copy. Same results and errors as {@link write}. It does not count
   * toward a burst (a heartbeat is one frame on its own): it goes to the stream as is —
   * into the cork of a burst already running, in order — and schedules no microtask.
   */
  writeFramed(frame: Buffer): boolean {
    const length = frame.length - FRAME_HEADER_BYTES;
    if (!this.#admit(length)) {
      this.#enqueue(frame.subarray(FRAME_HEADER_BYTES));
      return false;
    }
    frame.writeUInt32BE(length, 0);
    const ok = this.#stream.write(frame);
    if (!ok) this.#block();
    return ok;
  }

  /**
   * Throws `ConnectionClosedError`, `FrameTooLargeError` or `WriteQueueFullError` for a
   * frame that cannot be taken; false when it must wait in the queue (backpressure).
   */
  #admit(payloadBytes: number): boolean {
    if (!this.writable) throw new ConnectionClosedError('cannot write a frame: the stream is closed or ending');
    if (payloadBytes > this.maxFrameBytes) {
      throw new FrameTooLargeError(`frame of ${payloadBytes} bytes exceeds maxFrameBytes ${this.maxFrameBytes}`);
    }
    if (!this.#blocked) return true;
    const size = FRAME_HEADER_BYTES + payloadBytes;
    if (this.#queuedBytes + size > this.maxQueuedBytes) {
      throw new WriteQueueFullError(
        `write queue full: ${this.#queuedBytes} bytes queued, a frame of ${size} bytes would exceed maxQueuedBytes ${this.maxQueuedBytes}`,
      );
    }
    return false;
  }

  /** The first write of a tick goes as is; the second corks the stream until the microtask. */
  #burstStep(): void {
    if (this.#burst === BURST_NONE) {
      this.#burst = BURST_ONE;
      if (corkedWriters.push(this) === 1) queueMicrotask(uncorkAll);
    } else if (this.#burst === BURST_ONE) {
      this.#burst = BURST_CORKED;
      this.#stream.cork();
    }
  }

  /** Resolves once every queued frame was handed to the stream and the stream was ended. */
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
  uncork(): void {
    if (this.#burst === BURST_CORKED) this.#stream.uncork();
    this.#burst = BURST_NONE;
  }

  #writeFrame(payload: Uint8Array): boolean {
    if (payload.length <= COPY_BELOW_BYTES) return this.#stream.write(encodeFrame(payload));
    const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
    header.writeUInt32BE(payload.length, 0);
    this.#stream.write(header);
    return this.#stream.write(payload);
  }

  #enqueue(payload: Uint8Array): void {
    this.#queue.push(payload);
    this.#queuedBytes += FRAME_HEADER_BYTES + payload.length;
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
    let i = 0;
    s.cork();
    try {
      while (i < this.#queue.length) {
        const payload = this.#queue[i++]!;
        this.#queuedBytes -= FRAME_HEADER_BYTES + payload.length;
        if (!this.#writeFrame(payload)) {
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
