/**
 * `connectionMachine`: one network connection as an XState v5 actor.
 *
 *                  ┌───────── reply, or inbound traffic ─────────┐
 *                  ▼                                              │
 *   dialing ────▶ ready ──── tick without traffic, ───▶ probing ──┤
 *   connecting      │  ▲     not leased, not busy          │ no reply
 *   → handshaking   │  └─ one success (false suspicion) ── suspect ◀┘ (probes, longer each
 *      │            └──── a held request timed out ──────▶   │       time; none while held)
 *      │ dial / handshake failed     stream end, KILL      │ silent for the whole window
 *      └───────────────────────────▶ dead (final) ◀────────┘
 *
 *   CLOSE: dialing → closed;  ready | probing | suspect → closing → closed (final)
 *   KILL { reason }: any non-final state → dead
 *   A connect protocol (a library that dials by itself) connects and handshakes in one
 *   step: connecting → ready, never handshaking; its client's lost() is the stream close.
 *
 * The machine never retries: dying is its error handling, the supervisor restarts it.
 * Final output: `{ reason, error?, uptimeMs }` (`closed` is a normal exit).
 *
 * Why a hand-written `ActorLogic` and not `setup().createMachine()`: every idle
 * connection goes ready → probing → ready once per interval, and an interpreted XState
 * transition costs ~8 µs and ~10 KB of short-lived garbage whatever the machine does
 * (snapshot clone, state-node sets, action resolution); at 10k connections those two
 * transitions alone were more than the whole bare-socket heartbeat. Here a transition is
 * a switch, one context object and one snapshot (~1 µs). What users see does not change:
 * it is an ordinary XState actor (`createActor`, `subscribe`, `send`, a child of a
 * supervisor, done/error events to its parent), its snapshots have the machine's shape
 * (`value`, `context`, `status`, `output`, `matches`), and `config` is the statechart
 * (connection-chart.ts) so the Stately inspector draws it and highlights the state.
 *
 * Other trade-offs, so that 10k idle connections stay cheap and the data path stays off
 * the mailbox:
 * - No event per frame. Inbound traffic only bumps a counter (`markAlive`); the heartbeat
 *   tick compares it. Only state changes are events.
 * - The ticker, the probes and the one-shot steps (dial, handshake, close) live in the
 *   connection's resources (connection-resources.ts, connection-steps.ts): no child actor.
 * - Timers run on the injected RxJS scheduler.
 * - Context is plain data (health figures, counters, endpoint without secrets,
 *   timestamps); streams, sessions and the protocol live in `liveConnection(ref)`.
 * - Not restorable: a connection's socket does not survive persistence.
 *
 * Services (scheduler, random, loadSource) come from the input when given, else from the
 * runtime the actor runs in (`servicesOf(self.system)`).
 */
import type { ActorLogic, ActorScope, ActorSystem } from 'xstate';
import { InvalidOptionError } from '../errors.js';
import { servicesOf } from '../services.js';
import { lengthenIntervalMs, shortenIntervalMs } from './adaptive-interval.js';
import { connectionChart } from './connection-chart.js';
import { copyContext } from './connection-context.js';
import { parseConnectionInput } from './connection-input.js';
import { ConnectionResources, HEARTBEAT_IDLE, REQUEST_TIMED_OUT, resourcesOf, type ProbeEvent } from './connection-resources.js';
import {
  activeSnapshot, CONNECTING, doneSnapshot, flatState, HANDSHAKING, persistedSnapshot, stoppedSnapshot,
  type ConnectionSnapshot,
} from './connection-snapshot.js';
import { startClose, startDial, startHandshake, type StepEvent } from './connection-steps.js';
import type {
  ConnectionCommand, ConnectionContext, ConnectionInput, ConnectionOutput, DeadReason, PlainEndpoint,
} from './connection-types.js';
import type { StreamEndReason } from './death-error.js';
import { retransmitTimeoutMs, suspectTimeoutMs, updateRttEstimate } from './rtt-estimator.js';

