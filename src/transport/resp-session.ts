/**
 * One Redis connection after (and during) its handshake: pipelined commands matched to
 * replies in order, RESP3 pushes, PING probes, `RESET`, and a bounded graceful close.
 *
 *   handshake ──replies ok──▶ open ──close()──▶ closing ──in flight = 0──▶ end ──▶ closed
 *       │                      │                  └── closeTimeoutMs ──▶ destroy ──┘
 *       └── error / abort ─────┴── timeout, bad bytes, peer gone ──▶ destroy ──▶ closed
 *
 * Trade-offs:
 * - Commands are written at once and replies matched FIFO (resp-pipeline.ts). A caller
 *   that gives up keeps its slot, its reply is dropped. A timeout cannot be skipped that
 *   way: it rejects the command with `RequestTimeoutError` AND destroys the connection
 *   (the other waiting commands reject with `ConnectionClosedError`), as ioredis's
 *   `commandTimeout` must. Give blocking commands (`BLPOP 0`) a `timeoutMs`.
 * - Pub/sub (`SUBSCRIBE`…) and `MONITOR` are refused: their replies do not follow command
 *   order (in RESP3 a `SUBSCRIBE` is answered by pushes only), which would desynchronise
 *   every later command. RESP3 pushes that do arrive (client-side caching invalidations)
 *   go to `onPush` listeners and are never matched to a command.
 * - The data path never reaches an actor: `markAlive()` once per inbound chunk. Nothing
 *   thrown while handling bytes escapes the 'data' listener: a bad reply destroys this
 *   connection with `ProtocolError` / `FrameTooLargeError`.
 * - Credentials stay inside the `RespHandshake` (#private); the session's messages name
 *   commands by their first word only, never their arguments.
 */
import { addAbortListener } from 'node:events';
import type { Duplex } from 'node:stream';
import type { SchedulerLike, Subscription } from 'rxjs';
import {
  AbortedError, ConnectionClosedError, HandshakeFailedError, InvalidOptionError, ProtocolError, RemoteError,
} from '../errors.js';
import { encodeCommand, type EncodedCommand, type RespArg } from './resp-encoder.js';
import { serverInfoFromHello, type HandshakeStep, type RespHandshake, type RespServerInfo } from './resp-handshake.js';
import { ReplyKind, RespParser, respRemoteError, type RespReply } from './resp-parser.js';
import { commandName, RespPipeline, unorderedRefusal } from './resp-pipeline.js';
import { RespWriter } from './resp-writer.js';

export interface RespSessionOptions {
  readonly maxBulkBytes: number;
  readonly maxAggregateLength: number;
  readonly returnBuffers: boolean;
  readonly maxQueuedBytes: number;
  /** Default timeout of `command`; 0 disables it. */
  readonly requestTimeoutMs: number;
  readonly closeTimeoutMs: number;
}

export interface CommandOptions {
  /** Overrides `requestTimeoutMs` for this call (integer ≥ 1). Expiry closes the connection. */
  readonly timeoutMs?: number;
  /** Rejects the call with `AbortedError`; the reply is still read and dropped. */
  readonly signal?: AbortSignal;
}

export type RespSessionState = 'handshake' | 'open' | 'closing' | 'closed';

const PING = encodeCommand(['PING'], 4);
const RESET_STEP: HandshakeStep = { label: 'RESET', args: ['RESET'] };

const sessions = new WeakMap<Duplex, RespSession>();
function onData(this: Duplex, chunk: Buffer | string): void {
  sessions.get(this)?.receive(chunk);
}
function onError(this: Duplex, err: Error): void {
  sessions.get(this)?.recordError(err);
}
function onEnd(this: Duplex): void {
  sessions.get(this)?.peerEnded();
}
function onClose(this: Duplex): void {
  sessions.get(this)?.finish();
}
function noop(): void {}

/**
 * A Redis session: pipelined commands, pushes, probes, reset, close.
 *
 * @example
 * const session = await resp({ password }).open(socket, ctx);
 * await session.command(['SET', 'k', 'v']);
 * const [a, b] = await Promise.all([session.command(['GET', 'k']), session.command(['INCR', 'n'])]);
 * await session.close();
 */
