/**
 * The client side of one wire connection, after (and during) the HELLO handshake.
 *
 *   handshake ──HELLO_OK──▶ open ──GOAWAY from server──▶ goaway ─┐
 *                            │                                   ├─ in flight = 0 ──▶ end ──▶ closed
 *                            └──────────── close() ──▶ closing ──┘      (bounded by closeTimeoutMs)
 *
 * Trade-offs:
 * - Requests are pipelined with numeric ids and matched by id, so replies may arrive in
 *   any order. A reply for an id never issued is a `ProtocolError`; a reply for a request
 *   that already timed out or was aborted is dropped silently (it was legitimately late).
 * - Timeouts: calls that use the session default (`requestTimeoutMs`) share ONE timer
 *   (`FifoDeadlines`, expiry late by at most ~1/10 of the timeout, ≤ 1 s); a call that
 *   passes its own `timeoutMs` gets a precise timer of its own. With no timeout at all, a
 *   request costs no timer. All timers run on the injected scheduler.
 * - Per-message work never reaches an actor: the only liveness signal is `markAlive()`,
 *   once per inbound chunk.
 * - The token is only an argument of the handshake; the session never stores it, so it
 *   cannot leak through a snapshot, `JSON.stringify` or an error.
 * - An idle session is small (10k of them are the common case): the request table, the
 *   shared request deadline, listener sets and the `closed` promise are created on first
 *   use, pending pings need no table (ping-table.ts), and the channel calls back through
 *   two bound methods rather than closures.
 */
import { addAbortListener } from 'node:events';
import type { Duplex } from 'node:stream';
import type { SchedulerLike, Subscription } from 'rxjs';
import {
  AbortedError, ConnectionClosedError, GoawayError, HandshakeFailedError, HandshakeRefusedError, ProtocolError,
  RemoteError, RequestTimeoutError, WirewardenError,
} from '../errors.js';
import { invalidDuration, isDurationMs } from '../options.js';
import { FifoDeadlines } from './fifo-deadlines.js';
import { addListener, callLate, callListeners } from './listeners.js';
import { redactSecret } from './redact.js';
import type { FramingPool } from './framing-pool.js';
import { ListenerPing, PingTable, type PendingPing } from './ping-table.js';
import type { ProbeListener } from './types.js';
import { WireChannel } from './wire-channel.js';
import { MessageType, WIRE_VERSION, type RemoteErrorInfo, type WireMessage } from './wire-messages.js';

export interface WireSessionOptions {
  readonly maxFrameBytes: number;
  readonly maxQueuedBytes: number;
  /** Default timeout of `request`; 0 disables it. */
  readonly requestTimeoutMs: number;
  readonly closeTimeoutMs: number;
  /** Decodes big PACKED replies and pushes off the main thread. */
  readonly framing?: FramingPool;
}

export interface RequestOptions extends SendOptions {
  /** Overrides the session's `requestTimeoutMs` for this call (integer ≥ 1). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface SendOptions {
  /**
   * Send as a PACKED frame: self-contained, so the peer may decode it on its framing
   * pool (if it has one and the frame reaches its threshold). For big payloads; it is
   * still encoded here. Default false.
   */
  readonly offload?: boolean;
}

export type WireSessionState = 'handshake' | 'open' | 'goaway' | 'closing' | 'closed';

interface Call {
  readonly resolve: (value: never) => void;
  readonly reject: (err: Error) => void;
  timer: Subscription | undefined;
  abort: Disposable | undefined;
}

/**
 * A wire client session: pipelined requests, one-way messages, pushes, pings.
 *
 * @example
 * const session = await wire({ token }).open(socket, ctx);
 * const user = await session.request({ op: 'getUser', id: 7 }, { timeoutMs: 500 });
 * const report = await session.request({ op: 'import', rows }, { offload: true }); // a PACKED frame
 * session.onPush((payload) => console.log('push', payload));
 * const rttMs = await session.ping();
 * await session.close();
 */
