/**
 * The live half of a connection actor: stream, session, protocol, scheduler and the
 * heartbeat ticker, kept *outside* the machine's context.
 *
 * Why outside: the Stately inspector, the dashboard and persistence serialise snapshots,
 * and a snapshot must be plain data (no socket, no buffer, no protocol object holding a
 * token). One `LiveConnection` per actor is registered in a module-level `WeakMap` keyed
 * by the actor ref when the machine computes its initial context; nothing enumerable in a
 * snapshot points to it. `liveConnection(ref)` is the only public way in.
 *
 * Why the heartbeat ticker lives here rather than in an invoked child actor: an invoked
 * actor costs ~1.9 KB of heap per connection (measured: 6.3 KB vs 4.4 KB per idle actor),
 * and the 10k-connection budget is 8 KB including the socket. The ticker is a single
 * RxJS `SchedulerAction` rescheduling itself with the connection as its state: no
 * closure, no event and no allocation per tick (on `asyncScheduler` the same interval
 * timer is reused). The machine arms it on entering `ready` and disarms it on exit;
 * `dispose()` (run when the actor completes, errors or is stopped from outside, which
 * skips exit actions) disarms it too.
 *
 * Liveness without events: the protocol calls `markAlive()` per inbound chunk, which
 * only bumps `inbound`. A tick compares it with the value seen at the previous tick.
 */
import type { Duplex } from 'node:stream';
import type { SchedulerAction, SchedulerLike, Subscription } from 'rxjs';
import type { AnyActorRef } from 'xstate';
import {
  AbortedError, ConnectionClosedError, DialFailedError, HandshakeFailedError, ProtocolError, RequestTimeoutError,
  WirewardenError,
} from '../errors.js';
import type { Endpoint, Protocol, ProtocolContext, Transport } from '../transport/types.js';
import type { ResolvedConnectionInput, ResolvedHeartbeat } from './connection-input.js';
import type {
  ConnectionContext, ConnectionState, DeadReason, LiveConnectionView, PlainEndpoint,
} from './connection-types.js';

/** How a stream's end maps to a death reason (see src/transport/types.ts). */
export type StreamEndReason = Extract<DeadReason, 'peer-closed' | 'socket-error' | 'protocol-error'>;

/** Internal events the live side sends to its machine (only on state changes). */
export const HEARTBEAT_IDLE = Object.freeze({ type: 'ww.heartbeat.idle' as const });

// markAlive wraps the counter inside V8's small-integer range so that a connection
// receiving billions of chunks never turns the field into a boxed heap number.
const ALIVE_MASK = 0x3fffffff;

const registry = new WeakMap<AnyActorRef, LiveConnection>();

/** `host:port` or the unix path, for messages. */
export function describePlainEndpoint(e: PlainEndpoint): string {
  if (e.path !== undefined) return e.path;
  const host = e.host ?? '127.0.0.1';
  return `${host.includes(':') ? `[${host}]` : host}:${String(e.port)}`;
}

/** Classifies a stream's end by its error's `code`. */
export function classifyStreamEnd(err: unknown): StreamEndReason {
  if (err === undefined || err === null) return 'peer-closed';
  const code = (err as { code?: unknown }).code;
  return code === 'WW_PROTOCOL_ERROR' || code === 'WW_FRAME_TOO_LARGE' ? 'protocol-error' : 'socket-error';
}

function heartbeatTick(this: SchedulerAction<LiveConnection>, live?: LiveConnection): void {
  if (live === undefined || live.disposed) return;
  if (live.inbound !== live.seen) {
    live.seen = live.inbound;
    this.schedule(live, live.intervalMs);
    return;
  }
  live.ticker = undefined;
  live.owner.send(HEARTBEAT_IDLE);
}

// Stream listeners are shared module functions (`this` is the stream) rather than two
// closures per connection; the stream finds its connection here.
const streamOwners = new WeakMap<Duplex, LiveConnection>();

function onStreamError(this: Duplex, err: unknown): void {
  const live = streamOwners.get(this);
  // Recording is all it does: the 'close' that follows decides. It stays attached after
  // dispose, so a late error can never become an uncaught exception.
  if (live !== undefined) live.streamError ??= err;
}