/** Internal events: sent by the live half and the steps, never per frame. */
export type ConnectionInternalEvent =
  | typeof HEARTBEAT_IDLE
  | typeof REQUEST_TIMED_OUT
  | { type: 'ww.stream.closed'; reason: StreamEndReason }
  | ProbeEvent
  | StepEvent;

export type ConnectionEvent = ConnectionCommand | ConnectionInternalEvent;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- runs in any actor system
type AnyActorSystem = ActorSystem<any>;

type Scope = ActorScope<ConnectionSnapshot, ConnectionEvent, AnyActorSystem>;
type Event = ConnectionEvent | { type: 'xstate.stop' } | { type: string; error?: unknown };

function plainEndpoint(e: { host?: string; port?: number; path?: string }): PlainEndpoint {
  return e.path !== undefined ? { path: e.path } : { host: e.host ?? '127.0.0.1', port: e.port };
}

function initialContext(input: ConnectionInput, scope: Scope): ConnectionContext {
  const parsed = parseConnectionInput(input);
  const { self } = scope;
  const services = servicesOf(scope.system);
  const scheduler = parsed.scheduler ?? services.scheduler;
  const live = new ConnectionResources(self, parsed, input.endpoint, scheduler, parsed.random ?? services.random,
    parsed.loadSource ?? services.loadSource);
  // An actor stopped from outside before it started never transitions; completion and
  // errors reach observers in every case, so the live half also cleans up from there.
  self.subscribe(live);
  const hb = parsed.heartbeat;
  const now = scheduler.now();
  return {
    endpoint: plainEndpoint(parsed.endpoint),
    protocol: typeof parsed.protocol.name === 'string' ? parsed.protocol.name : 'custom',
    heartbeat: hb,
    startedAt: now,
    readyAt: undefined,
    since: now,
    rttMs: undefined,
    srttMs: undefined,
    rttvarMs: undefined,
    probeTimeoutMs: hb.maxTimeoutMs,
    intervalMs: hb.intervalMs,
    probesSent: 0,
    probesFailed: 0,
    falseSuspicions: 0,
    suspectAttempt: 0,
    silentSince: undefined,
    attemptTimeoutMs: hb.maxTimeoutMs,
    reason: undefined,
  };
}

/** `ready`: from the handshake (first time) or back from a probe. */
function enterReady(live: ConnectionResources, context: ConnectionContext): ConnectionSnapshot {
  live.armHeartbeat(context.intervalMs);
  return activeSnapshot('ready', context);
}

/** The estimator, timeout, interval and false-suspicion bookkeeping of a probe that came back. */
function backToReady(live: ConnectionResources, c: ConnectionContext, event: ProbeEvent, fromSuspect: boolean): ConnectionSnapshot {
  const hb = c.heartbeat;
  const next = copyContext(c, live.scheduler.now());
  if (fromSuspect) {
    live.endSuspicion();
    next.falseSuspicions++;
    if (hb.adaptive) next.intervalMs = shortenIntervalMs(c.intervalMs, hb.minIntervalMs);
  }
  next.suspectAttempt = 0;
  next.silentSince = undefined;
  if (event.type === 'ww.probe.ok') {
    const prev = c.srttMs === undefined || c.rttvarMs === undefined ? undefined : { srttMs: c.srttMs, rttvarMs: c.rttvarMs };
    const est = updateRttEstimate(prev, event.rttMs);
    next.rttMs = event.rttMs;
    next.srttMs = est.srttMs;
    next.rttvarMs = est.rttvarMs;
    next.probeTimeoutMs = retransmitTimeoutMs(est, hb);
    // Lengthened only from `probing`: a false suspicion never lengthens it.
    if (!fromSuspect && hb.adaptive) next.intervalMs = lengthenIntervalMs(c.intervalMs, est, hb.maxIntervalMs);
  }
  return enterReady(live, next);
}

