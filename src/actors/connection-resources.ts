/**
 * `ConnectionResources`, the live half of a connection actor: its stream or client, its
 * session, its one abort signal and the owners of its moving parts, kept *outside* the
 * context.
 *
 *   ConnectionResources ── stream / session / signal / end of the connection
 *     ├── probes: ProbeTracker       traffic counter, probe in flight, suspicion episode
 *     ├── ticker: HeartbeatTicker    the idle check every intervalMs
 *     └── steps:  ConnectionSteps    dial / handshake / close (or connect), their deadlines
 *
 * Each part owns its state privately; this class only wires them to the actor and owns
 * what they share (the session and how the connection ends). The actor's transitions
 * decide; the effects (connection-effects.ts) call these parts; the parts report back as
 * events.
 *
 * Two ways a session exists: over a stream the transport dialed (`Protocol.open`; death
 * is the stream's `close`), or as a client a library dialed by itself
 * (`ConnectProtocol.connect`; no stream, death is the client's `lost()` call, and the
 * client is closed with `protocol.close` on every end, since nothing else would free it).
 *
 * Why outside: the Stately inspector, the dashboard and persistence serialise snapshots,
 * and a snapshot must be plain data (no socket, no buffer, no protocol object holding a
 * token). One instance per actor is registered in a module-level `WeakMap` keyed by the
 * actor ref when the actor builds its initial snapshot; nothing enumerable in a snapshot
 * points to it. `liveConnection(ref)` is the only public way in.
 *
 * Why no invoked child actors: memory and CPU for 10k connections (an invoked actor costs
 * ~1.9 KB of heap while it lives and ~20–30 µs to create and stop). Stream listeners are
 * shared module functions, not per-connection closures.
 */
import type { Duplex } from 'node:stream';
import type { SchedulerLike } from 'rxjs';
import type { ActorSystem, AnyActorRef } from 'xstate';
import { AbortedError } from '../errors.js';
import { servicesOf } from '../services.js';
import type { AnyProtocol, ConnectContext, Endpoint, ProtocolContext } from '../transport/types.js';
import { REQUEST_TIMED_OUT } from './connection-events.js';
import type { ResolvedConnectionInput, ResolvedHeartbeat } from './connection-input.js';
import { ConnectionSteps } from './connection-steps.js';
import { classifyStreamEnd, describePlainEndpoint } from './death-error.js';
import { HeartbeatTicker } from './heartbeat-ticker.js';
import { ProbeTracker } from './probe-tracker.js';

const registry = new WeakMap<AnyActorRef, ConnectionResources>();

// Stream listeners are shared module functions (`this` is the stream) rather than two
// closures per connection; the stream finds its connection here.
const streamOwners = new WeakMap<Duplex, ConnectionResources>();

function onStreamError(this: Duplex, err: unknown): void {
  // Recording is all it does: the 'close' that follows reports. It stays attached after
  // dispose, so a late error can never become an uncaught exception.
  streamOwners.get(this)?.streamErrored(err);
}

function onStreamClose(this: Duplex): void {
  streamOwners.get(this)?.streamClosed(this.errored ?? undefined);
}

/** What a protocol's `open` gets; a class so every connection's context shares one shape. */
class ConnectionProtocolContext implements ProtocolContext {
  readonly signal: AbortSignal;
  readonly endpoint: Endpoint;
  readonly scheduler: SchedulerLike;
  readonly markAlive: () => void;
  readonly requestTimedOut: () => void;
  constructor(signal: AbortSignal, endpoint: Endpoint, scheduler: SchedulerLike, markAlive: () => void, requestTimedOut: () => void) {
    this.signal = signal;
    this.endpoint = endpoint;
    this.scheduler = scheduler;
    this.markAlive = markAlive;
    this.requestTimedOut = requestTimedOut;
  }
}

