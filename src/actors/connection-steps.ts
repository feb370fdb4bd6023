/**
 * The one-shot steps of a connection: dial, handshake and graceful close — or, for a
 * connect protocol (a library that dials by itself), one connect step in their place.
 *
 * Each step runs while its state is active and reports its outcome as one event to the
 * connection actor. They are plain functions over the `ConnectionResources`, not invoked
 * actors: an invoked promise actor costs an actor, a snapshot and an AbortController
 * (~20 µs, ~2 KB) per incarnation, and a reconnect storm runs thousands of incarnations
 * back to back. A step is cancelled by bumping the resources' step generation
 * (`cancelStep`): its deadline goes, and an outcome that arrives later is dropped.
 * Leaving a step's state for good (CLOSE, KILL, a final state, an outside stop) disposes
 * the resources, which also aborts the connection's signal — the transport's dial and the
 * protocol's `open` see it.
 *
 * Every deadline runs on the injected scheduler. The transports enforce
 * `connectTimeoutMs` themselves; the step enforces it too, so that a custom transport
 * that ignores it cannot leave a connection dialing forever. Nothing here puts a stream,
 * a session or a protocol into an event: results are stored on the resources and events
 * carry plain data and typed errors.
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
import {
  DialFailedError, DialRefusedError, DialTimeoutError, HandshakeFailedError, HandshakeRefusedError, hasCode, WirewardenError,
} from '../errors.js';
import { clampDurationMs } from '../options.js';
import type { ConnectProtocol, Endpoint, Transport } from '../transport/types.js';
import { attempt, closeClient, type ConnectionResources } from './connection-resources.js';

/** What the steps report, in the connection's mailbox (never per frame). */
export type StepEvent =
  | { type: 'ww.dial.done' }
  | { type: 'ww.connect.done' }
  | { type: 'ww.dial.failed'; error: WirewardenError }
  | { type: 'ww.handshake.done' }
  | { type: 'ww.handshake.failed'; error: WirewardenError }
  | { type: 'ww.close.done' };

const DIAL_DONE = Object.freeze({ type: 'ww.dial.done' as const });
const CONNECT_DONE = Object.freeze({ type: 'ww.connect.done' as const });
const HANDSHAKE_DONE = Object.freeze({ type: 'ww.handshake.done' as const });
const CLOSE_DONE = Object.freeze({ type: 'ww.close.done' as const });

let builtins: Promise<{ tcp: Transport; unix: Transport }> | undefined;

/**
 * `tcp()` (or `unix()` for an endpoint with a `path`), loaded on first use so that the
 * actor layer does not pull in the transport layer's codecs unless it dials with them.
 */
function defaultTransport(endpoint: Endpoint): Promise<Transport> {
  builtins ??= import('../transport/index.js').then((m) => ({ tcp: m.tcp(), unix: m.unix() }));
  return builtins.then((t) => (endpoint.path !== undefined ? t.unix : t.tcp));
}

/**
 * A dial's or handshake's deadline passed: the step is dropped, the connection's signal
 * aborts, the failure is reported. The error is built here, not when the deadline is set:
 * a typed error captures a stack, and most steps never time out.
 */
function stepTimedOut(live: ConnectionResources, gen: number, step: 'dial' | 'handshake' | 'connect'): void {
  if (live.stepGen !== gen || live.disposed) return;
  live.stepTimer = undefined;
  const event: StepEvent = step === 'dial'
    ? { type: 'ww.dial.failed', error: new DialTimeoutError(`dial ${live.where} timed out after ${live.connectTimeoutMs} ms`) }
    : step === 'connect'
      ? { type: 'ww.dial.failed', error: new DialTimeoutError(`connect to ${live.where} timed out after ${connectBoundMs(live)} ms (connectTimeoutMs + handshakeTimeoutMs)`) }
      : { type: 'ww.handshake.failed', error: new HandshakeFailedError(`handshake with ${live.where} timed out after ${live.handshakeTimeoutMs} ms`) };
  live.abortSession(event.error);
  live.cancelStep();
  live.owner.send(event);
}

/** Connect mode's one bound: the dial's and the handshake's, as a stream protocol gets both. */
function connectBoundMs(live: ConnectionResources): number {
  return clampDurationMs(live.connectTimeoutMs + live.handshakeTimeoutMs);
}

/** Why a connect failed, typed: the library's error is the cause (see the module doc). */
function connectFailure(live: ConnectionResources, protocol: ConnectProtocol, err: unknown): WirewardenError {
  if (err instanceof WirewardenError) return err;
  const detail = err === undefined || err === null ? 'the client ended before it connected'
    : err instanceof Error ? err.message : String(err);
  const options = err === undefined || err === null ? undefined : { cause: err };
  if (isRefusal(protocol, err)) return new HandshakeRefusedError(`connect to ${live.where} refused: ${detail}`, options);
  if ((err as { code?: unknown } | undefined)?.code === 'ECONNREFUSED') {
    return new DialRefusedError(`connect to ${live.where} refused (ECONNREFUSED)`, options);
  }
  return new DialFailedError(`connect to ${live.where} failed: ${detail}`, options);
}

/**
 * `connecting` of a connect protocol: `protocol.connect` creates and connects the client
 * within `connectTimeoutMs + handshakeTimeoutMs`; the client becomes the session. A
 * client that arrives too late (timed out, CLOSE/KILL/stop came first) is closed here.
 */
