/**
 * Frame boundaries in a proxied byte stream (`u32 big-endian length | payload`), for the
 * protocol-aware `wire_*` toxics.
 *
 * Two pieces:
 * - `FrameCursor` only follows boundaries: a few counters, no buffering. Every pipeline
 *   runs one on the bytes it delivers, so that a `wire_*` toxic attached to a connection
 *   that is already mid-frame knows where the next frame starts instead of reading a
 *   length out of the middle of a payload.
 * - `FrameSplitter` hands out whole frames (header included, so they can be forwarded
 *   as they came). It buffers at most one frame, bounded by `maxFrameBytes`.
 *
 * Trade-off: a proxy must stay transparent, so nothing here rejects a frame. A declared
 * length above `maxFrameBytes` (or the remainder of a frame that was in flight when the
 * toxic attached) is streamed through raw and unclassified, never buffered; the
 * endpoints enforce their own limits. Parsing resumes at the next boundary.
 */
import type { FramePosition } from './toxic-types.js';

export const FRAME_HEADER_BYTES = 4;

/** A stream position at a frame boundary. */
export const FRAME_BOUNDARY: FramePosition = Object.freeze({ header: Buffer.alloc(0), bodyRemaining: 0 });

/**
 * Follows frame boundaries without keeping any payload.
 *
 * @example
 * const cursor = new FrameCursor();
 * cursor.feed(chunk);
 * cursor.position(); // { header: <bytes of a partial header>, bodyRemaining: n }
 */
export class FrameCursor {
  readonly #header = Buffer.alloc(FRAME_HEADER_BYTES);
  #headerFill = 0;
  #bodyRemaining = 0;

