/**
 * `ConnectionResources`, the live half of a connection actor: stream, session, protocol,
 * scheduler, the heartbeat ticker and the probe in flight, kept *outside* the context.
 *
 * Two ways a session exists: over a stream the transport dialed (`Protocol.open`; death
 * is the stream's `close`), or as a client a library dialed by itself
 * (`ConnectProtocol.connect`; no stream, death is the client's `lost()` call, and the
 * client is closed with `protocol.close` on every end, since nothing else would free it).
 *
 * Why outside: the Stately inspector, the dashboard and persistence serialise snapshots,
 * and a snapshot must be plain data (no socket, no buffer, no protocol object holding a
 * token). One instance per actor is registered in a module-level `WeakMap` keyed by the
 * actor ref when the actor builds its initial snapshot; nothing enumerable in a
 * snapshot points to it. `liveConnection(ref)` is the only public way in.
 *
 * Why the ticker, the probes and the one-shot steps live here rather than in invoked
 * child actors: memory and CPU for 10k connections (an invoked actor costs ~1.9 KB of
 * heap while it lives and ~20–30 µs to create and stop).
 * - The ticker is one RxJS `SchedulerAction` rescheduling itself with the connection as
 *   its state, on a per-connection grid: no closure, no event and no allocation per tick
 *   (on `asyncScheduler` the same interval timer is reused).
 * - A probe is the protocol's `probeWith` callback (no promise at all) or its promise (one
 *   reaction, no wrapper), a pooled AbortController (probe-controllers.ts) and an entry in
 *   a deadline ring shared by every probe with the same timeout (probe-deadlines.ts); a
 *   generation counter drops replies that arrive after the probe was cancelled or timed out
 *   (except `probeWith`'s late answer to the episode's last timed-out probe: an RTT sample).
 * - The actor's transitions arm both (`armHeartbeat` entering `ready`, `startProbe`
 *   entering `probing`/`suspect`); nothing runs on leaving those states on the heartbeat
 *   path. Leaving for `closing` or `dead` runs `quiesce()`; `dispose()` (run when the
 *   actor completes, errors or is stopped from outside) does the same and more.
 * - Stream listeners are shared module functions, not per-connection closures.
 *
 * Liveness without events: the protocol calls `markAlive()` per inbound chunk, after
 * handling it, which only bumps `inbound`. A tick compares it with the value seen at the
 * previous tick; while a probe is out, one microtask per probe checks for traffic other
 * than the probe's reply, which ends `probing` at once.
 */
import type { Duplex } from 'node:stream';
import type { SchedulerAction, SchedulerLike, Subscription } from 'rxjs';
import type { AnyActorRef } from 'xstate';
import { AbortedError, ConnectionClosedError, RequestTimeoutError, type WirewardenError } from '../errors.js';
import type { AnyProtocol, ConnectContext, Endpoint, ProbeListener, ProtocolContext, Transport } from '../transport/types.js';
import type { ResolvedConnectionInput, ResolvedHeartbeat } from './connection-input.js';
import type { ConnectionContext } from './connection-types.js';
import { classifyStreamEnd, deathError, describePlainEndpoint } from './death-error.js';
import { returnProbeController, takeProbeController } from './probe-controllers.js';
import { probeDeadlines, type ProbeDeadlines, type ProbeOwner } from './probe-deadlines.js';
import { loadScaledTimeoutMs } from './rtt-estimator.js';
import { preciseNow } from '../scheduler.js';

/** Internal events the live side sends to its machine (only on state changes). */
export const HEARTBEAT_IDLE = Object.freeze({ type: 'ww.heartbeat.idle' as const });
const PROBE_ALIVE = Object.freeze({ type: 'ww.probe.alive' as const });
const PROBE_FAILED = Object.freeze({ type: 'ww.probe.failed' as const });
/** A request of the session got no reply within its timeout (ProtocolContext.requestTimedOut). */
export const REQUEST_TIMED_OUT = Object.freeze({ type: 'ww.request.timedout' as const });