export class RespSession {
  readonly #stream: Duplex;
  readonly #scheduler: SchedulerLike;
  readonly #where: string;
  readonly #options: RespSessionOptions;
  readonly #handshake: RespHandshake;
  readonly #markAlive: (() => void) | undefined;
  readonly #parser: RespParser;
  readonly #writer: RespWriter;
  readonly #pipeline: RespPipeline;
  #state: RespSessionState = 'handshake';
  #dead = false;
  #error: Error | undefined;
  #server: RespServerInfo = {};
  #pushListeners: Set<(push: RespReply[]) => void> | undefined;
  #closeListeners: Set<(error: Error | undefined) => void> | undefined;
  #closeTimer: Subscription | undefined;
  #ending = false;
  readonly #closed: Promise<void>;
  #resolveClosed!: () => void;

  /** @internal use `resp().open(stream, ctx)`. */
  constructor(
    stream: Duplex, scheduler: SchedulerLike, where: string, options: RespSessionOptions, handshake: RespHandshake,
    markAlive?: () => void,
  ) {
    this.#stream = stream;
    this.#scheduler = scheduler;
    this.#where = where;
    this.#options = options;
    this.#handshake = handshake;
    this.#markAlive = markAlive;
    this.#closed = new Promise<void>((resolve) => (this.#resolveClosed = resolve));
    this.#parser = new RespParser(this.#onReply.bind(this), options);
    this.#writer = new RespWriter(stream, options.maxQueuedBytes);
    this.#pipeline = new RespPipeline(scheduler, where, options.requestTimeoutMs, (err) => this.destroy(err));
    sessions.set(stream, this);
    stream.on('error', onError);
    stream.on('end', onEnd);
    stream.on('close', onClose);
    stream.on('data', onData);
    if (stream.destroyed) queueMicrotask(() => this.finish());
  }

  get state(): RespSessionState {
    return this.#state;
  }

  /** Commands written and not yet answered (abandoned ones included: their replies are still due). */
  get inFlight(): number {
    return this.#pipeline.size;
  }

  /** 2 or 3, as negotiated. */
  get protocolVersion(): 2 | 3 {
    return this.#handshake.protocolVersion;
  }

  /** What a RESP3 server said in `HELLO` (empty for RESP2). */
  get server(): RespServerInfo {
    return this.#server;
  }

