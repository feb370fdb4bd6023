/**
 * The server side of one wire client: handshake check, request dispatch, one-way
 * messages, PING/PONG, GOAWAY, and the liveness bookkeeping the server's watchdog reads.
 *
 *   hello ──HELLO ok──▶ ready ──server GOAWAY──▶ goaway ──client ends / timeout──▶ closed
 *     └── bad token / bad version: HELLO_ERR, end ──▶ closed
 *
 * Trade-offs:
 * - Liveness is a counter bumped once per inbound chunk; the watchdog compares it between
 *   sweeps, so the data path never reads a clock.
 * - Handlers run as soon as their REQ is decoded and reply when they settle, so replies
 *   go out in completion order (the client matches them by id). Whatever a handler
 *   throws or rejects with becomes an ERR frame (wire-server-failure.ts describes any
 *   value without throwing), and a returned thenable is adopted by `Promise.resolve`, so
 *   it settles the request once; only a failure to write kills the connection.
 * - Before HELLO is accepted the decoder takes only frames of `maxHandshakeFrameBytes`,
 *   refused from the length header; the full `maxFrameBytes` applies from the frame after
 *   HELLO on. A refused client keeps the small limit until it is gone.
 * - After the server's GOAWAY, requests still in the pipe get `ERR WW_GOAWAY` (never run,
 *   safe to retry elsewhere); requests already running complete normally.
 * - Handlers get one `AbortSignal` per connection (aborted when it closes), not one per
 *   request: the common case costs no allocation.
 * - A handler that returns `offloaded(value)` has its reply sent as a PACKED frame (the
 *   client may decode it on a worker); the check costs one `instanceof` per reply.
 * - At most `maxInFlight` handlers run per client. Past it the connection stops reading
 *   (TCP pushes back on the client) and REQs already decoded wait in a FIFO backlog,
 *   started as running ones settle; the backlog holds at most one read's worth of frames.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SchedulerLike } from 'rxjs';
import { ConnectionClosedError, FrameTooLargeError, HandshakeFailedError, ProtocolError, WriteQueueFullError } from '../errors.js';
import { OffloadedReply } from './framing-offloaded.js';
import { safeInstanceOf } from './safe-instanceof.js';
import type { FramingPool } from './framing-pool.js';
import { WireChannel } from './wire-channel.js';
import { MessageType, WIRE_VERSION, type WireMessage } from './wire-messages.js';
import { describeFailure, warnFailure, type FailureBody } from './wire-server-failure.js';
import { FrameWatch } from './wire-server-watchdog.js';

export interface WireRequestContext {
  /** The server-assigned id of the client connection (also sent in HELLO_OK). */
  readonly clientId: number;
  /** Aborted when the client's connection closes. */
  readonly signal: AbortSignal;
}

export type WireDropReason =
  | 'heartbeat-timeout'
  | 'handshake-timeout'
  | 'handshake-limit'
  | 'frame-timeout'
  | 'auth-failed'
  | 'protocol-error'
  | 'write-queue-full';

/** What a connection needs from its server. */
export interface ConnectionHooks {
  readonly scheduler: SchedulerLike;
  readonly maxFrameBytes: number;
  /** Frame limit until HELLO is accepted (at most `maxFrameBytes`). */
  readonly maxHandshakeFrameBytes: number;
  readonly maxQueuedBytes: number;
  /** Handlers running at once per client; more REQs wait in a backlog, reading stops. */
  readonly maxInFlight: number;
  readonly checkToken: (token: string | undefined) => boolean;
  readonly handler?: (payload: unknown, ctx: WireRequestContext) => unknown;
  readonly onMessage?: (payload: unknown, ctx: WireRequestContext) => unknown;
  readonly onDropped: (conn: WireServerConnection, reason: WireDropReason, error?: Error) => void;
  /** Called once, when HELLO is accepted or the connection closes before that. */
  readonly onHandshakeDone: (conn: WireServerConnection) => void;
  readonly onClosed: (conn: WireServerConnection) => void;
  readonly framing?: FramingPool;
}

