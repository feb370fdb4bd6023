/**
 * `connectionModel`: the connection's statechart as a real XState machine — the source of
 * truth. Its `config` is what `connectionMachine.config` returns, so the Stately inspector
 * and editor draw it (guards and actions included), and XState's own tools run on it:
 * `transition()`, `getNextSnapshot()`, `getShortestPaths()` / `getSimplePaths()` from
 * `xstate/graph`. It is executable too: `createActor(connectionModel, { input })` is a
 * working connection, interpreted by XState, with the same effects.
 *
 *                  ┌───────── reply, or inbound traffic ─────────┐
 *                  ▼                                              │
 *   dialing ────▶ ready ──── tick without traffic, ───▶ probing ──┤
 *   connecting      │  ▲     not leased, not busy          │ no reply
 *   → handshaking   │  └─ one success (false suspicion) ── suspect ◀┘ (probes, longer each
 *      │            └──── a held request timed out ──────▶   │       time; none while held)
 *      │ dial / handshake failed     stream end, KILL      │ [suspicionWindowEnded]
 *      └───────────────────────────▶ dead (final) ◀────────┘
 *
 *   CLOSE: dialing → closed;  ready | probing | suspect → closing → closed (final)
 *   KILL { reason }: any non-final state → dead
 *
 * The runtime does not interpret it: every idle connection makes two transitions per
 * heartbeat, and an interpreted transition costs ~8 µs and ~10 KB of garbage. It runs
 * `connectionMachine`, whose transition is the same chart as a pure function
 * (connection-transition.ts); tests compare the two cell by cell and path by path.
 *
 * Named guards and actions:
 * - guard `suspicionWindowEnded`: a failed probe's event says the peer has been silent for
 *   the whole suspicion window (dead), else the connection is suspect (again);
 * - context updates (`assign`): `stampChange`, `markReady`, `countProbe`,
 *   `countRequestTimeout`, `countFailedProbe`, `recordProbeAnswer`, `recordFalseSuspicion`,
 *   `recordDeath` (reason from params or from the event), `recordClose`
 *   (connection-updates.ts);
 * - effects (entry actions, connection-effects.ts): `startDial`, `startHandshake`,
 *   `armHeartbeat`, `startProbe`, `quiesce`, `startClose`. On an actor with a live half
 *   they run on it; in a pure `transition()` XState returns them, unexecuted.
 *
 * Final states carry the output (`{ reason, error?, uptimeMs, restartPace? }`), computed
 * from the context and the event that ended the connection.
 */
import { assign, setup, type ActorSystem, type AnyActorRef } from 'xstate';
import type { ConnectionEvent } from './connection-events.js';
import { suspicionWindowEnded } from './connection-events.js';
import type { HeartbeatParams, ProbeParams } from './connection-effects.js';
import type { ConnectionInput, ConnectionContext, ConnectionOutput, DeadReason } from './connection-types.js';
import { connectionClock, resourcesOf } from './connection-resources.js';
import { initialConnection } from './initial-connection.js';
import { refuseRestore } from './restore-refused.js';
import {
  closed, closedOutput, deadOutput, died, probeAnswered, probeFailed, probeSent, readied, requestTimedOut, stamped,
} from './connection-updates.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- runs in any actor system
type AnySystem = ActorSystem<any>;

interface ActionArgs {
  readonly context: ConnectionContext;
  readonly event: ConnectionEvent;
  readonly self: AnyActorRef;
  readonly system: AnySystem;
}

/** The time of a transition: the connection's clock (see `connectionClock`). */
function now({ self, system }: { self: AnyActorRef; system: AnySystem }): number {
  return connectionClock(self, system).now();
}

/** `recordDeath`'s reason: its params' (a step failed, the heartbeat timed out) or the event's (KILL, a stream's end). */
function deathReason(event: ConnectionEvent, params: { reason?: DeadReason } | undefined): DeadReason {
  if (params?.reason !== undefined) return params.reason;
  return event.type === 'KILL' || event.type === 'ww.stream.closed' ? event.reason : 'socket-error';
}