function enterProbing(live: ConnectionResources, c: ConnectionContext): ConnectionSnapshot {
  const next = copyContext(c, live.scheduler.now());
  next.probesSent++;
  next.suspectAttempt = 0;
  next.attemptTimeoutMs = c.probeTimeoutMs;
  next.silentSince = next.since;
  live.startProbe(next.attemptTimeoutMs);
  live.beginEpisode();
  return activeSnapshot('probing', next);
}

/**
 * `suspect`, entered (or re-entered) after a failed probe, which is counted here. The next
 * probe waits longer (× suspectBackoffMultiplier, at most maxTimeoutMs) but never past the
 * end of the suspicion window, `windowLeftMs`.
 */
function enterSuspect(live: ConnectionResources, c: ConnectionContext, windowLeftMs: number): ConnectionSnapshot {
  const next = copyContext(c, live.scheduler.now());
  next.probesFailed++;
  next.probesSent++;
  next.suspectAttempt++;
  next.attemptTimeoutMs = suspectTimeoutMs(c.attemptTimeoutMs, c.heartbeat.suspectBackoffMultiplier, c.heartbeat.maxTimeoutMs);
  live.startProbe(next.attemptTimeoutMs, windowLeftMs, live.held());
  return activeSnapshot('suspect', next);
}

/**
 * A request went unanswered within its own timeout while the connection was `ready` (the
 * evidence of a held connection, which is never probed): suspect at once, and a new
 * episode of the suspicion window starts now. The first suspect probe (or, while still
 * held, a watch without a probe) waits one RTO.
 */
function suspectAfterRequestTimeout(live: ConnectionResources, c: ConnectionContext): ConnectionSnapshot {
  const next = copyContext(c, live.scheduler.now());
  next.probesSent++;
  next.suspectAttempt = 1;
  next.attemptTimeoutMs = c.probeTimeoutMs;
  next.silentSince = next.since;
  live.startProbe(next.attemptTimeoutMs, c.heartbeat.suspicionWindowMs, live.held());
  live.beginEpisode();
  return activeSnapshot('suspect', next);
}

/**
 * A probe went unanswered (in `probing` or `suspect`). Suspicion is fast, death patient:
 * `dead` only once the peer has been silent for the whole suspicion window, else
 * (another) suspect probe. A stall shorter than the window never kills.
 */
function probeFailed(live: ConnectionResources, c: ConnectionContext, event: Event): ConnectionSnapshot {
  const leftMs = live.windowLeftMs();
  return leftMs <= 0 ? die(live, c, 'heartbeat-timeout', event, true) : enterSuspect(live, c, leftMs);
}

function die(
  live: ConnectionResources, c: ConnectionContext, reason: DeadReason, event: Event, failedProbe = false,
  pace?: ConnectionOutput['restartPace'],
): ConnectionSnapshot {
  live.quiesce();
  const next = copyContext(c, live.scheduler.now());
  next.reason = reason;
  if (failedProbe) next.probesFailed++;
  live.settle(next, event as { type: string; error?: unknown });
  const error = live.finalError;
  const uptimeMs = next.readyAt === undefined ? 0 : next.since - next.readyAt;
  // A handshake refused for good: retrying soon cannot help (the pool fails callers fast).
  const restartPace = pace ?? (error?.code === 'WW_HANDSHAKE_REFUSED' ? 'slowest' : undefined);
  const output: ConnectionOutput = error === undefined ? { reason, uptimeMs } : { reason, error, uptimeMs };
  return doneSnapshot('dead', next, restartPace === undefined ? output : { ...output, restartPace });
}

function close(live: ConnectionResources, c: ConnectionContext): ConnectionSnapshot {
  const next = copyContext(c, live.scheduler.now());
  next.reason = 'closed';
  const uptimeMs = next.readyAt === undefined ? 0 : next.since - next.readyAt;
  return doneSnapshot('closed', next, { reason: 'closed', uptimeMs });
}

function enterClosing(live: ConnectionResources, c: ConnectionContext): ConnectionSnapshot {
  live.quiesce();
  const snapshot = activeSnapshot('closing', copyContext(c, live.scheduler.now()));
  startClose(live);
  return snapshot;
}