/** What a connect protocol's `connect` gets: the same, plus `lost` (only connect mode pays for its closure). */
class ConnectionConnectContext extends ConnectionProtocolContext implements ConnectContext {
  readonly lost: (error?: unknown) => void;
  constructor(signal: AbortSignal, endpoint: Endpoint, scheduler: SchedulerLike, markAlive: () => void, requestTimedOut: () => void,
    lost: (error?: unknown) => void) {
    super(signal, endpoint, scheduler, markAlive, requestTimedOut);
    this.lost = lost;
  }
}

/**
 * One connection's live half. Created with its actor's initial snapshot; see the module
 * doc. It is also its actor's observer (`complete`/`error` → `dispose`), which spares two
 * closures per connection. Fields are few and fixed: 10k of these must stay small.
 */
export class ConnectionResources {
  readonly owner: AnyActorRef;
  readonly endpoint: Endpoint;
  readonly protocol: AnyProtocol;
  readonly heartbeat: ResolvedHeartbeat;
  readonly scheduler: SchedulerLike;
  readonly random: () => number;
  readonly loadSource: () => number;
  readonly probes: ProbeTracker;
  readonly ticker: HeartbeatTicker;
  readonly steps: ConnectionSteps;
  readonly #leased: (() => boolean) | undefined;
  #stream: Duplex | undefined = undefined;
  #session: unknown = undefined;
  /** The stream's recorded error, reported with its close. */
  #streamError: unknown = undefined;
  #ctx: ConnectionProtocolContext | undefined = undefined;
  #abort: AbortController | undefined = undefined;
  /** Connect mode: the client reported its death (`lost`); later reports are ignored. */
  #lostReported = false;
  #started = false;
  #disposed = false;

  /**
   * `endpoint` is the caller's own (validated) object, handed to the transport and the
   * protocol as given; the resolved input's copy is dropped after construction.
   */
  constructor(owner: AnyActorRef, input: ResolvedConnectionInput, endpoint: Endpoint, scheduler: SchedulerLike,
    random: () => number, loadSource: () => number) {
    this.owner = owner;
    this.endpoint = endpoint;
    this.protocol = input.protocol;
    this.heartbeat = input.heartbeat;
    this.scheduler = scheduler;
    this.random = random;
    this.loadSource = loadSource;
    this.#leased = input.leased;
    this.probes = new ProbeTracker(this);
    this.ticker = new HeartbeatTicker(this);
    this.steps = new ConnectionSteps(this, input);
    registry.set(owner, this);
  }

  /** `host:port` or the unix path, for messages (computed: only failures need it). */
  get where(): string {
    return describePlainEndpoint(this.endpoint);
  }

  /** The dialed stream (undefined before the dial, in connect mode, and after the end). */
  get stream(): Duplex | undefined {
    return this.#stream;
  }

  /** The protocol session (undefined before the handshake and after the end). */
  get session(): unknown {
    return this.#session;
  }