/** `armHeartbeat` entering `ready`: tick at the context's (maybe adapted) interval. */
function heartbeatParams({ context }: { context: ConnectionContext }): HeartbeatParams {
  return { intervalMs: context.intervalMs };
}

/** `startProbe` entering `probing`: a tick's probe opens an episode; nothing caps it. */
function probingProbeParams({ context }: { context: ConnectionContext }): ProbeParams {
  return { timeoutMs: context.attemptTimeoutMs, capMs: undefined, newEpisode: true, watchIfHeld: false };
}

/**
 * `startProbe` entering `suspect`: after a failed probe the next one continues the episode
 * and ends with the window; after a request timeout the episode (and its window) starts now.
 * A held connection is only watched.
 */
function suspectProbeParams({ context, event }: { context: ConnectionContext; event: ConnectionEvent }): ProbeParams {
  const failed = event.type === 'ww.probe.failed';
  return {
    timeoutMs: context.attemptTimeoutMs,
    capMs: failed ? event.windowMs - event.silentMs : context.heartbeat.suspicionWindowMs,
    newEpisode: !failed,
    watchIfHeld: true,
  };
}

const toDead = { target: '#connection.dead', actions: 'recordDeath' } as const;

/** Leaving a heartbeat state (ready, probing, suspect): closing, or dead. */
const leaveHeartbeat = {
  KILL: toDead,
  'ww.stream.closed': toDead,
  CLOSE: { target: '#connection.closing', actions: 'stampChange' },
} as const;

/** A probe's outcome in `probing` or `suspect`. */
function probeOutcomes(answered: 'recordProbeAnswer' | 'recordFalseSuspicion') {
  return {
    'ww.probe.ok': { target: '#connection.ready', actions: answered },
    'ww.probe.alive': { target: '#connection.ready', actions: answered },
    'ww.probe.failed': [
      { guard: 'suspicionWindowEnded', target: '#connection.dead', actions: { type: 'recordDeath', params: { reason: 'heartbeat-timeout' } } },
      { target: '#connection.suspect', reenter: true, actions: 'countFailedProbe' },
    ],
  } as const;
}

/**
 * `createActor(connectionModel, { snapshot })` fails like `connectionMachine`'s
 * (WW_INVALID_OPTION, restore-refused.ts): XState would restore the context but no live
 * half, an actor that never dials, ticks nor probes. The machine's `restoreSnapshot` is an
 * own (bound) property, replaced here; a machine derived with `.provide()` is XState's
 * plain one again.
 */
function refusingRestore<M extends { restoreSnapshot: unknown }>(machine: M): M {
  machine.restoreSnapshot = refuseRestore;
  return machine;
}

/**
 * The connection statechart as an XState machine (see the module doc). Mostly for tools:
 * the Stately editor, `xstate/graph`, `transition()`. Spawn `connectionMachine` to run
 * connections; it is this chart at a fraction of the cost.
 *
 * @example
 * import { getShortestPaths } from 'xstate/graph';
 * const paths = getShortestPaths(connectionModel, {
 *   input: { endpoint: { port: 6379 }, protocol: resp() },
 *   events: connectionModelEvents,
 *   serializeState: (s) => JSON.stringify(s.value),
 * });
 */
