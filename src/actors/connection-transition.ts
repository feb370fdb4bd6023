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

/** Each state's entry actions, in the model's order. */
export const ENTRY_EFFECTS: Readonly<Record<FlatState, readonly ConnectionEffect[]>> = Object.freeze({
  connecting: Object.freeze(['startDial'] as const),
  handshaking: Object.freeze(['startHandshake'] as const),
  ready: Object.freeze(['armHeartbeat'] as const),
  probing: Object.freeze(['startProbe'] as const),
  suspect: Object.freeze(['startProbe'] as const),
  closing: Object.freeze(['quiesce', 'startClose'] as const),
  dead: Object.freeze(['quiesce'] as const),
  closed: Object.freeze([] as const),
});

/** One transition's result: where to, the new context, the effects to run, and the output of a final state. */
export class ConnectionStep {
  readonly state: FlatState;
  readonly context: ConnectionContext;
  readonly effects: readonly ConnectionEffect[];
  readonly output: ConnectionOutput | undefined;

  constructor(state: FlatState, context: ConnectionContext, output?: ConnectionOutput) {
    this.state = state;
    this.context = context;
    this.effects = ENTRY_EFFECTS[state];
    this.output = output;
  }
}

function dead(c: ConnectionContext, reason: DeadReason, event: ConnectionEvent, now: number): ConnectionStep {
  const next = died(c, reason, now);
  return new ConnectionStep('dead', next, deadOutput(next, event));
}

function close(c: ConnectionContext, now: number): ConnectionStep {
  const next = closed(c, now);
  return new ConnectionStep('closed', next, closedOutput(next));
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
      return state === 'ready' || state === 'probing' || state === 'suspect' ? new ConnectionStep('closing', stamped(c, now)) : undefined;
    case 'ww.stream.closed':
      switch (state) {
        case 'handshaking': return dead(c, 'handshake-failed', event, now);
        case 'ready': case 'probing': case 'suspect': return dead(c, event.reason, event, now);
        case 'closing': return close(c, now);
        default: return undefined;
      }
    case 'ww.dial.done':
      return state === 'connecting' ? new ConnectionStep('handshaking', stamped(c, now)) : undefined;
    case 'ww.connect.done':
      return state === 'connecting' ? new ConnectionStep('ready', readied(c, now)) : undefined;
    case 'ww.dial.failed':
      return state === 'connecting' ? dead(c, 'dial-failed', event, now) : undefined;
    case 'ww.handshake.done':
      return state === 'handshaking' ? new ConnectionStep('ready', readied(c, now)) : undefined;
    case 'ww.handshake.failed':
      return state === 'handshaking' ? dead(c, 'handshake-failed', event, now) : undefined;
    case 'ww.heartbeat.idle':
      return state === 'ready' ? new ConnectionStep('probing', probeSent(c, now)) : undefined;
    case 'ww.request.timedout':
      return state === 'ready' ? new ConnectionStep('suspect', requestTimedOut(c, now)) : undefined;
    case 'ww.probe.ok':
    case 'ww.probe.alive':
      return state === 'probing' || state === 'suspect' ? new ConnectionStep('ready', probeAnswered(c, event, now, state === 'suspect')) : undefined;
    case 'ww.probe.failed':
      if (state !== 'probing' && state !== 'suspect') return undefined;
      return suspicionWindowEnded(event) ? dead(c, 'heartbeat-timeout', event, now) : new ConnectionStep('suspect', probeFailed(c, now));
    case 'ww.close.done':
      return state === 'closing' ? close(c, now) : undefined;
    default:
      return undefined;
  }
}