export type WireServerConnectionState = 'hello' | 'ready' | 'goaway' | 'closed';

function warn(err: unknown): void {
  warnFailure(err, 'WirewardenHandlerWarning');
}

/** `host:port` of a socket's peer; 'local' for an in-memory stream (server.accept), which has no address. */
export function remoteOf(stream: Duplex): string {
  const peer = stream as Partial<Pick<Socket, 'remoteAddress' | 'remotePort'>>;
  return peer.remoteAddress === undefined ? 'local' : `${peer.remoteAddress}:${String(peer.remotePort)}`;
}

/** Whether a handler's result is a thenable; reading `then` may throw (a getter, a Proxy). */
function isThenable(value: unknown): boolean {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

/** One accepted client. */
export class WireServerConnection {
  readonly id: number;
  readonly remote: string;
  readonly connectedAt: number;
  state: WireServerConnectionState = 'hello';
  inFlight = 0;
  /** REQs decoded while `maxInFlight` handlers ran, oldest first: [id, payload, id, payload…]. */
  #backlog: unknown[] = [];
  #backlogHead = 0;
  /** A backlog drain is on the stack: a synchronous handler's reply must not start another. */
  #draining = false;
  /** Inbound chunks so far; the watchdog diffs it between sweeps. */
  chunks = 0;
  /** Watchdog bookkeeping: `chunks` at the last sweep, and when it last changed. */
  seenChunks = 0;
  lastActiveAt: number;
  /** The server's outstanding PING, if any. */
  probe: { id: number; sentAt: number } | undefined;
  /** The watchdog's clocks for the inbound frame in progress (wire-server-watchdog.ts). */
  readonly frameWatch = new FrameWatch();
  /** Until HELLO is accepted or the connection closes (the server counts these). */
  #handshaking = true;
  readonly #channel: WireChannel;
  readonly #hooks: ConnectionHooks;
  readonly #abort = new AbortController();
  readonly #ctx: WireRequestContext;
  #lastPingId = 0;
  #dropReason: WireDropReason | undefined;

  constructor(id: number, socket: Duplex, hooks: ConnectionHooks) {
    this.id = id;
    this.#hooks = hooks;
    this.remote = remoteOf(socket);
    this.connectedAt = this.lastActiveAt = hooks.scheduler.now();
    this.#ctx = Object.freeze({ clientId: id, signal: this.#abort.signal });
    this.#channel = new WireChannel(socket, {
      maxFrameBytes: hooks.maxFrameBytes,
      maxQueuedBytes: hooks.maxQueuedBytes,
      onChunk: () => void this.chunks++,
      onMessage: (msg) => this.#onMessage(msg),
      onClose: (error) => this.#onClose(error),
      framing: hooks.framing,
    });
    // Before any byte is read ('data' comes on a later tick): only a HELLO-sized frame.
    this.#channel.decoder.limit(Math.min(hooks.maxHandshakeFrameBytes, hooks.maxFrameBytes), 'maxHandshakeFrameBytes');
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  /** Sends a push (PACKED when `offload`); throws `WriteQueueFullError` / `ConnectionClosedError` like any send. */
  push(payload: unknown, offload?: boolean): void {
    this.#channel.send({ type: MessageType.PUSH, payload }, offload);
  }

  /** Sends a heartbeat PING and remembers it. */
  sendProbe(now: number): void {
    const id = ++this.#lastPingId;
    this.probe = { id, sentAt: now };
    this.#send({ type: MessageType.PING, id });
  }

  /** Server is going away: no new requests; running ones complete. */
  goaway(reason: string): void {
    if (this.state !== 'ready') return;
    this.state = 'goaway';
    this.#send({ type: MessageType.GOAWAY, reason });
  }

  pause(): void {
    this.#channel.pause();
  }

  /** Bytes received so far of an inbound frame not yet complete (0 between frames). */
  get partialFrameBytes(): number {
    return this.#channel.decoder.partialFrameBytes;
  }

  /**
   * The server is not reading this client (handlers saturated, paused, frozen): a PONG
   * could not be read, so its silence says nothing about the client.
   */
  get readingHeld(): boolean {
    return this.#channel.stream.isPaused();
  }

  /** Frames fully received so far: a change tells the watchdog a new frame is in progress. */
  get framesDecoded(): number {
    return this.#channel.decoder.framesDecoded;
  }

  /** After a freeze: the silence and stalls it caused are not the client's. */
  forgive(now: number): void {
    this.seenChunks = this.chunks;
    this.lastActiveAt = now;
    this.probe = undefined;
    this.frameWatch.restart();
  }

  resume(): void {
    this.#channel.resume();
  }

  /** Drops the client: the reason is reported once, then the socket is destroyed. */
  drop(reason: WireDropReason, error?: Error): void {
    if (this.state === 'closed') return;
    if (!this.#dropReason) {
      this.#dropReason = reason;
      this.#hooks.onDropped(this, reason, error);
    }
    this.#channel.destroy(error);
  }

  destroy(): void {
    this.#channel.destroy();
  }

  #send(msg: WireMessage): void {
    try {
      this.#channel.send(msg);
    } catch (err) {
      if (safeInstanceOf(err, WriteQueueFullError)) this.drop('write-queue-full', err);
      // ConnectionClosedError: the close path already runs.
    }
  }

  #onMessage(msg: WireMessage): void {
    if (this.#dropReason) return; // refused or dropped: nothing more is served
    if (this.state === 'hello') return this.#onHello(msg);
    switch (msg.type) {
      case MessageType.REQ:
        if (this.state !== 'ready') {
          this.#send({ type: MessageType.ERR, id: msg.id, error: { code: 'WW_GOAWAY', message: 'server is going away' } });
          return;
        }
        if (this.inFlight >= this.#hooks.maxInFlight || this.#backlogHead < this.#backlog.length) {
          this.#backlog.push(msg.id, msg.payload);
          this.#channel.hold(true);
          return;
        }
        this.#runHandler(msg.id, msg.payload);
        return;
      case MessageType.MSG:
        this.#runOneWay(msg.payload);
        return;
      case MessageType.PING:
        this.#send({ type: MessageType.PONG, id: msg.id });
        return;
      case MessageType.PONG:
        if (this.probe?.id === msg.id) this.probe = undefined;
        return;
      case MessageType.GOAWAY:
        // The client closes after its in-flight requests; nothing to stop on our side.
        return;
      default:
        throw new ProtocolError(`unexpected message type ${msg.type} from a client`);
    }
  }

  #onHello(msg: WireMessage): void {
    if (msg.type !== MessageType.HELLO) throw new ProtocolError(`expected HELLO, got message type ${msg.type}`);
    let refusal: string | undefined;
    if (msg.version !== WIRE_VERSION) refusal = `unsupported wire version ${msg.version} (server speaks ${WIRE_VERSION})`;
    else if (!this.#hooks.checkToken(msg.token)) refusal = 'bad token';
    if (refusal) {
      this.#send({ type: MessageType.HELLO_ERR, error: { code: 'WW_HANDSHAKE_FAILED', message: refusal } });
      this.#dropReason = 'auth-failed';
      this.#hooks.onDropped(this, 'auth-failed', new HandshakeFailedError(`client ${this.id} (${this.remote}) refused: ${refusal}`));
      void this.#channel.end();
      return;
    }
    this.state = 'ready';
    this.#channel.decoder.limit(this.#hooks.maxFrameBytes);
    this.#endHandshake();
    this.#send({ type: MessageType.HELLO_OK, version: WIRE_VERSION, clientId: this.id });
  }

  #endHandshake(): void {
    if (!this.#handshaking) return;
    this.#handshaking = false;
    this.#hooks.onHandshakeDone(this);
  }

  /** Starts waiting REQs while there is room; reading restarts once the backlog is empty. */
  #startBacklog(): void {
    const backlog = this.#backlog;
    this.#draining = true;
    try {
      while (this.inFlight < this.#hooks.maxInFlight && this.#backlogHead < backlog.length && this.state !== 'closed') {
        const id = backlog[this.#backlogHead] as number;
        const payload = backlog[this.#backlogHead + 1];
        backlog[this.#backlogHead] = backlog[this.#backlogHead + 1] = undefined;
        this.#backlogHead += 2;
        this.#runHandler(id, payload);
      }
    } finally {
      this.#draining = false;
    }
    if (this.#backlogHead >= backlog.length) {
      this.#backlog = [];
      this.#backlogHead = 0;
      this.#channel.hold(false);
    }
  }

  #runHandler(id: number, payload: unknown): void {
    const handler = this.#hooks.handler;
    if (!handler) {
      this.#send({ type: MessageType.ERR, id, error: { code: 'WW_REMOTE_ERROR', message: 'this server handles no requests' } });
      return;
    }
    this.inFlight++;
    let result: unknown;
    let pending: Promise<unknown> | undefined;
    try {
      result = handler(payload, this.#ctx);
      // A native promise comes back as is; a foreign thenable is adopted, so a `then`
      // that throws, or calls back twice, still settles this request exactly once.
      if (isThenable(result)) pending = Promise.resolve(result);
    } catch (err) {
      this.#reply(id, err, true);
      return;
    }
    if (pending === undefined) {
      this.#reply(id, result, false);
      return;
    }
    pending.then(
      (value) => this.#reply(id, value, false),
      (err: unknown) => this.#reply(id, err, true),
    );
  }

  /**
   * Sends the answer to request `id`. Never throws: it may run in a promise callback,
   * where a throw is an unhandled rejection (the process exits). `value` is the
   * handler's, so nothing here inspects it unguarded: `instanceof` runs a Proxy's
   * `getPrototypeOf` trap, which may throw, and so may whatever encoding it threw.
   */
  #reply(id: number, value: unknown, failed: boolean): void {
    this.inFlight--;
    try {
      if (this.state === 'closed') return;
      if (this.#backlogHead < this.#backlog.length && !this.#draining) this.#startBacklog();
      if (failed) {
        this.#sendError(id, describeFailure(value));
        return;
      }
      this.#sendReply(id, value);
    } catch {
      // Unreachable by design (each step above guards itself); a fixed text, since the
      // value that got here cannot be trusted to describe itself.
      this.#sendError(id, { code: 'WW_PROTOCOL_ERROR', message: 'reply not sent: the reply could not be handled' });
    }
  }

  #sendReply(id: number, value: unknown): void {
    try {
      if (safeInstanceOf(value, OffloadedReply)) this.#channel.send({ type: MessageType.RES, id, payload: value.value }, true);
      else this.#channel.send({ type: MessageType.RES, id, payload: value });
    } catch (err) {
      if (safeInstanceOf(err, WriteQueueFullError)) this.drop('write-queue-full', err);
      else if (!safeInstanceOf(err, ConnectionClosedError)) {
        // Too big, not encodable, or a value whose inspection throws (a Proxy): the
        // client still gets an answer.
        const { code, message } = describeFailure(err);
        this.#sendError(id, { code: code ?? 'WW_PROTOCOL_ERROR', message: `reply not sent: ${message}` });
      }
    }
  }

  #sendError(id: number, error: FailureBody): void {
    this.#send({ type: MessageType.ERR, id, error });
  }

  #runOneWay(payload: unknown): void {
    const onMessage = this.#hooks.onMessage;
    if (!onMessage) return;
    try {
      const r = onMessage(payload, this.#ctx);
      if (isThenable(r)) Promise.resolve(r).then(undefined, warn);
    } catch (err) {
      warn(err);
    }
  }

  #onClose(error: Error | undefined): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.probe = undefined;
    if (error && !this.#dropReason && (safeInstanceOf(error, ProtocolError) || safeInstanceOf(error, FrameTooLargeError))) {
      this.#dropReason = 'protocol-error';
      this.#hooks.onDropped(this, 'protocol-error', error);
    }
    this.#abort.abort();
    this.#endHandshake();
    this.#hooks.onClosed(this);
  }
}
