/**
 * `ConnectionSteps`: the one-shot steps of a connection — dial, handshake and graceful
 * close, or for a connect protocol (a library that dials by itself) one connect step in
 * place of the first two — with their deadlines and generations in one owner.
 *
 * Each step runs while its state is active (the effects `startDial`, `startHandshake`,
 * `startClose`) and reports its outcome as one event to the connection actor. They are
 * plain methods, not invoked actors: an invoked promise actor costs an actor, a snapshot
 * and an AbortController (~20 µs, ~2 KB) per incarnation, and a reconnect storm runs
 * thousands of incarnations back to back. A step is cancelled by bumping the generation:
 * its deadline goes, and an outcome that arrives later is dropped. Leaving a step's state
 * for good (CLOSE, KILL, a final state, an outside stop) disposes the connection, which
 * also aborts its signal — the transport's dial and the protocol's `open` see it.
 *
 * Every deadline runs on the injected scheduler. The transports enforce
 * `connectTimeoutMs` themselves; the step enforces it too, so that a custom transport
 * that ignores it cannot leave a connection dialing forever. Nothing here puts a stream,
 * a session or a protocol into an event: results go to the connection (`attach`,
 * `adopt`) and events carry plain data and typed errors.
 *
 * Connect mode (`ConnectProtocol.connect`) is dial and handshake in one call, so it runs
 * in `connecting` within `connectTimeoutMs + handshakeTimeoutMs` (the same worst case as
 * a stream protocol's two steps) and goes straight to `ready` (`ww.connect.done`). Its
 * failures are `dial-failed`: the library's error as `cause` of a `DialFailedError` (or
 * `DialRefusedError` for ECONNREFUSED), a `HandshakeRefusedError` when the protocol's
 * `refused(error)` says a retry cannot help, a `DialTimeoutError` on the deadline; a
 * typed wirewarden error it throws passes through unchanged.
 */
import type { Duplex } from 'node:stream';
import type { SchedulerLike, Subscription } from 'rxjs';
import type { AnyActorRef } from 'xstate';
import {
  DialFailedError, DialRefusedError, DialTimeoutError, HandshakeFailedError, HandshakeRefusedError, hasCode, RequestTimeoutError,
  WirewardenError,
} from '../errors.js';
import { clampDurationMs } from '../options.js';
import type { AnyProtocol, ConnectContext, ConnectProtocol, Endpoint, ProtocolContext, Transport } from '../transport/types.js';
import { CLOSE_DONE, CONNECT_DONE, DIAL_DONE, HANDSHAKE_DONE, type StepEvent } from './connection-events.js';

/** Calls `fn`, turning a synchronous throw into a rejection. */
export function attempt<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err as Error);
  }
}

/**
 * Closes a session or client with `protocol.close(client, signal)`, the signal aborting
 * after `closeTimeoutMs` (the library should then destroy it). Never rejects; the timer
 * goes when the close settles, so nothing outlives it.
 */
export function closeClient(protocol: AnyProtocol, client: unknown, scheduler: SchedulerLike, closeTimeoutMs: number,
  controller = new AbortController()): { done: Promise<void>; timer: Subscription } {
  const timer = scheduler.schedule(() => controller.abort(new RequestTimeoutError(`close did not finish within ${closeTimeoutMs} ms`)), closeTimeoutMs);
  const settled = (): void => timer.unsubscribe();
  return { done: attempt(() => protocol.close(client, controller.signal)).then(settled, settled), timer };
}

let builtins: Promise<{ tcp: Transport; unix: Transport }> | undefined;

/**
 * `tcp()` (or `unix()` for an endpoint with a `path`), loaded on first use so that the
 * actor layer does not pull in the transport layer's codecs unless it dials with them.
 */
function defaultTransport(endpoint: Endpoint): Promise<Transport> {
  builtins ??= import('../transport/index.js').then((m) => ({ tcp: m.tcp(), unix: m.unix() }));
  return builtins.then((t) => (endpoint.path !== undefined ? t.unix : t.tcp));
}