/** One event in one state: the chart in connection-chart.ts, as code. */
function transition(snapshot: ConnectionSnapshot, event: Event, scope: Scope): ConnectionSnapshot {
  if (snapshot.status !== 'active') return snapshot;
  if (event.type === 'xstate.stop') return stoppedSnapshot(snapshot);
  const live = resourcesOf(scope.self);
  if (live === undefined) return snapshot;
  const state = flatState(snapshot.value);
  const c = snapshot.context;
  const dialing = state === 'connecting' || state === 'handshaking';
  const e = event as ConnectionEvent;
  switch (e.type) {
    case 'KILL':
      return die(live, c, e.reason, e, false, e.retire === true ? 'immediate' : undefined);
    case 'ww.stream.closed':
      if (state === 'closing') return close(live, c);
      return die(live, c, dialing ? 'handshake-failed' : e.reason, e);
    case 'CLOSE':
      if (dialing) return close(live, c);
      return state === 'closing' ? snapshot : enterClosing(live, c);
    case 'ww.dial.done':
      if (state !== 'connecting') return snapshot;
      startHandshake(live);
      return activeSnapshot(HANDSHAKING, c);
    case 'ww.dial.failed':
      return state === 'connecting' ? die(live, c, 'dial-failed', e) : snapshot;
    case 'ww.connect.done':
    case 'ww.handshake.done': {
      // A connect protocol's one step (dial and handshake) ends in `connecting`.
      if (state !== (e.type === 'ww.connect.done' ? 'connecting' : 'handshaking')) return snapshot;
      const next = copyContext(c, live.scheduler.now());
      next.readyAt ??= next.since;
      return enterReady(live, next);
    }
    case 'ww.handshake.failed':
      return state === 'handshaking' ? die(live, c, 'handshake-failed', e) : snapshot;
    case 'ww.heartbeat.idle':
      return state === 'ready' ? enterProbing(live, c) : snapshot;
    case 'ww.request.timedout':
      return state === 'ready' ? suspectAfterRequestTimeout(live, c) : snapshot;
    case 'ww.probe.ok':
    case 'ww.probe.alive':
      if (state === 'probing' || state === 'suspect') return backToReady(live, c, e, state === 'suspect');
      return snapshot;
    case 'ww.probe.failed':
      return state === 'probing' || state === 'suspect' ? probeFailed(live, c, e) : snapshot;
    case 'ww.close.done':
      return state === 'closing' ? close(live, c) : snapshot;
    default:
      return snapshot;
  }
}

export type ConnectionLogic = ActorLogic<ConnectionSnapshot, ConnectionEvent, ConnectionInput, AnyActorSystem>;

/**
 * The connection actor logic. Spawn it under a supervisor (or `createActor` it) with a
 * {@link ConnectionInput}; watch snapshots for state changes; send `CLOSE` or `KILL`.
 *
 * @example
 * const actor = createActor(connectionMachine, {
 *   input: { endpoint: { host: '127.0.0.1', port: 7000 }, protocol: wire({ token }), heartbeat: { intervalMs: 1000 } },
 * });
 * actor.subscribe({ next: (s) => console.log(connectionState(s)), error: console.error });
 * actor.start();
 * // later
 * actor.send({ type: 'CLOSE' });
 */
export const connectionMachine: ConnectionLogic = {
  config: connectionChart,
  getInitialSnapshot(scope, input) {
    return activeSnapshot(CONNECTING, initialContext(input, scope));
  },
  start(snapshot, scope) {
    const live = resourcesOf(scope.self);
    if (live !== undefined && snapshot.status === 'active' && flatState(snapshot.value) === 'connecting') startDial(live);
  },
  transition,
  getPersistedSnapshot(snapshot) {
    return persistedSnapshot(snapshot) as ConnectionSnapshot;
  },
  restoreSnapshot() {
    throw new InvalidOptionError('a connection actor cannot be restored from a persisted snapshot: its socket does not survive persistence; start a new one');
  },
};