export const connectionModel = refusingRestore(setup({
  types: {} as {
    context: ConnectionContext;
    events: ConnectionEvent;
    input: ConnectionInput;
    output: ConnectionOutput;
  },
  guards: {
    suspicionWindowEnded: ({ event }) => event.type === 'ww.probe.failed' && suspicionWindowEnded(event),
  },
  actions: {
    stampChange: assign((a: ActionArgs) => stamped(a.context, now(a))),
    markReady: assign((a: ActionArgs) => readied(a.context, now(a))),
    countProbe: assign((a: ActionArgs) => probeSent(a.context, now(a))),
    countRequestTimeout: assign((a: ActionArgs) => requestTimedOut(a.context, now(a))),
    countFailedProbe: assign((a: ActionArgs) => probeFailed(a.context, now(a))),
    recordProbeAnswer: assign((a: ActionArgs) => probeAnswered(a.context, a.event, now(a), false)),
    recordFalseSuspicion: assign((a: ActionArgs) => probeAnswered(a.context, a.event, now(a), true)),
    recordDeath: assign((a: ActionArgs, params: { reason?: DeadReason } | undefined) => died(a.context, deathReason(a.event, params), now(a))),
    recordClose: assign((a: ActionArgs) => closed(a.context, now(a))),
    startDial: ({ self }) => resourcesOf(self)?.steps.dial(),
    startHandshake: ({ self }) => resourcesOf(self)?.steps.handshake(),
    armHeartbeat: ({ self }, params: HeartbeatParams) => resourcesOf(self)?.ticker.arm(params.intervalMs),
    startProbe: ({ self }, p: ProbeParams) => resourcesOf(self)?.probes.start(p.timeoutMs, p.capMs, p.newEpisode, p.watchIfHeld),
    quiesce: ({ self }) => resourcesOf(self)?.quiesce(),
    startClose: ({ self }) => resourcesOf(self)?.steps.close(),
  },
}).createMachine({
  id: 'connection',
  initial: 'dialing',
  context: ({ input, self }) => initialConnection(input, self, self.system),
  states: {
    dialing: {
      initial: 'connecting',
      on: {
        KILL: toDead,
        CLOSE: { target: '#connection.closed', actions: 'recordClose' },
      },
      states: {
        connecting: {
          entry: 'startDial',
          on: {
            'ww.dial.done': { target: 'handshaking', actions: 'stampChange' },
            // A connect protocol (custom({ connect })) dials and handshakes in this one step.
            'ww.connect.done': { target: '#connection.ready', actions: 'markReady' },
            'ww.dial.failed': { target: '#connection.dead', actions: { type: 'recordDeath', params: { reason: 'dial-failed' } } },
          },
        },
        handshaking: {
          entry: 'startHandshake',
          on: {
            'ww.handshake.done': { target: '#connection.ready', actions: 'markReady' },
            'ww.handshake.failed': { target: '#connection.dead', actions: { type: 'recordDeath', params: { reason: 'handshake-failed' } } },
            // The stream exists from here on; losing it now is a failed handshake.
            'ww.stream.closed': { target: '#connection.dead', actions: { type: 'recordDeath', params: { reason: 'handshake-failed' } } },
          },
        },
      },
    },
    ready: {
      entry: { type: 'armHeartbeat', params: heartbeatParams },
      on: {
        ...leaveHeartbeat,
        'ww.heartbeat.idle': { target: 'probing', actions: 'countProbe' },
        'ww.request.timedout': { target: 'suspect', actions: 'countRequestTimeout' },
      },
    },
    probing: {
      entry: { type: 'startProbe', params: probingProbeParams },
      on: { ...leaveHeartbeat, ...probeOutcomes('recordProbeAnswer') },
    },
    suspect: {
      entry: { type: 'startProbe', params: suspectProbeParams },
      on: { ...leaveHeartbeat, ...probeOutcomes('recordFalseSuspicion') },
    },
    closing: {
      entry: ['quiesce', 'startClose'],
      on: {
        KILL: toDead,
        'ww.stream.closed': { target: 'closed', actions: 'recordClose' },
        'ww.close.done': { target: 'closed', actions: 'recordClose' },
      },
    },
    dead: {
      type: 'final',
      entry: 'quiesce',
      output: ({ context, event }) => deadOutput(context, event),
    },
    closed: {
      type: 'final',
      output: ({ context }) => closedOutput(context),
    },
  },
  output: ({ event }) => (event as unknown as { output: ConnectionOutput }).output,
}));