/**
 * A probe's outcome: answered (with its RTT); not answered but inbound traffic arrived
 * meanwhile (alive all the same); or failed (timed out or rejected, and silent).
 */
export type ProbeEvent =
  | { type: 'ww.probe.ok'; rttMs: number }
  | typeof PROBE_ALIVE
  | typeof PROBE_FAILED;

/** Calls `fn`, turning a synchronous throw into a rejection. */
export function attempt<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err as Error);
  }
}

// markAlive wraps the counter inside V8's small-integer range so that a connection
// receiving billions of chunks never turns the field into a boxed heap number.
const ALIVE_MASK = 0x3fffffff;

const registry = new WeakMap<AnyActorRef, ConnectionResources>();

function heartbeatTick(this: SchedulerAction<ConnectionResources>, live?: ConnectionResources): void {
  // No `ticker === undefined` check: on a scheduler that runs 0-delay work synchronously
  // the first tick runs inside `schedule`, before `ticker` is assigned. A disarmed ticker
  // never gets here (its action is unsubscribed).
  if (live === undefined || live.disposed) return;
  // Periodic: rescheduled from inside with the same delay, the action keeps its timer (on
  // `asyncScheduler` the same Node interval), so a tick allocates nothing.
  this.schedule(live, live.intervalMs);
  // A probe in flight (probing, suspect) decides by itself.
  if (live.probeDeadline !== undefined) return;
  if (live.inbound !== live.seen) {
    live.seen = live.inbound;
    return;
  }
  // Leased, or a request out: a probe would enter the user's command stream or queue
  // behind a request (a PING inside MULTI, behind a BLPOP). The requests' own timeouts
  // are the evidence then (DESIGN, connection actor rules).
  if (live.held()) return;
  live.owner.send(HEARTBEAT_IDLE);
}

// Stream listeners are shared module functions (`this` is the stream) rather than two
// closures per connection; the stream finds its connection here.
const streamOwners = new WeakMap<Duplex, ConnectionResources>();

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

/**
 * Connect mode: closes a client `protocol.close(client, signal)`, the signal aborting after
 * `closeTimeoutMs` (the library should then destroy it). Never rejects; the timer goes
 * when the close settles, so nothing outlives it.
 */