export class WireSession {
  readonly #channel: WireChannel;
  readonly #requestTimedOut: (() => void) | undefined;
  readonly #scheduler: SchedulerLike;
  readonly #where: string;
  readonly #options: WireSessionOptions;
  #calls: Map<number, Call> | undefined;
  readonly #pings: PingTable;
  #deadlines: FifoDeadlines<number> | undefined;
  #pushListeners: Set<(payload: unknown) => void> | undefined;
  #closeListeners: Set<(error: Error | undefined) => void> | undefined;
  /** What the stream closed with, for an `onClose` listener added after that. */
  #closeError: Error | undefined;
  #state: WireSessionState = 'handshake';
  #handshake: Call | undefined;
  /** Kept (private: no inspect, JSON or spread shows it) only to redact it from the server's error texts. */
  #token: string | undefined;
  #lastId = 0;
  #lastPingId = 0;
  #clientId = -1;
  #ending = false;
  #closeTimer: Subscription | undefined;
  #closed: Promise<void> | undefined;
  #resolveClosed: (() => void) | undefined;

  /** @internal use `wire().open(stream, ctx)`. */
  constructor(
    stream: Duplex, scheduler: SchedulerLike, where: string, options: WireSessionOptions, markAlive?: () => void,
    requestTimedOut?: () => void,
  ) {
    this.#requestTimedOut = requestTimedOut;
    this.#scheduler = scheduler;
    this.#where = where;
    this.#options = options;
    this.#pings = new PingTable(where);
    this.#channel = new WireChannel(stream, {
      maxFrameBytes: options.maxFrameBytes,
      maxQueuedBytes: options.maxQueuedBytes,
      onMessage: this.#onMessage.bind(this),
      onChunk: markAlive,
      onClose: this.#onClose.bind(this),
      framing: options.framing,
    });
  }

  get state(): WireSessionState {
    return this.#state;
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.#calls?.size ?? 0;
  }

  /** The id the server gave this connection in HELLO_OK. */
  get clientId(): number {
    return this.#clientId;
  }

  /** Resolves once the stream is closed (gracefully or not). */
  get closed(): Promise<void> {
    return (this.#closed ??= this.#state === 'closed'
      ? Promise.resolve()
      : new Promise<void>((resolve) => (this.#resolveClosed = resolve)));
  }

  /** @internal performs the HELLO handshake; the token is sent, and kept only to redact it. */
  hello(token: string | undefined, signal: AbortSignal): Promise<this> {
    this.#token = token;
    const aborted = (): HandshakeFailedError =>
      new HandshakeFailedError(`handshake with ${this.#where} aborted`, {
        cause: new AbortedError('handshake aborted', { cause: signal.reason }),
      });
    return new Promise<this>((resolve, reject) => {
      if (signal.aborted) {
        reject(aborted());
        this.#channel.destroy();
        return;
      }
      this.#handshake = { resolve: () => resolve(this), reject, timer: undefined, abort: undefined };
      this.#handshake.abort = addAbortListener(signal, () => {
        this.#failHandshake(aborted());
        this.#channel.destroy();
      });
      try {
        this.#channel.send({ type: MessageType.HELLO, version: WIRE_VERSION, token });
      } catch (err) {
        this.#failHandshake(new HandshakeFailedError(`handshake with ${this.#where} failed: could not send HELLO`, { cause: err }));
        this.#channel.destroy();
      }
    });
  }

  /**
   * Sends a request and resolves with the server's reply. Rejects with
   * `RequestTimeoutError`, `AbortedError`, `RemoteError`, `GoawayError` (the server is
   * going away; safe to retry elsewhere), `ConnectionClosedError` or `WriteQueueFullError`.
   * `T` types the reply as the caller knows the server's contract; it is not checked at
   * run time (`request<User>(…)`, as `resp()`'s `command<T>`).
   */
  request<T = unknown>(payload: unknown, options?: RequestOptions): Promise<T> {
    const refusal = this.#refusal('request');
    if (refusal) return Promise.reject(refusal);
    const timeoutMs = options?.timeoutMs;
    if (timeoutMs !== undefined && !isDurationMs(timeoutMs, 1)) return Promise.reject(invalidDuration('request.timeoutMs', timeoutMs, 1));
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(new AbortedError(`request to ${this.#where} aborted`, { cause: signal.reason }));
    const id = ++this.#lastId;
    // Registered before it is sent: a stream that delivers synchronously (an in-memory or
    // simulated transport) may bring the reply back inside `send`.
    const reply = new Promise<unknown>(captureSettlers);
    const call: Call = { resolve: capturedResolve as (v: never) => void, reject: capturedReject, timer: undefined, abort: undefined };
    (this.#calls ??= new Map()).set(id, call);
    if (timeoutMs !== undefined) {
      call.timer = this.#scheduler.schedule(
        () => this.#timedOut(id, new RequestTimeoutError(`request ${id} to ${this.#where} timed out after ${timeoutMs} ms`)),
        timeoutMs,
      );
    } else if (this.#options.requestTimeoutMs > 0) {
      this.#requestDeadlines().add(id);
    }
    if (signal) call.abort = addAbortListener(signal, () => this.#settle(id, new AbortedError(`request ${id} to ${this.#where} aborted`, { cause: signal.reason })));
    try {
      this.#channel.sendWithId(MessageType.REQ, id, payload, options?.offload);
    } catch (err) {
      this.#settle(id, err as Error);
    }
    return reply as Promise<T>;
  }

  /** Sends a one-way message (no reply). Throws when the session cannot send. */
  send(payload: unknown, options?: SendOptions): void {
    const refusal = this.#refusal('message');
    if (refusal) throw refusal;
    this.#channel.send({ type: MessageType.MSG, payload }, options?.offload);
  }

  /** Subscribes to server pushes; returns the unsubscribe function. A throwing listener is reported as a process warning. */
  onPush(listener: (payload: unknown) => void): () => void {
    return addListener((this.#pushListeners ??= new Set()), listener);
  }

  /**
   * Called once when the stream closed; `error` is set when it died abnormally. Added
   * after the session closed, it is called on a microtask with the error it closed with.
   */
  onClose(listener: (error: Error | undefined) => void): () => void {
    if (this.#state === 'closed') return callLate(listener, this.#closeError, 'WirewardenCloseListenerWarning');
    return addListener((this.#closeListeners ??= new Set()), listener);
  }

  /** PING/PONG round trip; resolves with the RTT in ms (on the session's scheduler). */
  ping(signal?: AbortSignal): Promise<number> {
    const refusal = this.#pingRefusal(signal);
    if (refusal) return Promise.reject(refusal);
    let pending!: PendingPing;
    const pong = new Promise<number>((resolve, reject) => {
      pending = { resolve, reject, sentAt: this.#scheduler.now(), signal };
    });
    this.#sendPing(pending);
    return pong;
  }

  /**
   * The same round trip reported to `listener.probeSettled(token, answered)` exactly once
   * (the connection actor's heartbeat: no promise per ping). Answered means a PONG came;
   * a refusal, an abort of `signal` or the end of the session report `false`. A PONG that
   * still comes for the session's last aborted ping goes to `listener.probeAnsweredLate`.
   */
  pingWith(signal: AbortSignal | undefined, listener: ProbeListener, token: number): void {
    if (this.#pingRefusal(signal)) {
      listener.probeSettled(token, false);
      return;
    }
    this.#sendPing(new ListenerPing(listener, token, this.#scheduler.now(), signal));
  }

  #pingRefusal(signal: AbortSignal | undefined): Error | undefined {
    if (this.#state === 'handshake' || this.#state === 'closed' || !this.#channel.writable) {
      return new ConnectionClosedError(`cannot ping ${this.#where}: session is ${this.#state}`);
    }
    if (signal?.aborted) return new AbortedError(`ping to ${this.#where} aborted`, { cause: signal.reason });
    return undefined;
  }

  /** Registered before it is sent: a stream that delivers synchronously may answer inside `send`. */
  #sendPing(pending: PendingPing): void {
    const id = ++this.#lastPingId;
    this.#pings.add(id, pending);
    try {
      if (!this.#channel.sendPing(MessageType.PING, id)) this.#channel.send({ type: MessageType.PING, id });
    } catch (err) {
      this.#pings.take(id)?.reject(err as Error);
    }
  }

  /**
   * Graceful close: sends GOAWAY, lets in-flight requests finish, ends the stream, and
   * waits for the peer to close. After `closeTimeoutMs` it destroys the stream instead.
   */
  close(): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'closing') return this.closed;
    if (this.#state === 'handshake') {
      this.#channel.destroy();
      return this.closed;
    }
    if (this.#state === 'open' && this.#channel.writable) {
      try {
        this.#channel.send({ type: MessageType.GOAWAY, reason: 'client closing' });
      } catch {
        // The peer stops reading; the bounded wait below ends in destroy anyway.
      }
    }
    this.#state = 'closing';
    this.#closeTimer = this.#scheduler.schedule(() => this.#channel.destroy(), this.#options.closeTimeoutMs);
    this.#drainIfIdle();
    return this.closed;
  }

  /** `await using session = …` closes gracefully. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Abrupt close: destroys the stream; pending calls reject with `ConnectionClosedError`. */
  destroy(error?: Error): void {
    this.#channel.destroy(error);
  }

  /** Plain data only: no stream, no token. */
  toJSON(): { clientId: number; state: WireSessionState; inFlight: number } {
    return { clientId: this.#clientId, state: this.#state, inFlight: this.inFlight };
  }

  #requestDeadlines(): FifoDeadlines<number> {
    if (this.#deadlines) return this.#deadlines;
    const { requestTimeoutMs } = this.#options;
    const where = this.#where;
    this.#deadlines = new FifoDeadlines(this.#scheduler, requestTimeoutMs, (id) =>
      this.#timedOut(id, new RequestTimeoutError(`request ${id} to ${where} timed out after ${requestTimeoutMs} ms`)),
    );
    return this.#deadlines;
  }

  /**
   * A request got no reply in time: it fails, and the connection hears of it. While a
   * connection is held it is never probed, so its requests' timeouts are the liveness
   * evidence (ProtocolContext.requestTimedOut).
   */
  #timedOut(id: number, error: RequestTimeoutError): void {
    this.#settle(id, error);
    this.#requestTimedOut?.();
  }

  #refusal(what: string): WirewardenError | undefined {
    switch (this.#state) {
      case 'open':
        return undefined;
      case 'goaway':
        return new GoawayError(`${what} refused: ${this.#where} is going away`);
      default:
        return new ConnectionClosedError(`${what} refused: session with ${this.#where} is ${this.#state}`);
    }
  }

  #onMessage(msg: WireMessage): void {
    switch (msg.type) {
      case MessageType.RES:
      case MessageType.ERR:
        if (msg.id > this.#lastId || this.#state === 'handshake') throw new ProtocolError(`reply to request ${msg.id}, which was never sent`);
        if (msg.type === MessageType.RES) this.#settle(msg.id, undefined, msg.payload);
        else this.#settle(msg.id, remoteError(msg.id, msg.error, this.#where, this.#token));
        return;
      case MessageType.PUSH:
        if (this.#pushListeners) callListeners(this.#pushListeners, msg.payload, 'WirewardenPushListenerWarning');
        return;
      case MessageType.PING:
        if (!this.#channel.sendPing(MessageType.PONG, msg.id)) this.#channel.send({ type: MessageType.PONG, id: msg.id });
        return;
      case MessageType.PONG: {
        const ping = this.#pings.take(msg.id);
        if (ping !== undefined) ping.resolve(this.#scheduler.now() - ping.sentAt);
        else {
          // The answer to a ping aborted before it came (a heartbeat probe that timed out):
          // still a round trip, which the heartbeat's estimator needs to learn a slower path.
          const late = this.#pings.takeLate(msg.id);
          late?.late?.(this.#scheduler.now() - late.sentAt);
        }
        return;
      }
      case MessageType.GOAWAY:
        if (this.#state === 'open') this.#state = 'goaway';
        this.#drainIfIdle();
        return;
      case MessageType.HELLO_OK:
        if (this.#state !== 'handshake') throw new ProtocolError('unexpected HELLO_OK after the handshake');
        if (msg.version !== WIRE_VERSION) {
          this.#failHandshake(new HandshakeRefusedError(`handshake with ${this.#where} refused: the server speaks wire version ${msg.version}, this client ${WIRE_VERSION}`));
          this.#channel.destroy();
          return;
        }
        this.#clientId = msg.clientId;
        this.#state = 'open';
        this.#finishHandshake();
        return;
      case MessageType.HELLO_ERR:
        if (this.#state !== 'handshake') throw new ProtocolError('unexpected HELLO_ERR after the handshake');
        // Our server refuses only what a retry cannot fix: a bad token, an unsupported version.
        this.#failHandshake(new HandshakeRefusedError(`handshake with ${this.#where} refused: ${redactSecret(msg.error.message, this.#token)}`));
        this.#channel.destroy();
        return;
      default:
        throw new ProtocolError(`unexpected message type ${msg.type} from the server`);
    }
  }

  #settle(id: number, error: Error | undefined, value?: unknown): void {
    const calls = this.#calls;
    const call = calls?.get(id);
    if (!call) return;
    calls!.delete(id);
    call.timer?.unsubscribe();
    call.abort?.[Symbol.dispose]();
    this.#deadlines?.delete(id);
    if (error) call.reject(error);
    else call.resolve(value as never);
    if (calls!.size === 0) this.#drainIfIdle();
  }

  #drainIfIdle(): void {
    if (this.#ending || this.inFlight > 0 || (this.#state !== 'goaway' && this.#state !== 'closing')) return;
    this.#ending = true;
    void this.#channel.end();
  }

  #finishHandshake(): void {
    const hs = this.#handshake;
    this.#handshake = undefined;
    hs?.abort?.[Symbol.dispose]();
    hs?.resolve(undefined as never);
  }

  #failHandshake(error: Error): void {
    const hs = this.#handshake;
    this.#handshake = undefined;
    hs?.abort?.[Symbol.dispose]();
    hs?.reject(error);
  }

  #onClose(error: Error | undefined): void {
    const wasHandshake = this.#state === 'handshake';
    this.#state = 'closed';
    this.#closeError = error;
    this.#closeTimer?.unsubscribe();
    this.#deadlines?.clear();
    if (wasHandshake) {
      this.#failHandshake(new HandshakeFailedError(`connection to ${this.#where} closed during the handshake`, { cause: error }));
    }
    const calls = this.#calls;
    this.#calls = undefined;
    if (calls) {
      const n = calls.size;
      for (const [id, call] of calls) {
        call.timer?.unsubscribe();
        call.abort?.[Symbol.dispose]();
        call.reject(new ConnectionClosedError(`connection to ${this.#where} closed with ${n} requests in flight (request ${id})`, { cause: error }));
      }
    }
    for (const ping of this.#pings.clear()) {
      ping.reject(new ConnectionClosedError(`connection to ${this.#where} closed before the PONG`, { cause: error }));
    }
    const closeListeners = this.#closeListeners;
    this.#closeListeners = undefined;
    this.#pushListeners = undefined;
    if (closeListeners) callListeners(closeListeners, error, 'WirewardenCloseListenerWarning');
    this.#resolveClosed?.();
  }
}

/*
 * A request's promise takes its settle functions through this one module function, not
 * a closure per call (the promise is the only allocation a request must make for its
 * caller). The executor runs synchronously inside `new Promise`, so the two slots are
 * read right after, before anything else can run.
 */
let capturedResolve: (value: unknown) => void = () => {};
let capturedReject: (err: Error) => void = () => {};
function captureSettlers(resolve: (value: unknown) => void, reject: (err: Error) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

/** The error of an ERR reply; the server's text and code are redacted of the token. */
function remoteError(id: number, info: RemoteErrorInfo, where: string, token: string | undefined): WirewardenError {
  if (info.code === 'WW_GOAWAY') return new GoawayError(`request ${id} refused: ${where} is going away`);
  const message = redactSecret(info.message, token);
  const cause = Object.assign(new Error(message), info.code === undefined ? {} : { code: redactSecret(info.code, token) });
  return new RemoteError(`request ${id} failed on ${where}: ${message}`, { cause });
}