  /** The actor started: its transitions run effects here (a pure `transition()` elsewhere never does). */
  get started(): boolean {
    return this.#started;
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** The actor started (`ActorLogic.start`). */
  markStarted(): void {
    this.#started = true;
  }

  /** Takes ownership of a dialed stream and watches its end. */
  attach(stream: Duplex): void {
    this.#stream = stream;
    streamOwners.set(stream, this);
    stream.on('error', onStreamError);
    stream.on('close', onStreamClose);
  }

  /** Takes ownership of the session (or a connect protocol's client). */
  adopt(session: unknown): void {
    this.#session = session;
  }

  /** @internal The stream emitted 'error' (its 'close' follows). */
  streamErrored(err: unknown): void {
    this.#streamError ??= err;
  }

  /** @internal The stream closed: one event, with the error it ended with, if any. */
  streamClosed(errored: unknown): void {
    if (this.#disposed) return;
    const error = this.#streamError ?? errored;
    this.owner.send({ type: 'ww.stream.closed', reason: classifyStreamEnd(error), error });
  }

  /**
   * The connection's one abort signal: the transport's dial and the protocol's session
   * both get it, and it aborts when the connection ends (or a dial/handshake times out,
   * which ends it too). One controller per incarnation, not one per step.
   */
  signal(): AbortSignal {
    this.#abort ??= new AbortController();
    return this.#abort.signal;
  }

  /** Aborts the protocol context's signal (handshake timeout, end of the connection). */
  abortSession(reason: unknown): void {
    if (this.#abort && !this.#abort.signal.aborted) this.#abort.abort(reason);
  }

  /** The context handed to `protocol.open`, created once per connection. */
  protocolContext(): ProtocolContext {
    this.#ctx ??= this.#createContext(false);
    return this.#ctx;
  }

  /** The context handed to `protocol.connect`, created once per connection. */
  connectContext(): ConnectContext {
    this.#ctx ??= this.#createContext(true);
    return this.#ctx as ConnectionConnectContext;
  }

  /**
   * The protocol's context. Its callbacks are closures (a protocol may call them unbound),
   * made in one call so that they share one captured scope per connection, and anonymous:
   * under tsx (esbuild's keepNames) a named closure carries ~240 B of `name` storage.
   */
  #createContext(connectMode: boolean): ConnectionProtocolContext {
    const probes = this.probes;
    const signal = this.signal();
    if (connectMode) {
      return new ConnectionConnectContext(signal, this.endpoint, this.scheduler, () => probes.markAlive(),
        () => this.#requestTimedOut(), (error?: unknown) => this.lost(error));
    }
    return new ConnectionProtocolContext(signal, this.endpoint, this.scheduler, () => probes.markAlive(), () => this.#requestTimedOut());
  }

  /** A request of the session went unanswered (rare): one event; a probe or watch already out decides alone. */
  #requestTimedOut(): void {
    if (!this.#disposed && !this.probes.inFlight) this.owner.send(REQUEST_TIMED_OUT);
  }

  /**
   * Connect mode: the client died. Before the connect resolved it fails the connect;
   * after, it is handled as a stream's close (the error, if any, is the death's cause).
   * Once only, and never after the end.
   */
  lost(error: unknown): void {
    if (this.#disposed || this.#lostReported) return;
    this.#lostReported = true;
    if (this.#session === undefined) {
      this.steps.lostWhileConnecting(error);
      return;
    }
    const cause = error === null ? undefined : error;
    this.owner.send({ type: 'ww.stream.closed', reason: classifyStreamEnd(cause), error: cause });
  }

  /** Leased by its owner, or the session has a request in flight: no probe now. */
  held(): boolean {
    if (this.#leased?.() === true) return true;
    const busy = this.protocol.busy;
    return busy !== undefined && this.#session !== undefined && busy.call(this.protocol, this.#session) === true;
  }

  /** Leaving the heartbeat (`closing`, `dead`): no more ticks, no probe in flight. */
  quiesce(): void {
    this.ticker.disarm();
    this.probes.cancel();
  }

  /** Observer side: the actor reached a final state or was stopped. */
  complete(): void {
    this.dispose();
  }

  /** Observer side: the actor failed. */
  error(): void {
    this.dispose();
  }

  /**
   * Releases everything; idempotent. Runs when the actor completes, errors or is stopped.
   * A stream is destroyed; a connect-mode client is closed by the steps (see
   * `ConnectionSteps.dispose`).
   */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.quiesce();
    this.steps.cancel();
    const ended = new AbortedError(`connection to ${this.where} ended`);
    this.abortSession(ended);
    const stream = this.#stream;
    const session = this.#session;
    this.#stream = undefined;
    this.#session = undefined;
    this.steps.release(ended, stream, session);
    if (stream && !stream.destroyed) stream.destroy();
  }
}

/** @internal The live half of a connection actor, if `ref` is one. */
export function resourcesOf(ref: AnyActorRef | undefined): ConnectionResources | undefined {
  return ref === undefined ? undefined : registry.get(ref);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any system of any runtime
type AnySystem = ActorSystem<any>;

/**
 * The clock a connection's transitions stamp `since` with: its own scheduler when the
 * actor has a live half, else its runtime's (the process's outside one), which is what a
 * pure `transition()` of a snapshot sees.
 */
export function connectionClock(self: AnyActorRef | undefined, system: AnySystem | undefined): SchedulerLike {
  return resourcesOf(self)?.scheduler ?? servicesOf(system).scheduler;
}
