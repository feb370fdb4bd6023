/**
 * Writes `u32 length | payload` frames to a Duplex through the connection's bounded write
 * queue (write-queue.ts, policy `'refuse'`): behind a slow reader frames wait there, and a
 * frame that would take it over `maxQueuedBytes` is a `WriteQueueFullError`.
 *
 *   write(payload) ──size ≤ maxFrameBytes──▶ WriteQueue ──▶ header + payload ──▶ stream
 *
 * Trade-offs:
 * - Auto-pipelining: the frames written in one tick (concurrent requests, a server's
 *   replies to one chunk) leave in one stream write, a lone frame without a cork (the
 *   queue's bursts). A heartbeat PING/PONG (`writeFramed`) goes out at once.
 * - A frame encoded behind room for its header (`writeFrame`: the msgpack codec reserves
 *   it) goes out as is: no second buffer, no copy, whatever its size. Other payloads
 *   (`write`): small ones are copied behind their header (one buffer, cheaper than a
 *   2-entry writev); large ones are written as header + payload views, never copied. A
 *   caller must not mutate a payload after handing it over.
 * - Refusals (too large, queue full, closed) throw synchronously before any byte is
 *   written, so a stateful encoder in front (msgpackr records) knows exactly which frame
 *   the peer did not see.
 */
import type { Duplex } from 'node:stream';
import { FrameTooLargeError } from '../errors.js';
import { DEFAULT_MAX_FRAME_BYTES, FRAME_HEADER_BYTES } from './frame-decoder.js';
import { WriteQueue, type WriteItems } from './write-queue.js';

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

/** A payload too large to copy behind its header: written as header + the payload itself. */
class SplitFrame {
  constructor(readonly payload: Uint8Array) {}
}

/** What the write queue holds: a complete frame (header included), or a large payload. */
type FrameItem = Uint8Array | SplitFrame;

/** How the write queue puts frames on the wire: refused past the bound. */
const FRAMES: WriteItems<FrameItem> = {
  overflow: 'refuse',
  noun: 'frame',
  bytes: (item) => (item instanceof SplitFrame ? FRAME_HEADER_BYTES + item.payload.length : item.length),
  write: writeItem,
  split: (item) => item instanceof SplitFrame,
  // A `writeFramed` frame that must wait is queued as it is.
  fromEncoded: (frame) => frame,
};

function writeItem(stream: Duplex, item: FrameItem): boolean {
  if (!(item instanceof SplitFrame)) return stream.write(item);
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt32BE(item.payload.length, 0);
  stream.write(header);
  return stream.write(item.payload);
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
  readonly maxFrameBytes: number;
  readonly #queue: WriteQueue<FrameItem>;

  constructor(stream: Duplex, options?: FrameWriterOptions) {
    this.#queue = new WriteQueue(stream, FRAMES, options?.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES);
    this.maxFrameBytes = options?.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  get maxQueuedBytes(): number {
    return this.#queue.maxQueuedBytes;
  }

  /** Bytes (headers included) waiting in the queue for the stream to drain. */
  get queuedBytes(): number {
    return this.#queue.queuedBytes;
  }

  /** True while writes go to the queue rather than to the stream. */
  get blocked(): boolean {
    return this.#queue.blocked;
  }

  /** Whether `write` can still accept frames (stream open, not ending). */
  get writable(): boolean {
    return this.#queue.writable;
  }

  /**
   * Writes one frame, in this tick's burst. Returns true when it was taken for the
   * stream, false when it was queued behind backpressure. Throws `FrameTooLargeError`,
   * `WriteQueueFullError` or `ConnectionClosedError` without writing anything of it.
   */
  write(payload: Uint8Array): boolean {
    this.#checkSize(payload.length);
    return this.#queue.write(payload.length <= COPY_BELOW_BYTES ? encodeFrame(payload) : new SplitFrame(payload));
  }

  /**
   * Writes a frame whose first 4 bytes are room for the length header, in this tick's
   * burst, as {@link write} does: the header is filled in here and the buffer goes out as
   * is (a payload the codec encoded behind that room: no copy, no second buffer). Same
   * results and errors as {@link write}.
   */
  writeFrame(frame: Buffer): boolean {
    const length = frame.length - FRAME_HEADER_BYTES;
    this.#checkSize(length);
    frame.writeUInt32BE(length, 0);
    return this.#queue.write(frame);
  }

  /**
   * Writes a frame whose first 4 bytes are room for the length header, which is filled in
   * here: a payload encoded in place behind that room (a PING, a PONG) goes out without a
   * second buffer or a copy. Same results and errors as {@link write}. It does not wait
   * for the burst (a heartbeat is one frame on its own): it goes to the stream at once,
   * behind the frames written before it, and schedules no microtask.
   */
  writeFramed(frame: Buffer): boolean {
    const length = frame.length - FRAME_HEADER_BYTES;
    this.#checkSize(length);
    frame.writeUInt32BE(length, 0);
    return this.#queue.writeAlone(frame);
  }

  /** Resolves once every queued frame was handed to the stream and the stream was ended. */
  end(): Promise<void> {
    return this.#queue.end();
  }

  /** Drops the queue and detaches from the stream (after it closed or was destroyed). */
  dispose(): void {
    this.#queue.dispose();
  }

  /** A closed stream is reported as closed whatever the frame's size (the queue throws that). */
  #checkSize(payloadBytes: number): void {
    if (payloadBytes > this.maxFrameBytes && this.#queue.writable) {
      throw new FrameTooLargeError(`frame of ${payloadBytes} bytes exceeds maxFrameBytes ${this.maxFrameBytes}`);
    }
  }
}