/** The protocol's `refused(err)`; a classifier that throws says nothing (retryable). */
function isRefusal(protocol: { refused?(error: unknown): boolean }, err: unknown): boolean {
  try {
    return protocol.refused?.(err) === true;
  } catch {
    return false;
  }
}

/** What the steps need of their connection. */
export interface StepHost {
  readonly owner: AnyActorRef;
  readonly endpoint: Endpoint;
  readonly protocol: AnyProtocol;
  readonly scheduler: SchedulerLike;
  readonly where: string;
  readonly disposed: boolean;
  readonly stream: Duplex | undefined;
  readonly session: unknown;
  /** The connection's one abort signal (dial, session). */
  signal(): AbortSignal;
  abortSession(reason: unknown): void;
  protocolContext(): ProtocolContext;
  connectContext(): ConnectContext;
  /** Takes ownership of a dialed stream. */
  attach(stream: Duplex): void;
  /** Takes ownership of the session (or a connect protocol's client). */
  adopt(session: unknown): void;
}

/** The steps' bounds, from the validated input. */
export interface StepBounds {
  readonly transport: Transport | undefined;
  readonly connectTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly closeTimeoutMs: number;
}

export class ConnectionSteps {
  readonly #host: StepHost;
  // The bounds are copied, not the input object kept: 10k connections would each retain
  // their resolved input (and its endpoint copy) for four fields.
  readonly #transport: Transport | undefined;
  readonly #connectTimeoutMs: number;
  readonly #handshakeTimeoutMs: number;
  readonly #closeTimeoutMs: number;
  /** Identifies the step running; bumped to drop it. */
  #gen = 0;
  #deadline: Subscription | undefined = undefined;
  /** Connect mode: the client reported its death (`lost`) while connecting; later reports are ignored. */
  #connectFailed: ((error: unknown) => void) | undefined = undefined;
  /** The signal of the `protocol.close` in flight: aborted at `closeTimeoutMs` or by a kill. */
  #closer: AbortController | undefined = undefined;
  #closeTimer: Subscription | undefined = undefined;

  constructor(host: StepHost, bounds: StepBounds) {
    this.#host = host;
    this.#transport = bounds.transport;
    this.#connectTimeoutMs = bounds.connectTimeoutMs;
    this.#handshakeTimeoutMs = bounds.handshakeTimeoutMs;
    this.#closeTimeoutMs = bounds.closeTimeoutMs;
  }