function onStreamClose(this: Duplex): void {
  const live = streamOwners.get(this);
  if (live === undefined || live.disposed) return;
  const err = live.streamError ?? this.errored ?? undefined;
  live.owner.send({ type: 'ww.stream.closed', reason: classifyStreamEnd(err) });
}

/** What a protocol's `open` gets; a class so every connection's context shares one shape. */
class ConnectionProtocolContext implements ProtocolContext {
  readonly signal: AbortSignal;
  readonly endpoint: Endpoint;
  readonly scheduler: SchedulerLike;
  readonly markAlive: () => void;
  constructor(signal: AbortSignal, endpoint: Endpoint, scheduler: SchedulerLike, markAlive: () => void) {
    this.signal = signal;
    this.endpoint = endpoint;
    this.scheduler = scheduler;
    this.markAlive = markAlive;
  }
}

/**
 * @internal One connection's resources. Created by the machine; see the module doc.
 * It is also its actor's observer (`complete`/`error` → `dispose`), which spares two
 * closures per connection. Fields are few and fixed: 10k of these must stay small.
 */
export class LiveConnection {
  readonly owner: AnyActorRef;
  readonly endpoint: Endpoint;
  readonly protocol: Protocol;
  readonly transport: Transport | undefined;
  readonly connectTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly heartbeat: ResolvedHeartbeat;
  readonly scheduler: SchedulerLike;
  readonly random: () => number;
  readonly loadSource: () => number;
  stream: Duplex | undefined = undefined;
  session: unknown = undefined;
  /** Bumped by `markAlive`; compared, never read as a count. */
  inbound = 0;
  seen = 0;
  intervalMs = 0;
  ticker: Subscription | undefined = undefined;
  streamError: unknown = undefined;
  /** The error that ends the actor (its output's `error`). */
  finalError: WirewardenError | undefined = undefined;
  disposed = false;
  phased = false;
  ctx: ConnectionProtocolContext | undefined = undefined;
  abort: AbortController | undefined = undefined;

  /**
   * `endpoint` is the caller's own (validated) object, handed to the transport and the
   * protocol as given; the resolved input's copy is dropped after construction.
   */
  constructor(owner: AnyActorRef, input: ResolvedConnectionInput, endpoint: Endpoint, scheduler: SchedulerLike,
    random: () => number, loadSource: () => number) {
    this.owner = owner;
    this.endpoint = endpoint;
    this.protocol = input.protocol;
    this.transport = input.transport;
    this.connectTimeoutMs = input.connectTimeoutMs;
    this.handshakeTimeoutMs = input.handshakeTimeoutMs;
    this.closeTimeoutMs = input.closeTimeoutMs;
    this.heartbeat = input.heartbeat;
    this.scheduler = scheduler;
    this.random = random;
    this.loadSource = loadSource;
    registry.set(owner, this);
  }

  /** `host:port` or the unix path, for messages (computed: only failures need it). */
  get where(): string {
    return describePlainEndpoint(this.endpoint);
  }

  /** Takes ownership of a dialed stream and watches its end. */
  attach(stream: Duplex): void {
    this.stream = stream;
    streamOwners.set(stream, this);
    stream.on('error', onStreamError);
    stream.on('close', onStreamClose);
  }

  /** The context handed to `protocol.open`, created once per connection. */
  protocolContext(): ProtocolContext {
    if (this.ctx) return this.ctx;
    this.abort = new AbortController();
    this.ctx = new ConnectionProtocolContext(this.abort.signal, this.endpoint, this.scheduler, () => {
      this.inbound = (this.inbound + 1) & ALIVE_MASK;
    });
    return this.ctx;
  }

  /** Observer side: the actor reached a final state or was stopped. */
  complete(): void {
    this.dispose();
  }

  /** Observer side: the actor failed. */
  error(): void {
    this.dispose();
  }

  /** Aborts the protocol context's signal (handshake timeout, end of the connection). */
  abortSession(reason: unknown): void {
    if (this.abort && !this.abort.signal.aborted) this.abort.abort(reason);
  }

