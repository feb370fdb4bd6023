/**
 * The connection's fast path: the statechart of connection-model.ts as a pure function,
 * `(state, context, event, now) → { state, context, effects, output }`, or `undefined`
 * when the event changes nothing in that state.
 *
 * Why a hand-written copy of the model: every idle connection goes ready → probing → ready
 * once per interval, and XState's interpretation of a transition costs ~8 µs and ~10 KB of
 * short-lived garbage whatever the machine does (snapshot clone, state-node sets, action
 * resolution); at 10k connections those two transitions alone were more than the whole
 * bare-socket heartbeat. Here a transition is a switch, one context copy and one small
 * step object.
 *
 * Why it can be trusted: it is pure (no socket, timer or counter is read; what it needs
 * travels in the event, see connection-events.ts), its context updates and outputs are the
 * model's own functions (connection-updates.ts), and tests compare it with XState's
 * `transition()` of the model for every (state, event, guard case) cell, replay the graph
 * utilities' paths on both, and run random event sequences through both.
 *
 * Effects are named, never run here: `effects` lists the entry actions of the target state
 * (the model's `entry`), and connection-effects.ts runs them on the live half — or hands
 * them to XState's action executor when there is none (`getNextSnapshot`, `transition()`).
 */
import type { ConnectionEvent } from './connection-events.js';
import { suspicionWindowEnded } from './connection-events.js';
import type { FlatState } from './connection-snapshot.js';
import type { ConnectionContext, ConnectionOutput, DeadReason } from './connection-types.js';
import {
  closed, closedOutput, deadOutput, died, probeAnswered, probeFailed, probeSent, readied, requestTimedOut, stamped,
} from './connection-updates.js';

/** The named effects: the entry actions of the model's states. */
export type ConnectionEffect = 'startDial' | 'startHandshake' | 'armHeartbeat' | 'startProbe' | 'quiesce' | 'startClose';

// Each state's entry actions, in the model's order: constants, so a step names its effects
// without a lookup (a keyed load per transition showed in the heartbeat profile).
const DIAL: readonly ConnectionEffect[] = Object.freeze(['startDial'] as const);
const HANDSHAKE: readonly ConnectionEffect[] = Object.freeze(['startHandshake'] as const);
const ARM_HEARTBEAT: readonly ConnectionEffect[] = Object.freeze(['armHeartbeat'] as const);
const PROBE: readonly ConnectionEffect[] = Object.freeze(['startProbe'] as const);
const CLOSE: readonly ConnectionEffect[] = Object.freeze(['quiesce', 'startClose'] as const);
const QUIESCE: readonly ConnectionEffect[] = Object.freeze(['quiesce'] as const);
const NONE: readonly ConnectionEffect[] = Object.freeze([] as const);

/** Each state's entry actions, in the model's order. */
export const ENTRY_EFFECTS: Readonly<Record<FlatState, readonly ConnectionEffect[]>> = Object.freeze({
  connecting: DIAL,
  handshaking: HANDSHAKE,
  ready: ARM_HEARTBEAT,
  probing: PROBE,
  suspect: PROBE,
  closing: CLOSE,
  dead: QUIESCE,
  closed: NONE,
});

/** One transition's result: where to, the new context, the effects to run, and the output of a final state. */
export class ConnectionStep {
  readonly state: FlatState;
  readonly context: ConnectionContext;
  readonly effects: readonly ConnectionEffect[];
  readonly output: ConnectionOutput | undefined;

  /** `effects` are the entry actions of `state` (ENTRY_EFFECTS), named by the caller. */
  constructor(state: FlatState, context: ConnectionContext, effects: readonly ConnectionEffect[], output?: ConnectionOutput) {
    this.state = state;
    this.context = context;
    this.effects = effects;
    this.output = output;
  }
}

/** The first step of a connection (`dialing.connecting`, whose entry dials). */
export function initialStep(context: ConnectionContext): ConnectionStep {
  return new ConnectionStep('connecting', context, DIAL);
}

