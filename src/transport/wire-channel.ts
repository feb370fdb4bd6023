/**
 * One wire connection's byte plumbing, shared by the client session and the server:
 * stream ⇄ frame decoder/writer ⇄ msgpack codec ⇄ validated `WireMessage`s.
 *
 *   'data' ──▶ onChunk() ──▶ FrameDecoder ──▶ codec.decode ──▶ parseWireMessage ──▶ onMessage
 *   send(msg) ──▶ toWire ──▶ codec.encode ──▶ FrameWriter ──▶ stream
 *
 * Trade-offs:
 * - Nothing thrown while handling inbound bytes escapes the 'data' listener: a bad frame,
 *   an oversized length or a failing handler destroys this stream with that error
 *   (`ProtocolError`, `FrameTooLargeError`, …), which kills only this connection.
 * - The channel reports its end exactly once, through `onClose(error?)`, after the stream
 *   closed; listeners are removed and the writer's queue is dropped then, so a closed
 *   channel holds no reference the stream could call back into.
 */
import type { Duplex } from 'node:stream';
import { FrameDecoder } from './frame-decoder.js';
import { FrameWriter } from './frame-writer.js';
import { MsgpackCodec } from './msgpack-codec.js';
import { parseWireMessage, toWire, type WireMessage } from './wire-messages.js';
import { ProtocolError } from '../errors.js';

export interface WireChannelOptions {
  readonly maxFrameBytes: number;
  readonly maxQueuedBytes: number;
  /** Called with every valid inbound message, in order. May throw: the stream dies. */
  readonly onMessage: (msg: WireMessage) => void;
  /** Called once per inbound chunk (liveness; must be cheap). */
  readonly onChunk?: () => void;
  /** Called once, after the stream closed; `error` when it died abnormally. */
  readonly onClose: (error: Error | undefined) => void;
}

/** @internal A framed msgpack message channel over one stream. */
export class WireChannel {
  readonly stream: Duplex;
  readonly #decoder: FrameDecoder;
  readonly #writer: FrameWriter;
  readonly #codec = new MsgpackCodec();
  readonly #options: WireChannelOptions;
  #error: Error | undefined;
  #closed = false;

  readonly #onData = (chunk: Buffer | string): void => {
    if (this.#closed || this.stream.destroyed) return;
    try {
      this.#options.onChunk?.();
      this.#decoder.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    } catch (err) {
      this.destroy(err instanceof Error ? err : new ProtocolError('inbound handler failed', { cause: err }));
    }
  };
  readonly #onError = (err: Error): void => {
    this.#error ??= err;
  };
  readonly #onEnd = (): void => {
    // The peer finished sending; finish our side once queued frames are out.
    void this.#writer.end();
  };
  readonly #onClose = (): void => this.#finish();

  constructor(stream: Duplex, options: WireChannelOptions) {
    this.stream = stream;
    this.#options = options;
    this.#decoder = new FrameDecoder((frame) => this.#onFrame(frame), { maxFrameBytes: options.maxFrameBytes });
    this.#writer = new FrameWriter(stream, { maxFrameBytes: options.maxFrameBytes, maxQueuedBytes: options.maxQueuedBytes });
    stream.on('error', this.#onError);
    stream.on('end', this.#onEnd);
    stream.on('close', this.#onClose);
    stream.on('data', this.#onData);
    if (stream.destroyed) queueMicrotask(() => this.#finish());
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Whether `send` can still succeed. */
  get writable(): boolean {
    return !this.#closed && this.#writer.writable;
  }

  get queuedBytes(): number {
    return this.#writer.queuedBytes;
  }

  /**
   * Sends one message. Throws `WriteQueueFullError`, `FrameTooLargeError`,
   * `ConnectionClosedError`, or `ProtocolError` for a value msgpack cannot encode (a
   * symbol, a BigInt over 64 bits). On a throw nothing was sent and the encoder was
   * resynchronised (see MsgpackCodec).
   */
  send(msg: WireMessage): void {
    let frame: Buffer;
    try {
      frame = this.#codec.encode(toWire(msg));
    } catch (err) {
      // A half-encoded value may have registered record shapes the peer will never see.
      this.#codec.resetEncoder();
      const text = err instanceof Error ? err.message : String(err);
      throw new ProtocolError(`payload cannot be encoded as msgpack: ${text.slice(0, 120)}`, { cause: err });
    }
    try {
      this.#writer.write(frame);
    } catch (err) {
      this.#codec.resetEncoder();
      throw err;
    }
  }

  /** Flushes queued frames, then ends our side of the stream. */
  end(): Promise<void> {
    return this.#writer.end();
  }

  /** Pauses reading (a frozen server); bytes stay in the kernel buffers. */
  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  /** Destroys the stream; `onClose` follows with `error`. */
  destroy(error?: Error): void {
    if (error) this.#error ??= error;
    if (!this.stream.destroyed) this.stream.destroy(error);
    else this.#finish();
  }

  #onFrame(frame: Buffer): void {
    if (this.#closed || this.stream.destroyed) return;
    this.#options.onMessage(parseWireMessage(this.#codec.decode(frame)));
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    const s = this.stream;
    s.off('data', this.#onData);
    s.off('end', this.#onEnd);
    s.off('close', this.#onClose);
    // Keep a no-op error listener: a destroyed socket may still report a late error.
    s.off('error', this.#onError);
    s.on('error', noop);
    this.#writer.dispose();
    this.#decoder.reset();
    this.#options.onClose(this.#error);
  }
}

function noop(): void {}