export function closeClient(protocol: AnyProtocol, client: unknown, scheduler: SchedulerLike, closeTimeoutMs: number,
  controller = new AbortController()): { done: Promise<void>; timer: Subscription } {
  const timer = scheduler.schedule(() => controller.abort(new RequestTimeoutError(`close did not finish within ${closeTimeoutMs} ms`)), closeTimeoutMs);
  const settled = (): void => timer.unsubscribe();
  return { done: attempt(() => protocol.close(client, controller.signal)).then(settled, settled), timer };
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
 * One connection's resources. Created by the machine; see the module doc.
 * It is also its actor's observer (`complete`/`error` → `dispose`), which spares two
 * closures per connection. Fields are few and fixed: 10k of these must stay small.
 */
export class ConnectionResources implements ProbeOwner, ProbeListener {
  readonly owner: AnyActorRef;
  readonly endpoint: Endpoint;
  readonly protocol: AnyProtocol;
  readonly transport: Transport | undefined;
  readonly connectTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly heartbeat: ResolvedHeartbeat;
  readonly scheduler: SchedulerLike;
  readonly random: () => number;
  readonly loadSource: () => number;
  readonly #leased: (() => boolean) | undefined;
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
  /** Identifies the probe in flight; bumped on cancel so a late reply is ignored. */
  probeGen = 0;
  /** Set while a probe is in flight: its timeout, and whose signal it got. */
  probeDeadline: ProbeDeadlines | undefined = undefined;
  /** This probe's slot in `probeDeadline` (see probe-deadlines.ts). */
  probeSlot = 0;
  probeController: AbortController | undefined = undefined;
  probeStartedAt = 0;
  probeInbound = 0;
  /** The last probe that timed out in this episode, -1 if none: its late answer is an RTT sample. */
  expiredGen = -1;
  expiredStartedAt = 0;
  /** When the first unanswered probe of the current episode was sent (`preciseNow`). */
  silentSinceAt = 0;
  /** The episode's suspicion window after load scaling; 0 until its first failed probe. */
  windowMs = 0;
  /** Why the last probe failed (its timeout, or the rejection), the cause of a heartbeat death. */
  lastProbeFailure: unknown = undefined;
  /** The probe in flight was rejected; its deadline reports it (see `#probeRejected`). */
  probeRejected = false;
  /** A check for "traffic while probing" is queued (see `#checkAlive`). */
  aliveCheckQueued = false;
  /** A `probeWith` reply was just handled: the `markAlive` of its chunk is not traffic. */
  replyInChunk = false;
  /** Identifies the one-shot step running (dial, handshake, close); see connection-steps.ts. */
  stepGen = 0;
  stepTimer: Subscription | undefined = undefined;
  /** Connect mode: the client reported its death (`lost`); later reports are ignored. */
  lostReported = false;
  /** The signal of the `protocol.close` in flight: aborted at `closeTimeoutMs` or by a kill. */
  closer: AbortController | undefined = undefined;
  closeTimer: Subscription | undefined = undefined;
  /** Connect mode: the connect step failed because the client was lost (connection-steps.ts). */
  onLostWhileConnecting: ((error: unknown) => void) | undefined = undefined;

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
    this.#leased = input.leased;
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

  /**
   * The connection's one abort signal: the transport's dial and the protocol's session
   * both get it, and it aborts when the connection ends (or a dial/handshake times out,
   * which ends it too). One controller per incarnation, not one per step.
   */
  signal(): AbortSignal {
    this.abort ??= new AbortController();
    return this.abort.signal;
  }

  /** The context handed to `protocol.open`, created once per connection. */
  protocolContext(): ProtocolContext {
    this.ctx ??= new ConnectionProtocolContext(this.signal(), this.endpoint, this.scheduler, this.#markAlive(), this.#requestTimedOut());
    return this.ctx;
  }

  /** The context handed to `protocol.connect`, created once per connection. */
  connectContext(): ConnectContext {
    this.ctx ??= new ConnectionConnectContext(this.signal(), this.endpoint, this.scheduler, this.#markAlive(), this.#requestTimedOut(),
      (error?: unknown) => this.lost(error));
    return this.ctx as ConnectionConnectContext;
  }

  /**
   * Connect mode: the client died. Before the connect resolved it fails the connect;
   * after, it is handled as a stream's close (the error, if any, is the death's cause).
   * Once only, and never after the end.
   */
  lost(error: unknown): void {
    if (this.disposed || this.lostReported) return;
    this.lostReported = true;
    if (this.session === undefined) {
      this.onLostWhileConnecting?.(error);
      return;
    }
    if (error !== undefined && error !== null) this.streamError ??= error;
    this.owner.send({ type: 'ww.stream.closed', reason: classifyStreamEnd(error) });
  }

  #markAlive(): () => void {
    return () => {
      // The chunk that carried a `probeWith` reply: already accounted for by the probe.
      if (this.replyInChunk) {
        this.replyInChunk = false;
        return;
      }
      this.inbound = (this.inbound + 1) & ALIVE_MASK;
      // A probe is out: let the chunk's own processing finish (its reply may be in it),
      // then decide. At most one check per probe.
      if (this.probeDeadline !== undefined && !this.aliveCheckQueued) {
        this.aliveCheckQueued = true;
        // A closure per check, not one kept per connection: this path is rare (traffic
        // other than a probe's reply while the probe is out), and 10k idle connections
        // would each carry the closure for nothing.
        if (this.stream !== undefined) queueMicrotask(() => this.#checkAlive());
        // Connect mode: the library's reply reaches the probe through promise hops of its
        // own and the user's `async` probe, so a microtask would decide before the probe
        // settled and drop its RTT. The check waits for the event loop's next turn, after
        // every continuation of the chunk (one immediate per probe, only when traffic came).
        else setImmediate(() => this.#checkAlive());
      }
    };
  }

  #requestTimedOut(): () => void {
    return () => {
      // Rare (a request went unanswered): one event; a probe or watch already out decides alone.
      if (!this.disposed && this.probeDeadline === undefined) this.owner.send(REQUEST_TIMED_OUT);
    };
  }

  /**
   * `protocol.close` of the session, its signal aborting at `closeTimeoutMs` (or at a
   * kill, see `dispose`). Resolves either way.
   */
  closeSession(session: unknown): Promise<void> {
    const controller = (this.closer = new AbortController());
    const { done, timer } = closeClient(this.protocol, session, this.scheduler, this.closeTimeoutMs, controller);
    this.closeTimer = timer;
    return done;
  }

  /** Starts a one-shot step: returns its generation (a later outcome checks it). */
  beginStep(): number {
    this.cancelStep();
    return this.stepGen;
  }

  /** The step reported: its deadline goes. */
  endStep(): void {
    this.stepTimer?.unsubscribe();
    this.stepTimer = undefined;
  }

  /** Drops the running step, if any: its deadline goes and its outcome will be ignored. */
  cancelStep(): void {
    this.stepGen++;
    this.endStep();
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
   * Arms the idle check on entering `ready`. The ticker is periodic, on a grid of its own:
   * the first tick is phase-jittered uniformly in [0, intervalMs) so that connections
   * opened together do not probe together, later ones come every `intervalMs` and skip
   * while a probe is in flight. Coming back from a probe only resets the traffic mark
   * (the reply is not traffic); the ticker is re-created only when the interval changed
   * (adaptive heartbeat).
   */
  armHeartbeat(intervalMs: number): void {
    this.seen = this.inbound;
    if (this.ticker !== undefined && intervalMs === this.intervalMs) return;
    this.disarmHeartbeat();
    this.intervalMs = intervalMs;
    let delayMs = intervalMs;
    if (!this.phased) {
      this.phased = true;
      const r = this.random();
      delayMs = r > 0 && r < 1 ? Math.floor(r * intervalMs) : 0;
    }
    this.ticker = this.scheduler.schedule(heartbeatTick, delayMs, this);
  }

  /** Leased by its owner, or the session has a request in flight: no probe now. */
  held(): boolean {
    if (this.#leased?.() === true) return true;
    const busy = this.protocol.busy;
    return busy !== undefined && this.session !== undefined && busy.call(this.protocol, this.session) === true;
  }

  /**
   * A probe went unanswered: how much of the suspicion window is left, in ms (≤ 0: the
   * peer has been silent for all of it). The window is load-scaled like a probe timeout
   * (a saturated loop reads replies late).
   */
  windowLeftMs(): number {
    // Scaled again at each failed probe and never shrunk: a load that rises during the
    // episode widens the window, as it widens the probes.
    const hb = this.heartbeat;
    const scaled = loadScaledTimeoutMs(hb.suspicionWindowMs, hb.eluWeight, this.loadSource());
    if (scaled > this.windowMs) this.windowMs = scaled;
    return this.silentSinceAt + this.windowMs - preciseNow(this.scheduler);
  }

  /** A new probe episode starts with the probe just sent (entering `probing`). */
  beginEpisode(): void {
    this.silentSinceAt = this.probeStartedAt;
    this.windowMs = 0;
    this.expiredGen = -1;
  }

  /** A suspicion ended (the peer answered): its failure, an Error with a stack, is not kept. */
  endSuspicion(): void {
    this.lastProbeFailure = undefined;
  }

  disarmHeartbeat(): void {
    this.ticker?.unsubscribe();
    this.ticker = undefined;
  }

  /**
   * Sends one probe with a load-scaled timeout; reports the outcome as one event. The
   * ticker keeps its period meanwhile (its ticks skip while the probe is in flight). A
   * suspect re-entry follows a probe that already timed out, so `cancelProbe` is a no-op
   * on the heartbeat path.
   */
  startProbe(baseTimeoutMs: number, capMs = Number.POSITIVE_INFINITY, watchOnly = false): void {
    this.cancelProbe();
    const gen = this.probeGen;
    const scaled = loadScaledTimeoutMs(baseTimeoutMs, this.heartbeat.eluWeight, this.loadSource());
    // A suspect probe never outlasts the suspicion window: it ends when the window does.
    const timeoutMs = scaled <= capMs ? scaled : Math.max(1, Math.ceil(capMs));
    const controller = (this.probeController = takeProbeController());
    this.probeStartedAt = preciseNow(this.scheduler);
    this.probeInbound = this.inbound;
    (this.probeDeadline = probeDeadlines(this.scheduler, timeoutMs)).add(this);
    // A held connection (leased, a request out) gets no probe even while suspect: only the
    // deadline runs, and any inbound byte before it ends the suspicion (`#checkAlive`).
    if (watchOnly) return;
    const protocol = this.protocol;
    if (protocol.probeWith !== undefined) {
      // The callback form (wire()): no promise, closure or reaction per heartbeat.
      try {
        protocol.probeWith(this.session, controller.signal, this, gen);
      } catch (err) {
        this.#probeRejected(gen, err);
      }
      return;
    }
    let reply: PromiseLike<void>;
    try {
      reply = this.protocol.probe(this.session, controller.signal);
    } catch (err) {
      reply = Promise.reject(err as Error);
    }
    // `then` on what `probe` returned (a promise per the Protocol contract), with no
    // `Promise.resolve` wrapper: one reaction per outcome. A plain value still counts.
    if (typeof (reply as PromiseLike<void> | undefined)?.then !== 'function') reply = Promise.resolve(reply);
    reply.then(
      () => this.#probeAnswered(gen),
      (err: unknown) => this.#probeRejected(gen, err),
    );
  }

  /**
   * Inbound traffic arrived while a probe was out and the probe is still unanswered: the
   * peer is alive, so the connection is `ready` at once (DESIGN: any inbound traffic ends
   * `probing`) rather than when the probe times out. The probe is dropped (its reply, if
   * it ever comes, is stale).
   */
  #checkAlive(): void {
    this.aliveCheckQueued = false;
    if (this.disposed || this.probeDeadline === undefined || this.inbound === this.probeInbound) return;
    this.cancelProbe();
    this.owner.send(PROBE_ALIVE);
  }

  /** The probe's deadline passed (probe-deadlines.ts removed it from its list). */
  probeExpired(): void {
    if (this.disposed || this.probeDeadline === undefined) return;
    const timeoutMs = this.probeDeadline.timeoutMs;
    this.probeDeadline = undefined;
    this.expiredGen = this.probeGen;
    this.expiredStartedAt = this.probeStartedAt;
    const timeout = new RequestTimeoutError(`probe to ${this.where} got no reply within ${timeoutMs} ms`);
    if (this.probeRejected) this.probeRejected = false;
    else this.lastProbeFailure = timeout;
    this.dropProbeController(timeout);
    this.owner.send(this.inbound !== this.probeInbound ? PROBE_ALIVE : PROBE_FAILED);
  }

  /**
   * The `ProbeListener` side of `probeWith`. An answer arrives while the protocol handles
   * the chunk that carried it, and `markAlive` follows for that chunk: it must not count
   * as traffic, or the next tick would skip its probe (a reply is not traffic).
   */
  probeSettled(gen: number, answered: boolean): void {
    if (!answered) return this.#probeRejected(gen, undefined);
    if (gen === this.probeGen && this.probeDeadline !== undefined) this.replyInChunk = true;
    this.#probeAnswered(gen);
  }

  /**
   * The `ProbeListener` side of a late answer: the probe that last timed out in this
   * episode was answered after all, while its successor (suspect) is out. It ends the
   * suspicion as any traffic would, but as a measured round trip: probe ids are unique,
   * so the sample is not ambiguous (Karn's rule is about retransmissions sharing one), and
   * without it the estimator never learns a path that became slower than the timeout —
   * every probe would time out and be rescued by its own late reply, for as long as the
   * latency lasts.
   */
  probeAnsweredLate(gen: number): void {
    if (gen !== this.expiredGen || this.probeDeadline === undefined || this.disposed) return;
    this.expiredGen = -1;
    // Its chunk's `markAlive` is not traffic (the next tick must still probe).
    this.replyInChunk = true;
    const rttMs = preciseNow(this.scheduler) - this.expiredStartedAt;
    this.cancelProbe();
    this.owner.send({ type: 'ww.probe.ok', rttMs });
  }

  #probeAnswered(gen: number): void {
    // Stale (cancelled, or superseded) or already timed out: the timer has reported.
    if (gen !== this.probeGen || this.probeDeadline === undefined || this.disposed) return;
    this.probeDeadline.delete(this);
    this.probeDeadline = undefined;
    const controller = this.probeController;
    this.probeController = undefined;
    if (controller !== undefined) returnProbeController(controller);
    this.owner.send({ type: 'ww.probe.ok', rttMs: preciseNow(this.scheduler) - this.probeStartedAt });
  }

  /**
   * A probe that failed without an answer (rejected: the session refused it) says nothing
   * about how long the peer has been silent, so its deadline still decides: the failure
   * is recorded and reported when the timeout expires. Otherwise a session rejecting at
   * once would turn the suspicion window into a hot loop of probes.
   */
  #probeRejected(gen: number, failure: unknown): void {
    if (gen !== this.probeGen || this.probeDeadline === undefined || this.disposed) return;
    this.lastProbeFailure = failure ?? new ConnectionClosedError(`probe to ${this.where} failed`);
    this.probeRejected = true;
  }

  /** Drops the probe in flight, if any: its timer goes, its signal aborts, its reply is ignored. */
  cancelProbe(): void {
    this.probeGen++;
    this.probeRejected = false;
    if (this.probeDeadline === undefined) return;
    this.probeDeadline.delete(this);
    this.probeDeadline = undefined;
    this.dropProbeController(new AbortedError(`probe to ${this.where} cancelled`));
  }

  /** Aborts the probe signal (its probe was abandoned): that controller is not reused. */
  dropProbeController(reason: WirewardenError): void {
    const controller = this.probeController;
    this.probeController = undefined;
    controller?.abort(reason);
  }

  /** Leaving the heartbeat (`closing`, `dead`): no more ticks, no probe in flight. */
  quiesce(): void {
    this.disarmHeartbeat();
    this.cancelProbe();
  }

  /** Records the error that goes into the final output (see death-error.ts). */
  settle(context: ConnectionContext, event: { type: string; error?: unknown }): void {
    const silence = context.reason === 'heartbeat-timeout'
      ? { silentMs: Math.round(preciseNow(this.scheduler) - this.silentSinceAt), windowMs: this.windowMs, cause: this.lastProbeFailure }
      : undefined;
    this.finalError = deathError(context, event, this.streamError, this.where, silence);
  }

  /**
   * Releases everything; idempotent. Runs when the actor completes, errors or is stopped.
   * A stream is destroyed; a connect-mode client, which has no stream wirewarden could
   * destroy, is closed (`protocol.close` within `closeTimeoutMs`) unless a graceful close
   * already ran, whose signal aborts now (the end came first: a kill, or the client lost).
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.quiesce();
    this.cancelStep();
    const ended = new AbortedError(`connection to ${this.where} ended`);
    this.abortSession(ended);
    const stream = this.stream;
    const session = this.session;
    this.stream = undefined;
    this.session = undefined;
    this.onLostWhileConnecting = undefined;
    if (this.closer !== undefined) {
      // The end came first: the close is cut short, and its bound goes with it.
      this.closeTimer?.unsubscribe();
      if (!this.closer.signal.aborted) this.closer.abort(ended);
    } else if (stream === undefined && session !== undefined) {
      void closeClient(this.protocol, session, this.scheduler, this.closeTimeoutMs);
    }
    if (stream && !stream.destroyed) stream.destroy();
  }
}

/** @internal The live half of a connection actor, if `ref` is one. */
export function resourcesOf(ref: AnyActorRef | undefined): ConnectionResources | undefined {
  return ref === undefined ? undefined : registry.get(ref);
}

