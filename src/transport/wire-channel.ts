/**
 * One wire connection's byte plumbing, shared by the client session and the server:
 * stream ⇄ frame decoder/writer ⇄ msgpack codec ⇄ validated `WireMessage`s.
 *
 *   'data' ──▶ onChunk() ──▶ FrameDecoder ──▶ codec.decode ──▶ parseWireMessage ──▶ onMessage
 *                                    └─ PACKED ──▶ inline unpack, or framing pool ──▶ (in order) ─┘
 *   send(msg) ──▶ toWire ──▶ codec.encodeFramed ──▶ FrameWriter ──▶ stream
 *   send(msg, true) ──▶ toWire ──▶ packPacked (self-contained) ──┘
 *
 * Trade-offs:
 * - Nothing thrown while handling inbound bytes escapes the 'data' listener: a bad frame,
 *   an oversized length or a failing handler destroys this stream with that error
 *   (`ProtocolError`, `FrameTooLargeError`, …), which kills only this connection
 *   (stream-events.ts, shared with the RESP session).
 * - The channel reports its end exactly once, through `onClose(error?)`, after the stream
 *   closed; listeners are removed and the writer's queue is dropped then, so a closed
 *   channel holds no reference the stream could call back into.
 * - Heartbeats are the bulk of an idle connection's traffic: PING/PONG are encoded and
 *   recognised by hand (ping-frames.ts), and the handshake and GOAWAY by a throwaway
 *   encoder (the peer's handshake by a throwaway decoder), so a connection that only
 *   heartbeats keeps neither a msgpack encoder nor a decoder.
 * - The stream listeners are the module functions of stream-events.ts, shared by every
 *   channel and RESP session, not closures per connection.
 * - Framing offload (docs/transport.md): a PACKED frame whose inner reaches the framing
 *   pool's threshold is decoded on a worker; frames behind it wait in a per-connection
 *   `FramingOrder`, created at the first offload, so messages are still handled in the
 *   order they arrived. While more than `maxQueuedBytes` wait, the stream is paused. A
 *   connection that never offloads pays one field check per frame. PACKED frames are
 *   sent encoded on this thread: handing a value to a worker costs more here than
 *   encoding it (bench/framing.ts), and the write stays synchronous.
 */
import type { Duplex } from 'node:stream';
import { FRAME_HEADER_BYTES, FrameDecoder } from './frame-decoder.js';
import { FrameWriter } from './frame-writer.js';
import { FramingOrder } from './framing-order.js';
import { packedMessage, packPacked, parsePackedFrame, unpackInner } from './framing-packed.js';
import type { FramingPool } from './framing-pool.js';
import { MsgpackCodec } from './msgpack-codec.js';
import { encodePingPayload, parsePingPayload, type PingType } from './ping-frames.js';
import { MessageType, parseWireMessage, toWire, type WireMessage } from './wire-messages.js';
import { ProtocolError } from '../errors.js';
import { attachStreamEvents, detachStreamEvents } from './stream-events.js';
import { describeFailure } from './wire-server-failure.js';

export interface WireChannelOptions {
  readonly maxFrameBytes: number;
  readonly maxQueuedBytes: number;
  /** Called with every valid inbound message, in order. May throw: the stream dies. */
  readonly onMessage: (msg: WireMessage) => void;
  /** Called once per inbound chunk (liveness; must be cheap). */
  readonly onChunk?: () => void;
  /** Called once, after the stream closed; `error` when it died abnormally. */
  readonly onClose: (error: Error | undefined) => void;
  /** Decodes big inbound PACKED frames off the main thread. Default: all inline. */
  readonly framing?: FramingPool;
}

/** @internal A framed msgpack message channel over one stream. */
export class WireChannel {
  readonly stream: Duplex;
  readonly #decoder: FrameDecoder;
  readonly #writer: FrameWriter;
  readonly #codec = new MsgpackCodec();
  readonly #onMessage: (msg: WireMessage) => void;
  readonly #onChunk: (() => void) | undefined;
  readonly #onClose: (error: Error | undefined) => void;
  readonly #framing: FramingPool | undefined;
  readonly #maxQueuedBytes: number;
  /** Inbound messages waiting behind an offloaded decode; created at the first offload. */
  #inbound: FramingOrder<WireMessage> | undefined;
  /** `pause()` was called (a frozen server): backpressure relief must not resume. */
  #pausedByOwner = false;
  /** The consumer is saturated (`hold(true)`, e.g. too many handlers running). */
  #heldByConsumer = false;
  #error: Error | undefined;
  #closed = false;
  /** Whether the peer's handshake frame (its first frame other than a ping) arrived. */
  #greeted = false;

