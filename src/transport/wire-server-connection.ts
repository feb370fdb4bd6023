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
 *   go out in completion order (the client matches them by id). A throwing or rejecting
 *   handler becomes an ERR frame; only a failure to write kills the connection.
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
import { FrameTooLargeError, HandshakeFailedError, ProtocolError, WriteQueueFullError } from '../errors.js';
import { OffloadedReply } from './framing-offloaded.js';
import type { FramingPool } from './framing-pool.js';
import { WireChannel } from './wire-channel.js';
import { MessageType, WIRE_VERSION, type WireMessage } from './wire-messages.js';

export interface WireRequestContext {
  /** The server-assigned id of the client connection (also sent in HELLO_OK). */
  readonly clientId: number;
  /** Aborted when the client's connection closes. */
  readonly signal: AbortSignal;
}

export type WireDropReason = 'heartbeat-timeout' | 'handshake-timeout' | 'auth-failed' | 'protocol-error' | 'write-queue-full';

/** @internal what a connection needs from its server. */
export interface ConnectionHooks {
  readonly scheduler: SchedulerLike;
  readonly maxFrameBytes: number;
  readonly maxQueuedBytes: number;
  /** Handlers running at once per client; more REQs wait in a backlog, reading stops. */
  readonly maxInFlight: number;
  readonly checkToken: (token: string | undefined) => boolean;
  readonly handler?: (payload: unknown, ctx: WireRequestContext) => unknown;
  readonly onMessage?: (payload: unknown, ctx: WireRequestContext) => unknown;
  readonly onDropped: (conn: WireServerConnection, reason: WireDropReason, error?: Error) => void;
  readonly onClosed: (conn: WireServerConnection) => void;
  readonly framing?: FramingPool;
}

export type WireServerConnectionState = 'hello' | 'ready' | 'goaway' | 'closed';

function warn(err: unknown): void {
  process.emitWarning(err instanceof Error ? err : new Error(String(err)), 'WirewardenHandlerWarning');
}

/** @internal one accepted client. */
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
  readonly #channel: WireChannel;
  readonly #hooks: ConnectionHooks;
  readonly #abort = new AbortController();
  readonly #ctx: WireRequestContext;
  #lastPingId = 0;
  #dropReason: WireDropReason | undefined;

  constructor(id: number, socket: Duplex, hooks: ConnectionHooks) {
    this.id = id;
    this.#hooks = hooks;
    // A net.Socket names its peer; an in-memory stream (server.accept) has no address.
    const peer = socket as Partial<Pick<Socket, 'remoteAddress' | 'remotePort'>>;
    this.remote = peer.remoteAddress === undefined ? 'local' : `${peer.remoteAddress}:${String(peer.remotePort)}`;
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
      if (err instanceof WriteQueueFullError) this.drop('write-queue-full', err);
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
    this.#send({ type: MessageType.HELLO_OK, version: WIRE_VERSION, clientId: this.id });
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
    try {
      result = handler(payload, this.#ctx);
    } catch (err) {
      this.#reply(id, err, true);
      return;
    }
    if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') {
      (result as PromiseLike<unknown>).then(
        (value) => this.#reply(id, value, false),
        (err: unknown) => this.#reply(id, err, true),
      );
    } else {
      this.#reply(id, result, false);
    }
  }

  #reply(id: number, value: unknown, failed: boolean): void {
    this.inFlight--;
    if (this.state === 'closed') return;
    if (this.#backlogHead < this.#backlog.length && !this.#draining) this.#startBacklog();
    if (failed) {
      const code = (value as { code?: unknown } | undefined)?.code;
      const message = value instanceof Error ? value.message : String(value);
      this.#send({ type: MessageType.ERR, id, error: typeof code === 'string' ? { code, message } : { message } });
      return;
    }
    try {
      if (value instanceof OffloadedReply) this.#channel.send({ type: MessageType.RES, id, payload: value.value }, true);
      else this.#channel.send({ type: MessageType.RES, id, payload: value });
    } catch (err) {
      if (err instanceof FrameTooLargeError || err instanceof ProtocolError) {
        // The reply is too big or not encodable: the client still gets an answer.
        this.#send({ type: MessageType.ERR, id, error: { code: err.code, message: `reply not sent: ${err.message}` } });
      } else if (err instanceof WriteQueueFullError) {
        this.drop('write-queue-full', err);
      }
    }
  }

  #runOneWay(payload: unknown): void {
    const onMessage = this.#hooks.onMessage;
    if (!onMessage) return;
    try {
      const r = onMessage(payload, this.#ctx);
      if (typeof (r as PromiseLike<unknown> | undefined)?.then === 'function') (r as PromiseLike<unknown>).then(undefined, warn);
    } catch (err) {
      warn(err);
    }
  }

  #onClose(error: Error | undefined): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.probe = undefined;
    if (error && !this.#dropReason && (error instanceof ProtocolError || error instanceof FrameTooLargeError)) {
      this.#dropReason = 'protocol-error';
      this.#hooks.onDropped(this, 'protocol-error', error);
    }
    this.#abort.abort();
    this.#hooks.onClosed(this);
  }
}
