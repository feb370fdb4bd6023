/**
 * Streaming decoder for `u32 big-endian length | payload` frames.
 *
 *   chunk ──▶ [header: 0-4 bytes kept] ──▶ length checked ──▶ [body parts] ──▶ onFrame(payload)
 *
 * Trade-offs:
 * - The declared length is checked against `maxFrameBytes` as soon as the 4 header bytes
 *   are known, before any body byte is buffered: a hostile length is a `FrameTooLargeError`
 *   on the header alone, never an allocation.
 * - A frame that lies wholly inside one chunk is handed out as a `subarray` of that chunk
 *   (no copy). Node sockets allocate a fresh buffer per read, so the view stays valid; a
 *   caller that feeds reused buffers must copy in `onFrame`.
 * - A frame split across chunks is collected as a list of views and concatenated once when
 *   complete, so memory grows with the bytes actually received, not with the length a
 *   peer merely declares (a peer that announces 16 MiB and sends 1 byte costs 1 byte).
 * - An idle decoder holds no buffer: a header split across chunks is accumulated in a
 *   number, and the list of parts exists only while a split frame does. One decoder per
 *   connection, so at 10k idle connections this is what stays small.
 * - The limit can change between frames (`limit()`): a server accepts only a HELLO-sized
 *   frame before the handshake and its full `maxFrameBytes` after. It is read at each
 *   header, so a frame already announced keeps the limit it was checked against.
 * - `partialFrameBytes` and `framesDecoded` let an owner's periodic check see a frame
 *   that stays incomplete (a peer trickling bytes) without the decoder reading a clock:
 *   the data path pays one counter increment per frame.
 */
import { FrameTooLargeError } from '../errors.js';

/** 16 MiB: the default ceiling on one frame's payload. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** Bytes of the length prefix. */
export const FRAME_HEADER_BYTES = 4;

const EMPTY = Buffer.alloc(0);

export interface FrameDecoderOptions {
  /** Largest accepted payload; larger declared lengths throw `FrameTooLargeError`. Default 16 MiB. */
  readonly maxFrameBytes?: number;
}

/**
 * Splits a byte stream into length-prefixed frames.
 *
 * `push` throws `FrameTooLargeError` (or whatever `onFrame` throws); after a throw the
 * decoder's position in the stream is lost, so the owner should close the connection.
 *
 * @example
 * const decoder = new FrameDecoder((payload) => handle(payload), { maxFrameBytes: 1 << 20 });
 * socket.on('data', (chunk: Buffer) => {
 *   try { decoder.push(chunk); } catch (err) { socket.destroy(err as Error); }
 * });
 */
export class FrameDecoder {
  #maxFrameBytes: number;
  /** The option the limit comes from, named in the error (`maxFrameBytes`, `maxHandshakeFrameBytes`). */
  #limitName = 'maxFrameBytes';
  #framesDecoded = 0;
  readonly #onFrame: (payload: Buffer) => void;
  /** Header bytes seen so far of a header split across chunks, big-endian in a number. */
  #header = 0;
  #headerFill = 0;
  /** Declared length of the frame being read, or -1 while reading a header. */
  #expected = -1;
  #parts: Buffer[] | undefined = undefined;
  #partsBytes = 0;

  constructor(onFrame: (payload: Buffer) => void, options?: FrameDecoderOptions) {
    this.#maxFrameBytes = checkedLimit(options?.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES, 'maxFrameBytes');
    this.#onFrame = onFrame;
  }

  /** Largest accepted payload; a larger declared length throws `FrameTooLargeError`. */
  get maxFrameBytes(): number {
    return this.#maxFrameBytes;
  }

  /**
   * Changes the largest accepted payload from the next frame header on; `name` is the
   * option the error message names. Safe to call from `onFrame`.
   */
  limit(maxFrameBytes: number, name = 'maxFrameBytes'): void {
    this.#maxFrameBytes = checkedLimit(maxFrameBytes, name);
    this.#limitName = name;
  }

  /** Bytes held for an incomplete frame (header and body). */
  get bufferedBytes(): number {
    return this.#headerFill + this.#partsBytes;
  }

  /**
   * Bytes received so far of a frame not yet complete, its header included (a header
   * announcing a length counts 4 even before a body byte); 0 between frames.
   */
  get partialFrameBytes(): number {
    return this.#expected >= 0 ? FRAME_HEADER_BYTES + this.#partsBytes : this.#headerFill;
  }

  /** Frames completed so far: a change between two looks means the stream moved on. */
  get framesDecoded(): number {
    return this.#framesDecoded;
  }

  /** Feeds one chunk; calls `onFrame` for every frame it completes, in order. */
  push(chunk: Buffer): void {
    let offset = 0;
    const end = chunk.length;
    while (offset < end) {
      if (this.#expected < 0) {
        let length: number;
        if (this.#headerFill === 0 && end - offset >= FRAME_HEADER_BYTES) {
          length = chunk.readUInt32BE(offset);
          offset += FRAME_HEADER_BYTES;
        } else {
          while (this.#headerFill < FRAME_HEADER_BYTES && offset < end) {
            // Multiplication, not `<<`: a u32 would overflow a signed 32-bit shift.
            this.#header = this.#header * 256 + chunk[offset++]!;
            this.#headerFill++;
          }
          if (this.#headerFill < FRAME_HEADER_BYTES) return;
          length = this.#header;
          this.#header = 0;
          this.#headerFill = 0;
        }
        if (length > this.#maxFrameBytes) {
          throw new FrameTooLargeError(`frame of ${length} bytes exceeds ${this.#limitName} ${this.#maxFrameBytes}`);
        }
        if (length === 0) {
          this.#framesDecoded++;
          this.#onFrame(EMPTY);
          continue;
        }
        this.#expected = length;
        continue;
      }

      const available = end - offset;
      if (this.#partsBytes === 0 && available >= this.#expected) {
        const frame = chunk.subarray(offset, offset + this.#expected);
        offset += this.#expected;
        this.#expected = -1;
        this.#framesDecoded++;
        this.#onFrame(frame);
        continue;
      }

      const take = Math.min(available, this.#expected - this.#partsBytes);
      (this.#parts ??= []).push(chunk.subarray(offset, offset + take));
      this.#partsBytes += take;
      offset += take;
      if (this.#partsBytes === this.#expected) {
        const frame = Buffer.concat(this.#parts!, this.#expected);
        this.#parts = undefined;
        this.#partsBytes = 0;
        this.#expected = -1;
        this.#framesDecoded++;
        this.#onFrame(frame);
      }
    }
  }

  /** Drops any partial frame (after an error, or to reuse the decoder on a new stream). */
  reset(): void {
    this.#header = 0;
    this.#headerFill = 0;
    this.#expected = -1;
    this.#parts = undefined;
    this.#partsBytes = 0;
  }
}

function checkedLimit(max: number, name: string): number {
  if (!Number.isInteger(max) || max < 0 || max > 0xffffffff) {
    throw new RangeError(`${name} must be an integer in [0, 4294967295], got ${String(max)}`);
  }
  return max;
}
