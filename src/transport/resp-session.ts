/**
 * One Redis connection after (and during) its handshake: pipelined commands matched to
 * replies in order, RESP3 pushes, PING probes, `RESET`, and a bounded graceful close.
 *
 *   handshake ──replies ok──▶ open ──close()──▶ closing ──in flight = 0──▶ end ──▶ closed
 *       │                      │                  └── closeTimeoutMs ──▶ destroy ──┘
 *       └── error / abort ─────┴── timeout, bad bytes, peer gone ──▶ destroy ──▶ closed
 *
 * Trade-offs:
 * - Commands are written at once (behind a slow server they wait in order, resp-writer.ts)
 *   and replies matched FIFO (resp-pipeline.ts). A caller that gives up keeps its slot, its
 *   reply is dropped. A timeout cannot be skipped that way: it rejects the command with
 *   `RequestTimeoutError` AND destroys the connection (the other waiting commands reject
 *   with `ConnectionClosedError`), as ioredis's `commandTimeout` must. Blocking commands
 *   get their block time on top of the default (resp-blocking.ts).
 * - Pub/sub goes through `subscribe`/`psubscribe`/… (resp-pubsub.ts), never `command`: a
 *   SUBSCRIBE is answered by one confirmation per name, which only those methods expect.
 *   `MONITOR` and sharded pub/sub are refused. Other RESP3 pushes (client-side caching
 *   invalidations) go to `onPush` listeners and are never matched to a command.
 * - `inFlight` and `busy` count the user's commands only; the probe's PINGs and the
 *   handshake keep their place in the order but are not the user's. `needsReset` is read
 *   from the commands the user sends (resp-lease-state.ts) and from the subscriptions.
 * - The data path never reaches an actor: `markAlive()` once per inbound chunk. Nothing
 *   thrown while handling bytes escapes the 'data' listener: a bad reply destroys this
 *   connection with `ProtocolError` / `FrameTooLargeError`.
 * - Credentials stay inside the `RespHandshake` (#private); the session's messages name
 *   commands by their first word only, never their arguments. The parser redacts the
 *   password from every text of the server it puts in an error (an error reply, a bad
 *   line quoted by a `ProtocolError`), so no cause chain can carry it.
 */
import { addAbortListener } from 'node:events';
import type { Duplex } from 'node:stream';
import type { SchedulerLike, Subscription } from 'rxjs';
import {
  AbortedError, ConnectionClosedError, ExclusiveCommandError, HandshakeFailedError,
} from '../errors.js';
import { invalidDuration, isDurationMs } from '../options.js';
import { blockTimeMs } from './resp-blocking.js';
import { encodeCommand, type EncodedCommand, type RespArg } from './resp-encoder.js';
import { exclusiveName, exclusiveReason } from './resp-exclusive.js';
import { settleHandshake } from './resp-handshake-outcome.js';
import { RESET_STEP, type HandshakeStep, type RespHandshake, type RespServerInfo } from './resp-handshake.js';
import { RespLeaseState } from './resp-lease-state.js';
import { addListener, callLate, callListeners } from './listeners.js';
import { ReplyKind, RespParser, type RespReply } from './resp-parser.js';
import { commandName, RespPipeline, unorderedRefusal } from './resp-pipeline.js';
import { encodePubSubCall, RespPubSub, type PubSubCommand, type RespMessage } from './resp-pubsub.js';
import { respWriter, type RespWriter } from './resp-writer.js';
import { attachStreamEvents, detachStreamEvents } from './stream-events.js';

export type { RespMessage } from './resp-pubsub.js';

export interface RespSessionOptions {
  readonly maxBulkBytes: number;
  readonly maxAggregateLength: number;
  readonly maxNestingDepth: number;
  readonly maxReplyAmplification: number;
  readonly returnBuffers: boolean;
  readonly maxQueuedBytes: number;
  /** Default timeout of `command`; 0 disables it. */
  readonly requestTimeoutMs: number;
  readonly closeTimeoutMs: number;
}

export interface CommandOptions {
  /**
   * Overrides `requestTimeoutMs` (and a blocking command's own deadline) for this call
   * (integer ≥ 1). Expiry closes the connection.
   */
  readonly timeoutMs?: number;
  /** Rejects the call with `AbortedError`; the reply is still read and dropped. */
  readonly signal?: AbortSignal;
}