  constructor(stream: Duplex, options: WireChannelOptions) {
    this.stream = stream;
    this.#onMessage = options.onMessage;
    this.#onChunk = options.onChunk;
    this.#onClose = options.onClose;
    this.#framing = options.framing;
    this.#maxQueuedBytes = options.maxQueuedBytes;
    this.#decoder = new FrameDecoder(this.#onFrame.bind(this), { maxFrameBytes: options.maxFrameBytes });
    this.#writer = new FrameWriter(stream, { maxFrameBytes: options.maxFrameBytes, maxQueuedBytes: options.maxQueuedBytes });
    attachStreamEvents(stream, this);
  }

  /** @internal the stream's 'data' listener (stream-events.ts: a throw destroys the stream). */
  receive(chunk: Buffer): void {
    if (this.#closed || this.stream.destroyed) return;
    this.#decoder.push(chunk);
    // After the chunk's frames: a PONG in it has settled its probe by now, so the
    // connection sees "traffic while probing" only for other bytes.
    this.#onChunk?.();
  }

  /** @internal the stream's 'error' listener: the first error is the one `onClose` reports. */
  recordError(err: Error): void {
    this.#error ??= err;
  }

  /** @internal the peer finished sending: finish our side once queued frames are out. */
  peerEnded(): void {
    void this.end();
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

  /** The inbound frame decoder: a server narrows its limit before the handshake and watches partial frames. */
  get decoder(): FrameDecoder {
    return this.#decoder;
  }

  /**
   * Sends one message. Throws `WriteQueueFullError`, `FrameTooLargeError`,
   * `ConnectionClosedError`, or `ProtocolError` for a value msgpack cannot encode (a
   * symbol, a BigInt over 64 bits). On a throw nothing was sent and the encoder was
   * resynchronised (see MsgpackCodec).
   *
   * `packed` (for REQ, RES, ERR, MSG, PUSH) sends it as a PACKED frame instead: self-
   * contained, so the peer may decode it on a worker. It leaves the record encoder alone.
   */
  send(msg: WireMessage, packed?: boolean): void {
    if (msg.type === MessageType.PING || msg.type === MessageType.PONG) {
      if (this.sendPing(msg.type, msg.id)) return;
    }
    const plain = packed === true ? undefined : plainFrame(msg, this.#codec);
    if (plain !== undefined) this.#writer.write(plain);
    else this.#sendWire(toWire(msg), packed);
  }

  /**
   * `send` of a REQ or RES without the message object: `[type, id, payload]` goes to the
   * encoder as is (a request's hot path). Same errors as `send`.
   */
  sendWithId(type: typeof MessageType.REQ | typeof MessageType.RES, id: number, payload: unknown, packed?: boolean): void {
    this.#sendWire([type, id, payload], packed);
  }

  /** Encodes and writes one message in its wire form (not a heartbeat or one-off). */
  #sendWire(wire: unknown[], packed: boolean | undefined): void {
    if (packed === true) {
      this.#writer.write(packPacked(wire));
      return;
    }
    let frame: Buffer;
    try {
      // Encoded behind room for its header: the writer sends it without a copy.
      frame = this.#codec.encodeFramed(wire);
    } catch (err) {
      // A half-encoded value may have registered record shapes the peer will never see.
      this.#codec.resetEncoder();
      // What the payload's own getters threw: described without trusting it.
      const text = describeFailure(err).message;
      throw new ProtocolError(`payload cannot be encoded as msgpack: ${text.slice(0, 120)}`, { cause: err });
    }
    try {
      this.#writer.writeFrame(frame);
    } catch (err) {
      this.#codec.resetEncoder();
      throw err;
    }
  }

  /**
   * A PING or PONG encoded in place behind its frame header (one buffer, no message
   * object, no codec). False when the id needs the codec (then use `send`).
   */
  sendPing(type: PingType, id: number): boolean {
    const frame = encodePingPayload(type, id, FRAME_HEADER_BYTES);
    if (frame === undefined) return false;
    this.#writer.writeFramed(frame);
    return true;
  }

  /** Flushes queued frames, then ends our side of the stream. */
  end(): Promise<void> {
    return this.#writer.end();
  }

  /** Pauses reading (a frozen server); bytes stay in the kernel buffers. */
  pause(): void {
    this.#pausedByOwner = true;
    this.stream.pause();
  }

  resume(): void {
    this.#pausedByOwner = false;
    this.#maybeResume();
  }

  /**
   * Stops (true) or restarts (false) reading because the consumer is saturated. Separate
   * from `pause()`, so a frozen server stays frozen when its consumer frees up, and a
   * thawed one stays held while its consumer is still busy.
   */
  hold(held: boolean): void {
    if (this.#heldByConsumer === held) return;
    this.#heldByConsumer = held;
    if (held) this.stream.pause();
    else this.#maybeResume();
  }

  #maybeResume(): void {
    if (!this.#pausedByOwner && !this.#heldByConsumer && !this.#inbound?.paused && !this.#closed) this.stream.resume();
  }

  /** Destroys the stream; `onClose` follows with `error`. */
  destroy(error?: Error): void {
    if (error) this.#error ??= error;
    if (!this.stream.destroyed) this.stream.destroy(error);
    else this.finish();
  }

  #onFrame(frame: Buffer): void {
    if (this.#closed || this.stream.destroyed) return;
    const ping = parsePingPayload(frame);
    if (ping !== undefined) return this.#deliver(ping, frame.length);
    let value: unknown;
    if (this.#greeted) {
      // Before the handshake a PACKED frame takes the path below and fails validation.
      const inner = parsePackedFrame(frame);
      if (inner !== undefined) return this.#onPacked(inner, frame.length);
      value = this.#codec.decode(frame);
    } else {
      // The handshake is self-contained (msgpack-codec.ts): no decoder is kept for it.
      this.#greeted = true;
      value = this.#codec.decodeOneOff(frame);
    }
    this.#deliver(parseWireMessage(value), frame.length);
  }

  /** Hands a message on at once, unless earlier ones still wait for a worker. */
  #deliver(msg: WireMessage, bytes: number): void {
    const inbound = this.#inbound;
    if (inbound === undefined || inbound.idle) this.#onMessage(msg);
    else inbound.push(msg, bytes);
  }

  #onPacked(inner: Uint8Array, bytes: number): void {
    const framing = this.#framing;
    if (framing !== undefined && framing.shouldOffload(inner.length)) {
      // `decode` copies `inner` before returning: the socket chunk is not retained.
      (this.#inbound ??= this.#createInbound()).pushPending(framing.decode(inner).then(packedMessage), bytes);
      return;
    }
    this.#deliver(packedMessage(unpackInner(inner, this.#codec.packedLedger)), bytes);
  }

  #createInbound(): FramingOrder<WireMessage> {
    return new FramingOrder<WireMessage>({
      // Delivered from a promise callback: a throw here goes to onError, not the stream.
      deliver: (msg) => {
        if (!this.#closed && !this.stream.destroyed) this.#onMessage(msg);
      },
      onError: (err) => this.destroy(err),
      highWaterBytes: this.#maxQueuedBytes,
      onPressure: (paused) => {
        if (paused) this.stream.pause();
        else this.#maybeResume();
      },
    });
  }

  /** @internal the stream's 'close' listener (also run when built on a destroyed stream). */
  finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    detachStreamEvents(this.stream);
    this.#writer.dispose();
    this.#decoder.reset();
    // Messages still waiting for a worker are dropped, like replies to calls in flight.
    this.#inbound?.clear();
    this.#onClose(this.#error);
  }
}

/**
 * The payload of a message that carries no user data, encoded without the connection's
 * record encoder (heartbeats by hand, one-off messages by a throwaway one); `undefined`
 * for the rest. These hold only numbers and short strings, so encoding them cannot fail.
 */
function plainFrame(msg: WireMessage, codec: MsgpackCodec): Buffer | undefined {
  switch (msg.type) {
    case MessageType.PING:
    case MessageType.PONG:
      return encodePingPayload(msg.type, msg.id);
    case MessageType.HELLO:
    case MessageType.HELLO_OK:
    case MessageType.HELLO_ERR:
    case MessageType.GOAWAY:
      return codec.encodeOneOff(toWire(msg));
    default:
      return undefined;
  }
}