function startConnect(live: ConnectionResources, protocol: ConnectProtocol): void {
  const gen = live.beginStep();
  live.stepTimer = live.scheduler.schedule(() => stepTimedOut(live, gen, 'connect'), connectBoundMs(live));
  const failed = (err: unknown): void => {
    if (live.stepGen !== gen || live.disposed) return;
    live.endStep();
    const error = connectFailure(live, protocol, err);
    // The library may still be connecting (it reported an error but did not reject).
    live.abortSession(error);
    live.cancelStep();
    live.owner.send({ type: 'ww.dial.failed', error });
  };
  // The client called lost() before connect resolved: the connect failed with that error.
  live.onLostWhileConnecting = failed;
  attempt(() => protocol.connect(live.connectContext())).then(
    (client) => {
      if (live.stepGen !== gen || live.disposed) {
        closeClient(protocol, client, live.scheduler, live.closeTimeoutMs);
        return;
      }
      // No client to supervise (a connect that forgot its `return`): a failed connect.
      if (client === undefined || client === null) return failed(new TypeError('connect resolved without a client'));
      live.endStep();
      live.onLostWhileConnecting = undefined;
      live.session = client;
      live.owner.send(CONNECT_DONE);
    },
    failed,
  );
}

/** `connecting`: dials the endpoint and hands the stream to the resources. */
export function startDial(live: ConnectionResources): void {
  const protocol = live.protocol;
  if (protocol.connect !== undefined) {
    startConnect(live, protocol);
    return;
  }
  const gen = live.beginStep();
  const { endpoint, connectTimeoutMs, scheduler } = live;
  live.stepTimer = scheduler.schedule(() => stepTimedOut(live, gen, 'dial'), connectTimeoutMs);
  const options = { connectTimeoutMs, signal: live.signal(), scheduler };
  const transport = live.transport;
  const dialing = transport
    ? attempt<Duplex>(() => transport.dial(endpoint, options))
    : defaultTransport(endpoint).then((t) => t.dial(endpoint, options));
  dialing.then(
    (stream) => {
      // Too late (timed out, or the connection moved on): nobody will own this stream.
      if (live.stepGen !== gen || live.disposed) {
        stream.on('error', () => {});
        stream.destroy();
        return;
      }
      live.endStep();
      live.attach(stream);
      live.owner.send(DIAL_DONE);
    },
    (err: unknown) => {
      if (live.stepGen !== gen || live.disposed) return;
      live.endStep();
      const error = err instanceof WirewardenError ? err
        : new DialFailedError(`dial ${live.where} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      live.owner.send({ type: 'ww.dial.failed', error });
    },
  );
}

/** `handshaking`: `protocol.open` within `handshakeTimeoutMs`; stores the session. */
export function startHandshake(live: ConnectionResources): void {
  const gen = live.beginStep();
  const { protocol, stream } = live;
  if (stream === undefined || protocol.open === undefined) {
    live.endStep();
    live.owner.send({ type: 'ww.handshake.failed', error: new HandshakeFailedError(`handshake with ${live.where}: no stream`) });
    return;
  }
  live.stepTimer = live.scheduler.schedule(() => stepTimedOut(live, gen, 'handshake'), live.handshakeTimeoutMs);
  attempt(() => protocol.open(stream, live.protocolContext())).then(
    (session) => {
      // Opened too late (timed out, or CLOSE/KILL/stop came first): nobody will own this
      // session, so close it here — a custom session may hold timers or handles.
      if (live.stepGen !== gen || live.disposed) {
        closeClient(protocol, session, live.scheduler, live.closeTimeoutMs);
        return;
      }
      live.endStep();
      live.session = session;
      live.owner.send(HANDSHAKE_DONE);
    },
    (err: unknown) => {
      if (live.stepGen !== gen || live.disposed) return;
      live.endStep();
      // A refusal stays a refusal (WW_HANDSHAKE_REFUSED): the supervisor and the pool read its code.
      const detail = err instanceof Error ? err.message : String(err);
      const error = err instanceof HandshakeFailedError || hasCode(err, 'WW_HANDSHAKE_REFUSED') ? err
        : isRefusal(protocol, err) ? new HandshakeRefusedError(`handshake with ${live.where} refused: ${detail}`, { cause: err })
          : new HandshakeFailedError(`handshake with ${live.where} failed: ${detail}`, { cause: err });
      live.owner.send({ type: 'ww.handshake.failed', error });
    },
  );
}

/** The protocol's `refused(err)`; a classifier that throws says nothing (retryable). */
function isRefusal(protocol: { refused?(error: unknown): boolean }, err: unknown): boolean {
  try {
    return protocol.refused?.(err) === true;
  } catch {
    return false;
  }
}

/** `closing`: `protocol.close` bounded by `closeTimeoutMs`; always reports done. */
export function startClose(live: ConnectionResources): void {
  const gen = live.beginStep();
  const done = (): void => {
    if (live.stepGen !== gen || live.disposed) return;
    live.endStep();
    live.owner.send(CLOSE_DONE);
  };
  live.stepTimer = live.scheduler.schedule(done, live.closeTimeoutMs);
  const session = live.session;
  if (session === undefined) {
    done();
    return;
  }
  live.closeSession(session).then(done, done);
}