function dead(c: ConnectionContext, reason: DeadReason, event: ConnectionEvent, now: number): ConnectionStep {
  const next = died(c, reason, now);
  return new ConnectionStep('dead', next, QUIESCE, deadOutput(next, event));
}

function close(c: ConnectionContext, now: number): ConnectionStep {
  const next = closed(c, now);
  return new ConnectionStep('closed', next, NONE, closedOutput(next));
}

/**
 * The next step of a connection in `state` on `event` at time `now` (the connection's
 * scheduler clock), or `undefined` if the event is ignored there. The chart, cell by cell:
 *
 *   connecting   ww.dial.done → handshaking · ww.connect.done → ready · ww.dial.failed → dead
 *   handshaking  ww.handshake.done → ready · ww.handshake.failed, ww.stream.closed → dead
 *   dialing.*    CLOSE → closed · KILL → dead
 *   ready        ww.heartbeat.idle → probing · ww.request.timedout → suspect
 *   probing      ww.probe.ok, ww.probe.alive → ready
 *   suspect      ww.probe.ok, ww.probe.alive → ready (a false suspicion)
 *   probing, suspect   ww.probe.failed → dead [suspicionWindowEnded] | suspect (re-entered)
 *   ready, probing, suspect   CLOSE → closing · KILL, ww.stream.closed → dead
 *   closing      ww.close.done, ww.stream.closed → closed · KILL → dead
 *
 * `ww.stream.closed` has no edge in `connecting`: the stream is attached in the step that
 * reports `ww.dial.done`, so its close is always queued behind that event (and a connect
 * protocol's `lost()` before its connect resolved fails the connect, `ww.dial.failed`).
 */
export function connectionTransition(state: FlatState, c: ConnectionContext, event: ConnectionEvent, now: number): ConnectionStep | undefined {
  switch (event.type) {
    case 'KILL':
      return state === 'dead' || state === 'closed' ? undefined : dead(c, event.reason, event, now);
    case 'CLOSE':
      if (state === 'connecting' || state === 'handshaking') return close(c, now);
      return state === 'ready' || state === 'probing' || state === 'suspect' ? new ConnectionStep('closing', stamped(c, now), CLOSE) : undefined;
    case 'ww.stream.closed':
      switch (state) {
        case 'handshaking': return dead(c, 'handshake-failed', event, now);
        case 'ready': case 'probing': case 'suspect': return dead(c, event.reason, event, now);
        case 'closing': return close(c, now);
        default: return undefined;
      }
    case 'ww.dial.done':
      return state === 'connecting' ? new ConnectionStep('handshaking', stamped(c, now), HANDSHAKE) : undefined;
    case 'ww.connect.done':
      return state === 'connecting' ? new ConnectionStep('ready', readied(c, now), ARM_HEARTBEAT) : undefined;
    case 'ww.dial.failed':
      return state === 'connecting' ? dead(c, 'dial-failed', event, now) : undefined;
    case 'ww.handshake.done':
      return state === 'handshaking' ? new ConnectionStep('ready', readied(c, now), ARM_HEARTBEAT) : undefined;
    case 'ww.handshake.failed':
      return state === 'handshaking' ? dead(c, 'handshake-failed', event, now) : undefined;
    case 'ww.heartbeat.idle':
      return state === 'ready' ? new ConnectionStep('probing', probeSent(c, now), PROBE) : undefined;
    case 'ww.request.timedout':
      return state === 'ready' ? new ConnectionStep('suspect', requestTimedOut(c, now), PROBE) : undefined;
    case 'ww.probe.ok':
    case 'ww.probe.alive':
      return state === 'probing' || state === 'suspect' ? new ConnectionStep('ready', probeAnswered(c, event, now, state === 'suspect'), ARM_HEARTBEAT) : undefined;
    case 'ww.probe.failed':
      if (state !== 'probing' && state !== 'suspect') return undefined;
      return suspicionWindowEnded(event) ? dead(c, 'heartbeat-timeout', event, now) : new ConnectionStep('suspect', probeFailed(c, now), PROBE);
    case 'ww.close.done':
      return state === 'closing' ? close(c, now) : undefined;
    default:
      return undefined;
  }
}