  /** `connecting`: dials the endpoint and hands the stream to the connection (or connects a connect protocol). */
  dial(): void {
    const host = this.#host;
    const protocol = host.protocol;
    if (protocol.connect !== undefined) {
      this.#connect(protocol);
      return;
    }
    const gen = this.#begin();
    const { endpoint, scheduler } = host;
    const connectTimeoutMs = this.#connectTimeoutMs;
    const transport = this.#transport;
    this.#deadline = scheduler.schedule(() => this.#timedOut(gen, 'dial'), connectTimeoutMs);
    const options = { connectTimeoutMs, signal: host.signal(), scheduler };
    const dialing = transport
      ? attempt<Duplex>(() => transport.dial(endpoint, options))
      : defaultTransport(endpoint).then((t) => t.dial(endpoint, options));
    dialing.then(
      (stream) => {
        // Too late (timed out, or the connection moved on): nobody will own this stream.
        if (!this.#current(gen)) {
          stream.on('error', () => {});
          stream.destroy();
          return;
        }
        this.#end();
        host.attach(stream);
        host.owner.send(DIAL_DONE);
      },
      (err: unknown) => {
        if (!this.#current(gen)) return;
        this.#end();
        const error = err instanceof WirewardenError ? err
          : new DialFailedError(`dial ${host.where} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
        host.owner.send({ type: 'ww.dial.failed', error });
      },
    );
  }

  /** `handshaking`: `protocol.open` within `handshakeTimeoutMs`; the session goes to the connection. */
  handshake(): void {
    const host = this.#host;
    const gen = this.#begin();
    const { protocol, stream } = host;
    if (stream === undefined || protocol.open === undefined) {
      this.#end();
      host.owner.send({ type: 'ww.handshake.failed', error: new HandshakeFailedError(`handshake with ${host.where}: no stream`) });
      return;
    }
    this.#deadline = host.scheduler.schedule(() => this.#timedOut(gen, 'handshake'), this.#handshakeTimeoutMs);
    attempt(() => protocol.open(stream, host.protocolContext())).then(
      (session) => {
        // Opened too late (timed out, or CLOSE/KILL/stop came first): nobody will own this
        // session, so close it here — a custom session may hold timers or handles.
        if (!this.#current(gen)) {
          closeClient(protocol, session, host.scheduler, this.#closeTimeoutMs);
          return;
        }
        this.#end();
        host.adopt(session);
        host.owner.send(HANDSHAKE_DONE);
      },
      (err: unknown) => {
        if (!this.#current(gen)) return;
        this.#end();
        // A refusal stays a refusal (WW_HANDSHAKE_REFUSED): the supervisor and the pool read its code.
        const detail = err instanceof Error ? err.message : String(err);
        const error = err instanceof HandshakeFailedError || hasCode(err, 'WW_HANDSHAKE_REFUSED') ? err
          : isRefusal(protocol, err) ? new HandshakeRefusedError(`handshake with ${host.where} refused: ${detail}`, { cause: err })
            : new HandshakeFailedError(`handshake with ${host.where} failed: ${detail}`, { cause: err });
        host.owner.send({ type: 'ww.handshake.failed', error });
      },
    );
  }

  /** `closing`: `protocol.close` bounded by `closeTimeoutMs`; always reports done. */
  close(): void {
    const host = this.#host;
    const gen = this.#begin();
    const done = (): void => {
      if (!this.#current(gen)) return;
      this.#end();
      host.owner.send(CLOSE_DONE);
    };
    this.#deadline = host.scheduler.schedule(done, this.#closeTimeoutMs);
    const session = host.session;
    if (session === undefined) {
      done();
      return;
    }
    const controller = (this.#closer = new AbortController());
    const { done: closed, timer } = closeClient(host.protocol, session, host.scheduler, this.#closeTimeoutMs, controller);
    this.#closeTimer = timer;
    closed.then(done, done);
  }

  /**
   * Connect mode: the client called `lost()` before its connect resolved, which fails the
   * connect with that error. False when no connect is running (the loss is a stream end).
   */
  lostWhileConnecting(error: unknown): boolean {
    const failed = this.#connectFailed;
    if (failed === undefined) return false;
    failed(error);
    return true;
  }

  /** Drops the running step, if any: its deadline goes and its outcome will be ignored. */
  cancel(): void {
    this.#cancel();
  }

  /**
   * The connection ended (after `cancel`): a connect-mode client (no stream wirewarden
   * could destroy) is closed within `closeTimeoutMs`, unless a graceful close already ran,
   * whose signal aborts now (the end came first: a kill, or the client lost).
   */
  release(ended: WirewardenError, stream: Duplex | undefined, session: unknown): void {
    this.#connectFailed = undefined;
    if (this.#closer !== undefined) {
      this.#closeTimer?.unsubscribe();
      if (!this.#closer.signal.aborted) this.#closer.abort(ended);
    } else if (stream === undefined && session !== undefined) {
      void closeClient(this.#host.protocol, session, this.#host.scheduler, this.#closeTimeoutMs);
    }
  }

  /**
   * `connecting` of a connect protocol: `protocol.connect` creates and connects the client
   * within `connectTimeoutMs + handshakeTimeoutMs`; the client becomes the session. A
   * client that arrives too late (timed out, CLOSE/KILL/stop came first) is closed here.
   */
  #connect(protocol: ConnectProtocol): void {
    const host = this.#host;
    const gen = this.#begin();
    this.#deadline = host.scheduler.schedule(() => this.#timedOut(gen, 'connect'), this.#connectBoundMs());
    const failed = (err: unknown): void => {
      if (!this.#current(gen)) return;
      this.#end();
      this.#connectFailed = undefined;
      const error = this.#connectFailure(protocol, err);
      // The library may still be connecting (it reported an error but did not reject).
      host.abortSession(error);
      this.#cancel();
      host.owner.send({ type: 'ww.dial.failed', error });
    };
    this.#connectFailed = failed;
    attempt(() => protocol.connect(host.connectContext())).then(
      (client) => {
        if (!this.#current(gen)) {
          closeClient(protocol, client, host.scheduler, this.#closeTimeoutMs);
          return;
        }
        // No client to supervise (a connect that forgot its `return`): a failed connect.
        if (client === undefined || client === null) return failed(new TypeError('connect resolved without a client'));
        this.#end();
        this.#connectFailed = undefined;
        host.adopt(client);
        host.owner.send(CONNECT_DONE);
      },
      failed,
    );
  }

  /** Connect mode's one bound: the dial's and the handshake's, as a stream protocol gets both. */
  #connectBoundMs(): number {
    return clampDurationMs(this.#connectTimeoutMs + this.#handshakeTimeoutMs);
  }

  /** Why a connect failed, typed: the library's error is the cause (see the module doc). */
  #connectFailure(protocol: ConnectProtocol, err: unknown): WirewardenError {
    const where = this.#host.where;
    if (err instanceof WirewardenError) return err;
    const detail = err === undefined || err === null ? 'the client ended before it connected'
      : err instanceof Error ? err.message : String(err);
    const options = err === undefined || err === null ? undefined : { cause: err };
    if (isRefusal(protocol, err)) return new HandshakeRefusedError(`connect to ${where} refused: ${detail}`, options);
    if ((err as { code?: unknown } | undefined)?.code === 'ECONNREFUSED') {
      return new DialRefusedError(`connect to ${where} refused (ECONNREFUSED)`, options);
    }
    return new DialFailedError(`connect to ${where} failed: ${detail}`, options);
  }

  /**
   * A dial's or handshake's deadline passed: the step is dropped, the connection's signal
   * aborts, the failure is reported. The error is built here, not when the deadline is
   * set: a typed error captures a stack, and most steps never time out.
   */
  #timedOut(gen: number, step: 'dial' | 'handshake' | 'connect'): void {
    if (!this.#current(gen)) return;
    const host = this.#host;
    this.#deadline = undefined;
    const connectTimeoutMs = this.#connectTimeoutMs;
    const handshakeTimeoutMs = this.#handshakeTimeoutMs;
    const event: StepEvent = step === 'dial'
      ? { type: 'ww.dial.failed', error: new DialTimeoutError(`dial ${host.where} timed out after ${connectTimeoutMs} ms`) }
      : step === 'connect'
        ? { type: 'ww.dial.failed', error: new DialTimeoutError(`connect to ${host.where} timed out after ${this.#connectBoundMs()} ms (connectTimeoutMs + handshakeTimeoutMs)`) }
        : { type: 'ww.handshake.failed', error: new HandshakeFailedError(`handshake with ${host.where} timed out after ${handshakeTimeoutMs} ms`) };
    host.abortSession(event.error);
    this.#cancel();
    host.owner.send(event);
  }

  /** The outcome of step `gen` still counts (not dropped, connection not ended). */
  #current(gen: number): boolean {
    return this.#gen === gen && !this.#host.disposed;
  }

  /** Starts a one-shot step: returns its generation (a later outcome checks it). */
  #begin(): number {
    this.#cancel();
    return this.#gen;
  }

  /** The step reported: its deadline goes. */
  #end(): void {
    this.#deadline?.unsubscribe();
    this.#deadline = undefined;
  }

  /** Drops the running step, if any: its deadline goes and its outcome will be ignored. */
  #cancel(): void {
    this.#gen++;
    this.#end();
  }
}