  /** Resolves once the stream is closed (gracefully or not). */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /** @internal runs the handshake; resolves when every step was answered. */
  async hello(signal: AbortSignal): Promise<this> {
    const aborted = (): HandshakeFailedError => new HandshakeFailedError(`handshake with ${this.#where} aborted`, {
      cause: new AbortedError('handshake aborted', { cause: signal.reason }),
    });
    if (signal.aborted) {
      this.destroy();
      throw aborted();
    }
    const off = addAbortListener(signal, () => this.destroy());
    try {
      const steps = this.#handshake.steps();
      // Nothing to negotiate: a PING still proves a Redis answers before we say "ready".
      await this.#runSteps(steps.length > 0 ? steps : [{ label: 'PING', args: ['PING'] }]);
      if (this.#state !== 'handshake') throw new ConnectionClosedError(`connection to ${this.#where} closed during the handshake`);
      this.#state = 'open';
      return this;
    } catch (err) {
      this.destroy();
      if (signal.aborted) throw aborted();
      throw err;
    } finally {
      off[Symbol.dispose]();
    }
  }

  /**
   * Sends one command; resolves with its reply (see docs/resp-protocol.md for the
   * mapping). Rejects with `RemoteError` (an error reply; `cause.code` is its prefix),
   * `RequestTimeoutError` (the connection is then closed), `AbortedError`,
   * `ConnectionClosedError`, `WriteQueueFullError`, `FrameTooLargeError` or
   * `InvalidOptionError` (a bad argument, or a pub/sub command).
   */
  command<T = RespReply>(args: readonly RespArg[], options?: CommandOptions): Promise<T> {
    if (this.#state !== 'open' || this.#dead) return Promise.reject(this.#refusal('command refused'));
    const timeoutMs = options?.timeoutMs;
    if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs < 1)) {
      return Promise.reject(new InvalidOptionError(`command.timeoutMs must be an integer >= 1, got ${String(timeoutMs)}`));
    }
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(new AbortedError(`${commandName(args?.[0])} to ${this.#where} aborted`, { cause: signal.reason }));
    const first = Array.isArray(args) ? args[0] : undefined;
    const unordered = unorderedRefusal(first);
    if (unordered) return Promise.reject(unordered);
    let encoded: EncodedCommand;
    try {
      encoded = encodeCommand(args, this.#options.maxBulkBytes);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return this.#send(encoded, first!, timeoutMs, signal) as Promise<T>;
  }

  /** PING round trip (the protocol's probe). An aborted ping keeps its place in the FIFO. */
  ping(signal?: AbortSignal): Promise<void> {
    if (this.#state !== 'open' || this.#dead) return Promise.reject(this.#refusal('PING refused'));
    if (signal?.aborted) return Promise.reject(new AbortedError(`PING to ${this.#where} aborted`, { cause: signal.reason }));
    // Resolves with "PONG"; typed void, the caller only waits.
    return this.#send(PING, 'PING', undefined, signal) as Promise<unknown> as Promise<void>;
  }

  /**
   * Restores the connection for its next user: `RESET` (Redis ≥ 6.2: leaves MULTI, drops
   * WATCHes, tracking and the name, selects db 0, back to RESP2, de-authenticates), then
   * the handshake again, pipelined. Push listeners are dropped. On failure (no `RESET`
   * on the server: `RemoteError`; re-authentication refused: `HandshakeFailedError`) the
   * connection is destroyed, since its state is unknown.
   */
  async reset(): Promise<void> {
    if (this.#state !== 'open' || this.#dead) throw this.#refusal('reset refused');
    this.#pushListeners = undefined;
    try {
      await this.#runSteps([RESET_STEP, ...this.#handshake.steps()]);
    } catch (err) {
      this.destroy(err as Error);
      throw err;
    }
  }

  /** Subscribes to RESP3 pushes; returns the unsubscribe function. A throwing listener becomes a process warning. */
  onPush(listener: (push: RespReply[]) => void): () => void {
    const listeners = (this.#pushListeners ??= new Set());
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  /** Called once when the stream closed; `error` is set when it died abnormally. */
  onClose(listener: (error: Error | undefined) => void): () => void {
    const listeners = (this.#closeListeners ??= new Set());
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  /**
   * Graceful close: no new commands; waits for the replies in flight, ends the stream and
   * waits for the server to close. After `closeTimeoutMs` it destroys the stream instead.
   * (No `QUIT`: deprecated since Redis 7.2; closing our side is what it did.)
   */
  close(): Promise<void> {
    if (this.#state === 'handshake') this.destroy();
    if (this.#state !== 'open') return this.#closed;
    this.#state = 'closing';
    this.#closeTimer = this.#scheduler.schedule(() => this.destroy(), this.#options.closeTimeoutMs);
    this.#endIfIdle();
    return this.#closed;
  }

  /** `await using session = …` closes gracefully. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Abrupt close: destroys the stream; waiting commands reject with `ConnectionClosedError`. */
  destroy(error?: Error): void {
    this.#dead = true;
    if (error) this.#error ??= error;
    if (!this.#stream.destroyed) this.#stream.destroy(error);
    else this.finish();
  }

  /** Plain data only: no stream, no credentials. */
  toJSON(): { state: RespSessionState; inFlight: number; protocolVersion: 2 | 3; server: RespServerInfo } {
    return { state: this.#state, inFlight: this.inFlight, protocolVersion: this.protocolVersion, server: this.#server };
  }

  /** @internal the stream's 'data' listener. Nothing thrown here escapes it. */
  receive(chunk: Buffer | string): void {
    if (this.#dead) return;
    try {
      this.#parser.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      // After the chunk's replies (see wire-channel.ts): a probe's own reply is not "other traffic".
      this.#markAlive?.();
    } catch (err) {
      this.destroy(err instanceof Error ? err : new ProtocolError('inbound handler failed', { cause: err }));
    }
  }

  /** @internal the stream's 'error' listener: the first error is the one reported. */
  recordError(err: Error): void {
    this.#error ??= err;
  }

  /** @internal the server finished sending: finish our side too (queued commands first). */
  peerEnded(): void {
    if (!this.#ending) {
      this.#ending = true;
      this.#writer.end();
    }
  }

  /** @internal the stream's 'close' listener (also run when built on a destroyed stream). */
  finish(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#dead = true;
    const s = this.#stream;
    s.off('data', onData);
    s.off('end', onEnd);
    s.off('close', onClose);
    // A destroyed socket may still report a late error; it must not become uncaught.
    s.off('error', onError);
    s.on('error', noop);
    sessions.delete(s);
    this.#writer.dispose();
    this.#parser.reset();
    this.#closeTimer?.unsubscribe();
    const error = this.#error;
    this.#pipeline.failAll(error);
    const listeners = this.#closeListeners;
    this.#closeListeners = undefined;
    this.#pushListeners = undefined;
    if (listeners) for (const listener of listeners) {
      try {
        listener(error);
      } catch (err) {
        process.emitWarning(err instanceof Error ? err : new Error(String(err)), 'WirewardenCloseListenerWarning');
      }
    }
    this.#resolveClosed();
  }

  #send(encoded: EncodedCommand, first: RespArg | HandshakeStep, timeoutMs: number | undefined, signal: AbortSignal | undefined): Promise<RespReply> {
    try {
      this.#writer.write(encoded);
    } catch (err) {
      // Nothing was written, so nothing waits for a reply: the FIFO stays in step.
      return Promise.reject(err as Error);
    }
    return this.#pipeline.expect(first, timeoutMs, signal);
  }

  /** Pipelines `steps` and waits for all; throws the first failure in order, redacted. */
  async #runSteps(steps: readonly HandshakeStep[]): Promise<void> {
    const sent = steps.map((step) => {
      let encoded: EncodedCommand;
      try {
        encoded = encodeCommand(step.args, this.#options.maxBulkBytes);
      } catch (err) {
        return Promise.reject(err as Error);
      }
      return this.#send(encoded, step, undefined, undefined);
    });
    const results = await Promise.allSettled(sent);
    for (let i = 0; i < steps.length; i++) {
      const result = results[i]!;
      const step = steps[i]!;
      if (result.status === 'fulfilled') {
        if (step.args[0] === 'HELLO') this.#server = serverInfoFromHello(result.value);
        continue;
      }
      const reason = result.reason as Error;
      if (step === RESET_STEP && reason instanceof RemoteError) throw reason;
      const text = this.#handshake.redact(reason.message);
      const cause = reason instanceof RemoteError ? respRemoteError(text) : reason;
      throw new HandshakeFailedError(`${step.label} failed on ${this.#where}: ${text}`, { cause });
    }
  }

  #refusal(what: string): ConnectionClosedError {
    // Destroyed but not yet closed: the stream's 'close' comes a tick later.
    const state = this.#dead && this.#state !== 'closed' ? 'closing' : this.#state;
    return new ConnectionClosedError(`${what}: session with ${this.#where} is ${state}`, { cause: this.#error });
  }

  #onReply(value: RespReply, kind: ReplyKind): void {
    if (this.#dead) return;
    if (kind === ReplyKind.Push) return this.#deliverPush(value as RespReply[]);
    this.#pipeline.settle(value, kind === ReplyKind.Error);
    if (this.#state === 'closing') this.#endIfIdle();
  }

  #deliverPush(push: RespReply[]): void {
    const listeners = this.#pushListeners;
    if (listeners) for (const listener of listeners) {
      try {
        listener(push);
      } catch (err) {
        process.emitWarning(err instanceof Error ? err : new Error(String(err)), 'WirewardenPushListenerWarning');
      }
    }
  }

  #endIfIdle(): void {
    if (this.#ending || this.#pipeline.size > 0) return;
    this.#ending = true;
    this.#writer.end();
  }
}