export type RespSessionState = 'handshake' | 'open' | 'closing' | 'closed';

const PING = encodeCommand(['PING'], 4);

// Not `implements StreamEventSink`: its four methods are tagged internal, so stripped from
// the public .d.ts, where the clause would then be false. `attachStreamEvents(stream, this)`
// in the constructor checks the shape all the same.
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
  readonly #lease: RespLeaseState;
  /** Created by the first pub/sub call: most sessions never subscribe. */
  #pubsub: RespPubSub | undefined;
  #state: RespSessionState = 'handshake';
  /** Shared by `pool.dispatch` (between the protocol's `sharing.enter` and `leave`). */
  #shared = false;
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
    // Every text the server sends into an error passes the handshake's redaction first.
    this.#parser = new RespParser(this.#onReply.bind(this), { ...options, redact: (text) => handshake.redact(text) });
    this.#writer = respWriter(stream, options.maxQueuedBytes);
    this.#pipeline = new RespPipeline(scheduler, where, options.requestTimeoutMs, (err) => this.destroy(err));
    this.#lease = new RespLeaseState(handshake.db);
    attachStreamEvents(stream, this);
  }

  get state(): RespSessionState {
    return this.#state;
  }

  /**
   * The user's commands written and not yet answered (abandoned ones included: their
   * replies are still due). Probe PINGs and handshake steps are not counted.
   */
  get inFlight(): number {
    return this.#pipeline.userInFlight;
  }

  /**
   * True when the next holder must not inherit this session: inside MULTI, WATCHing, on
   * another database than the configured one, subscribed (or a pub/sub call in flight),
   * or after a RESET sent through `command`. False again after `reset()`.
   */
  get needsReset(): boolean {
    return this.#lease.dirty || (this.#pubsub !== undefined && this.#pubsub.active);
  }

  /**
   * True while `pool.dispatch` shares this session between callers: commands that need
   * the connection to themselves (MULTI, WATCH, blocking commands, pub/sub, SELECT…) are
   * then refused with `ExclusiveCommandError` before anything is written.
   */
  get shared(): boolean {
    return this.#shared;
  }

  /** @internal `resp().sharing.enter`: the session starts carrying shared dispatches. */
  beginSharing(): void {
    this.#shared = true;
  }

  /** @internal `resp().sharing.leave`: the last shared dispatch settled. */
  endSharing(): void {
    this.#shared = false;
  }

  /** Channels and patterns subscribed, as the last confirmation counted them. */
  get subscriptionCount(): number {
    return this.#pubsub === undefined ? 0 : this.#pubsub.count;
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
   * `ConnectionClosedError`, `FrameTooLargeError`, `InvalidOptionError` (a bad
   * argument, a pub/sub command, or any command while RESP2 is in subscriber mode) or,
   * while the session is `shared`, `ExclusiveCommandError` (resp-exclusive.ts).
   */
  command<T = RespReply>(args: readonly RespArg[], options?: CommandOptions): Promise<T> {
    if (this.#state !== 'open' || this.#dead) return Promise.reject(this.#refusal('command refused'));
    const timeoutMs = options?.timeoutMs;
    if (timeoutMs !== undefined && !isDurationMs(timeoutMs, 1)) return Promise.reject(invalidDuration('command.timeoutMs', timeoutMs, 1));
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(new AbortedError(`${commandName(args?.[0])} to ${this.#where} aborted`, { cause: signal.reason }));
    const first = Array.isArray(args) ? args[0] : undefined;
    if (this.#shared && first !== undefined) {
      const why = exclusiveReason(args);
      if (why !== undefined) return Promise.reject(this.#exclusiveRefusal(exclusiveName(args), why));
    }
    const unordered = unorderedRefusal(first);
    if (unordered) return Promise.reject(unordered);
    if (this.#pubsub?.refusesCommands === true) return Promise.reject(this.#pubsub.refusal(first, this.#where));
    try {
      this.#writer.write(encodeCommand(args, this.#options.maxBulkBytes));
    } catch (err) {
      // Nothing was written, so nothing waits for a reply: the FIFO stays in step.
      return Promise.reject(err as Error);
    }
    this.#lease.sent(args);
    return this.#pipeline.expect(first!, timeoutMs, signal, false, blockTimeMs(args)) as Promise<T>;
  }

  /**
   * Subscribes to channels; resolves once Redis confirmed every name. In RESP2 the
   * connection is then in subscriber mode: `command` is refused (Redis would refuse it)
   * until every channel and pattern is unsubscribed; `ping` still works. RESP3 keeps
   * ordinary commands working. Rejects with `RemoteError` (e.g. `NOPERM` from an ACL),
   * `InvalidOptionError` (no names, or not strings/Buffers) or `ConnectionClosedError`.
   *
   * @example
   * session.onMessage(({ channel, message }) => console.log(channel, message));
   * await session.subscribe(['orders']);
   */
  subscribe(channels: readonly (string | Buffer)[]): Promise<void> {
    return this.#pubsubCall('SUBSCRIBE', channels);
  }

  /** Like `subscribe`, for glob patterns; messages carry the matching `pattern`. */
  psubscribe(patterns: readonly (string | Buffer)[]): Promise<void> {
    return this.#pubsubCall('PSUBSCRIBE', patterns);
  }

  /** Unsubscribes from the named channels (at least one name); resolves once each is confirmed. */
  unsubscribe(channels: readonly (string | Buffer)[]): Promise<void> {
    return this.#pubsubCall('UNSUBSCRIBE', channels);
  }

  /** Unsubscribes from the named patterns (at least one); resolves once each is confirmed. */
  punsubscribe(patterns: readonly (string | Buffer)[]): Promise<void> {
    return this.#pubsubCall('PUNSUBSCRIBE', patterns);
  }

  /** Listens to pub/sub messages; returns the unsubscribe function. A throwing listener becomes a process warning. */
  onMessage(listener: (message: RespMessage) => void): () => void {
    return (this.#pubsub ??= new RespPubSub(this.protocolVersion)).onMessage(listener);
  }

  /** PING round trip (the protocol's probe). An aborted ping keeps its place in the FIFO. */
  ping(signal?: AbortSignal): Promise<void> {
    if (this.#state !== 'open' || this.#dead) return Promise.reject(this.#refusal('PING refused'));
    if (signal?.aborted) return Promise.reject(new AbortedError(`PING to ${this.#where} aborted`, { cause: signal.reason }));
    // Resolves with "PONG" (['pong', ''] in RESP2 subscriber mode); typed void, the caller only waits.
    return this.#sendInternal(PING, 'PING', signal) as Promise<unknown> as Promise<void>;
  }

  /**
   * Restores the connection for its next user: `RESET` (Redis ≥ 6.2: leaves MULTI, drops
   * WATCHes, subscriptions, tracking and the name, selects db 0, back to RESP2,
   * de-authenticates), then the handshake again, pipelined. Push and message listeners
   * are dropped; `needsReset` is false again. On failure (no `RESET` on the server:
   * `RemoteError`; re-authentication refused: `HandshakeRefusedError` or
   * `HandshakeFailedError`) the connection is destroyed, since its state is unknown.
   */
  async reset(): Promise<void> {
    if (this.#state !== 'open' || this.#dead) throw this.#refusal('reset refused');
    // RESET de-authenticates until the handshake's AUTH: another caller's command would land between.
    if (this.#shared) throw this.#exclusiveRefusal('reset()', 'RESET changes the connection for every caller');
    this.#pushListeners = undefined;
    try {
      await this.#runSteps([RESET_STEP, ...this.#handshake.steps()]);
      this.#lease.clear();
      this.#pubsub?.clear();
    } catch (err) {
      this.destroy(err as Error);
      throw err;
    }
  }

  /** Subscribes to RESP3 pushes; returns the unsubscribe function. A throwing listener becomes a process warning. */
  onPush(listener: (push: RespReply[]) => void): () => void {
    return addListener((this.#pushListeners ??= new Set()), listener);
  }

  /**
   * Called once when the stream closed; `error` is set when it died abnormally. Added
   * after the session closed, it is called on a microtask with the error it closed with.
   */
  onClose(listener: (error: Error | undefined) => void): () => void {
    if (this.#state === 'closed') return callLate(listener, this.#error, 'WirewardenCloseListenerWarning');
    return addListener((this.#closeListeners ??= new Set()), listener);
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

  /** @internal the stream's 'data' listener (stream-events.ts: a throw destroys the stream). */
  receive(chunk: Buffer): void {
    if (this.#dead) return;
    this.#parser.push(chunk);
    // After the chunk's replies (see wire-channel.ts): a probe's own reply is not "other traffic".
    this.#markAlive?.();
  }

  /** @internal the stream's 'error' listener: the first error is the one reported. */
  recordError(err: Error): void {
    this.#error ??= err;
  }

  /** @internal the server finished sending: finish our side too (queued commands first). */
  peerEnded(): void {
    if (!this.#ending) {
      this.#ending = true;
      void this.#writer.end();
    }
  }

  /** @internal the stream's 'close' listener (also run when built on a destroyed stream). */
  finish(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#dead = true;
    detachStreamEvents(this.#stream);
    this.#writer.dispose();
    this.#parser.reset();
    this.#closeTimer?.unsubscribe();
    const error = this.#error;
    this.#pipeline.failAll(error);
    const listeners = this.#closeListeners;
    this.#closeListeners = undefined;
    this.#pushListeners = undefined;
    this.#pubsub?.clear();
    if (listeners) callListeners(listeners, error, 'WirewardenCloseListenerWarning');
    this.#resolveClosed();
  }

  /** A probe or handshake step: written, then waited for (default timeout), not counted as the user's. */
  #sendInternal(encoded: EncodedCommand, first: RespArg | HandshakeStep, signal: AbortSignal | undefined): Promise<RespReply> {
    try {
      this.#writer.write(encoded);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return this.#pipeline.expect(first, undefined, signal, true);
  }

  #pubsubCall(command: PubSubCommand, names: readonly (string | Buffer)[]): Promise<void> {
    if (this.#state !== 'open' || this.#dead) return Promise.reject(this.#refusal(`${command} refused`));
    if (this.#shared) return Promise.reject(this.#exclusiveRefusal(command, 'pub/sub replies do not follow command order'));
    try {
      this.#writer.write(encodePubSubCall(command, names, this.#options.maxBulkBytes));
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const pubsub = (this.#pubsub ??= new RespPubSub(this.protocolVersion));
    return pubsub.track(this.#pipeline.expectConfirmations(command, names.length));
  }

  /** Pipelines `steps` and waits for all; throws the first failure in order, redacted. */
  async #runSteps(steps: readonly HandshakeStep[]): Promise<void> {
    const sent = steps.map((step) => {
      try {
        return this.#sendInternal(encodeCommand(step.args, this.#options.maxBulkBytes), step, undefined);
      } catch (err) {
        return Promise.reject(err as Error);
      }
    });
    const server = settleHandshake(steps, await Promise.allSettled(sent), this.#handshake, this.#where);
    if (server !== undefined) this.#server = server;
  }

  #exclusiveRefusal(name: string, why: string): ExclusiveCommandError {
    return new ExclusiveCommandError(
      `${name} refused: it needs a connection to itself (${why}), and this session with ${this.#where} is shared by ` +
        'pool.dispatch; run it in pool.use() or on a lease from pool.acquire()',
    );
  }

  #refusal(what: string): ConnectionClosedError {
    // Destroyed but not yet closed: the stream's 'close' comes a tick later.
    const state = this.#dead && this.#state !== 'closed' ? 'closing' : this.#state;
    return new ConnectionClosedError(`${what}: session with ${this.#where} is ${state}`, { cause: this.#error });
  }

  #onReply(value: RespReply, kind: ReplyKind): void {
    if (this.#dead) return;
    const pubsub = this.#pubsub;
    if (pubsub === undefined || kind === ReplyKind.Error || !pubsub.take(value, kind === ReplyKind.Push, this.#pipeline)) {
      if (kind === ReplyKind.Push) {
        if (this.#pushListeners) callListeners(this.#pushListeners, value as RespReply[], 'WirewardenPushListenerWarning');
        return;
      }
      this.#pipeline.settle(value, kind === ReplyKind.Error);
    }
    if (this.#state === 'closing') this.#endIfIdle();
  }

  #endIfIdle(): void {
    if (this.#ending || this.#pipeline.size > 0) return;
    this.#ending = true;
    void this.#writer.end();
  }
}