  constructor(start: FramePosition = FRAME_BOUNDARY) {
    start.header.copy(this.#header, 0, 0, Math.min(start.header.length, FRAME_HEADER_BYTES));
    this.#headerFill = Math.min(start.header.length, FRAME_HEADER_BYTES);
    this.#bodyRemaining = start.bodyRemaining;
  }

  feed(chunk: Buffer): void {
    const length = chunk.length;
    let offset = 0;
    while (offset < length) {
      if (this.#bodyRemaining > 0) {
        const take = Math.min(this.#bodyRemaining, length - offset);
        this.#bodyRemaining -= take;
        offset += take;
        continue;
      }
      // Every chunk of every proxied connection comes through here: a whole header is read
      // in place, and only a header split across chunks is gathered byte by byte.
      if (this.#headerFill === 0 && length - offset >= FRAME_HEADER_BYTES) {
        this.#bodyRemaining = chunk.readUInt32BE(offset);
        offset += FRAME_HEADER_BYTES;
        continue;
      }
      this.#header[this.#headerFill++] = chunk[offset++]!;
      if (this.#headerFill === FRAME_HEADER_BYTES) {
        this.#headerFill = 0;
        this.#bodyRemaining = this.#header.readUInt32BE(0);
      }
    }
  }

  /** True between frames. */
  get atBoundary(): boolean {
    return this.#headerFill === 0 && this.#bodyRemaining === 0;
  }

  position(): FramePosition {
    return { header: Buffer.from(this.#header.subarray(0, this.#headerFill)), bodyRemaining: this.#bodyRemaining };
  }
}

export interface FrameSplitterHandlers {
  /** A whole frame, header included; `payload` is a view of it without the header. */
  readonly onFrame: (frame: Buffer, payload: Buffer) => void;
  /** Bytes to forward untouched (an oversized frame, or one already in flight at attach). */
  readonly onRaw: (bytes: Buffer) => void;
}

/**
 * Splits a stream into whole frames; see the module comment for the raw fallback.
 *
 * @example
 * const splitter = new FrameSplitter({ onFrame: (f, p) => push(f), onRaw: push }, 1 << 20);
 * splitter.write(chunk);
 */
export class FrameSplitter {
  readonly #handlers: FrameSplitterHandlers;
  readonly #maxFrameBytes: number;
  readonly #header = Buffer.alloc(FRAME_HEADER_BYTES);
  #headerFill = 0;
  /** Body bytes still expected for the current frame (0 while reading a header). */
  #bodyRemaining = 0;
  /** The current frame is streamed through, not buffered. */
  #raw: boolean;
  #parts: Buffer[] = [];
  #partsBytes = 0;

  constructor(handlers: FrameSplitterHandlers, maxFrameBytes: number, start: FramePosition = FRAME_BOUNDARY) {
    this.#handlers = handlers;
    this.#maxFrameBytes = maxFrameBytes;
    const fill = Math.min(start.header.length, FRAME_HEADER_BYTES);
    start.header.copy(this.#header, 0, 0, fill);
    this.#headerFill = fill;
    this.#bodyRemaining = start.bodyRemaining;
    // Mid-frame at attach: the start of this frame went by before us, so let it pass raw.
    this.#raw = fill > 0 || start.bodyRemaining > 0;
  }

  /** Bytes held for an incomplete frame. */
  get bufferedBytes(): number {
    return this.#raw ? 0 : this.#headerFill + this.#partsBytes;
  }

  write(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#bodyRemaining === 0) {
        offset = this.#readHeader(chunk, offset);
        continue;
      }
      const take = Math.min(this.#bodyRemaining, chunk.length - offset);
      const piece = chunk.subarray(offset, offset + take);
      offset += take;
      this.#bodyRemaining -= take;
      if (this.#raw) {
        this.#handlers.onRaw(piece);
        if (this.#bodyRemaining === 0) this.#raw = false;
        continue;
      }
      this.#parts.push(piece);
      this.#partsBytes += take;
      if (this.#bodyRemaining === 0) this.#emit();
    }
  }

  /** Hands out whatever an incomplete frame holds, raw (end of stream, or the toxic leaving). */
  drain(): void {
    if (this.#raw) return;
    const held = this.#parts;
    const header = this.#headerFill > 0 && held.length === 0 ? Buffer.from(this.#header.subarray(0, this.#headerFill)) : undefined;
    this.#parts = [];
    this.#partsBytes = 0;
    if (header) {
      // Still inside the header: what follows is the rest of that header, so stay in step.
      this.#raw = true;
      this.#handlers.onRaw(header);
      return;
    }
    if (held.length > 0) {
      this.#raw = true;
      for (const part of held) this.#handlers.onRaw(part);
    }
  }

  #readHeader(chunk: Buffer, offset: number): number {
    const wasFill = this.#headerFill;
    const take = Math.min(FRAME_HEADER_BYTES - wasFill, chunk.length - offset);
    chunk.copy(this.#header, wasFill, offset, offset + take);
    this.#headerFill += take;
    if (this.#raw) this.#handlers.onRaw(chunk.subarray(offset, offset + take));
    offset += take;
    if (this.#headerFill < FRAME_HEADER_BYTES) return offset;

    const length = this.#header.readUInt32BE(0);
    this.#headerFill = 0;
    this.#bodyRemaining = length;
    if (this.#raw) {
      if (length === 0) this.#raw = false;
      return offset;
    }
    if (length > this.#maxFrameBytes) {
      // Too large to hold: stream it through untouched and pick up at the next boundary.
      this.#raw = true;
      this.#handlers.onRaw(Buffer.from(this.#header));
      return offset;
    }
    this.#parts = [Buffer.from(this.#header)];
    this.#partsBytes = FRAME_HEADER_BYTES;
    if (length === 0) this.#emit();
    return offset;
  }

  #emit(): void {
    const frame = this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts, this.#partsBytes);
    this.#parts = [];
    this.#partsBytes = 0;
    this.#handlers.onFrame(frame, frame.subarray(FRAME_HEADER_BYTES));
  }
}