  /**
   * Arms the idle check. The first arming after the handshake is phase-jittered
   * uniformly in [0, intervalMs) so that connections opened together do not probe
   * together; later ones wait a full interval.
   */
  armHeartbeat(intervalMs: number): void {
    this.disarmHeartbeat();
    this.intervalMs = intervalMs;
    this.seen = this.inbound;
    let delayMs = intervalMs;
    if (!this.phased) {
      this.phased = true;
      const r = this.random();
      delayMs = r > 0 && r < 1 ? Math.floor(r * intervalMs) : 0;
    }
    this.ticker = this.scheduler.schedule(heartbeatTick, delayMs, this);
  }

  disarmHeartbeat(): void {
    this.ticker?.unsubscribe();
    this.ticker = undefined;
  }

  /** Records the error that goes into the final output for `reason`. */
  settle(context: ConnectionContext, event: { type: string; error?: unknown }): void {
    const reason = context.reason;
    if (reason === undefined || reason === 'closed') return;
    if (event.error instanceof WirewardenError || event.type === 'KILL') {
      // Typed errors from the dial/handshake actors, or whatever KILL carried (maybe none).
      this.finalError = event.error instanceof WirewardenError ? event.error : undefined;
      return;
    }
    const cause = this.streamError;
    switch (reason) {
      case 'heartbeat-timeout':
        this.finalError = new RequestTimeoutError(
          `heartbeat: ${1 + context.suspectAttempt} probes to ${this.where} got no reply (last timeout ${context.attemptTimeoutMs} ms before load scaling)`,
        );
        return;
      case 'peer-closed':
        this.finalError = new ConnectionClosedError(`${this.where} closed the connection`);
        return;
      case 'protocol-error':
        this.finalError = cause instanceof WirewardenError ? cause : new ProtocolError(`protocol error on ${this.where}`, { cause });
        return;
      case 'socket-error':
        this.finalError = cause instanceof WirewardenError ? cause
          : new ConnectionClosedError(`connection to ${this.where} failed: ${cause instanceof Error ? cause.message : 'socket error'}`, { cause });
        return;
      case 'dial-failed':
        this.finalError = new DialFailedError(`dial ${this.where} failed`, { cause: event.error });
        return;
      case 'handshake-failed':
        this.finalError = new HandshakeFailedError(
          event.error === undefined ? `${this.where} closed the connection during the handshake` : `handshake with ${this.where} failed`,
          { cause: event.error ?? cause },
        );
        return;
      default:
        return;
    }
  }

  /** Releases everything; idempotent. Runs when the actor completes, errors or is stopped. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.disarmHeartbeat();
    this.abortSession(new AbortedError(`connection to ${this.where} ended`));
    const stream = this.stream;
    this.stream = undefined;
    this.session = undefined;
    if (stream && !stream.destroyed) stream.destroy();
  }
}

/** @internal The live half of a connection actor, if `ref` is one. */
export function liveOf(ref: AnyActorRef | undefined): LiveConnection | undefined {
  return ref === undefined ? undefined : registry.get(ref);
}

/**
 * The connection's state from any of its snapshots: the top-level state name, `dead`
 * for an actor that failed to start (bad input).
 *
 * @example
 * actor.subscribe((s) => { if (connectionState(s) === 'ready') lease(actor); });
 */
export function connectionState(snapshot: { readonly status?: string; readonly value?: unknown }): ConnectionState {
  if (snapshot.status === 'error') return 'dead';
  return typeof snapshot.value === 'string' ? (snapshot.value as ConnectionState) : 'dialing';
}

/**
 * What the pool needs of a connection actor: its session (to lease), protocol and live
 * figures. `undefined` when `ref` is not a connection actor.
 *
 * @example
 * const conn = liveConnection<WireSession>(ref);
 * if (conn?.state === 'ready') await conn.session!.request({ op: 'echo' });
 */
export function liveConnection<S = unknown>(ref: AnyActorRef): LiveConnectionView<S> | undefined {
  const live = registry.get(ref);
  if (live === undefined) return undefined;
  const snapshot = ref.getSnapshot() as { status?: string; value?: unknown; context: ConnectionContext };
  const { context } = snapshot;
  return {
    id: ref.id,
    endpoint: context.endpoint,
    state: connectionState(snapshot),
    session: live.session as S | undefined,
    protocol: live.protocol as Protocol<S>,
    rttMs: context.rttMs,
    since: context.since,
  };
}
