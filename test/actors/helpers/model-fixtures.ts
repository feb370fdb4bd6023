/**
 * What the agreement tests between `connectionModel` (XState's interpretation) and
 * `connectionMachine` (the fast path) share: every state, every event with each of its
 * guard cases, representative contexts, and a plain-data view of a snapshot and of the
 * actions a `transition()` returned, to compare with `toEqual`.
 */
import { transition as xstateTransition, type AnyMachineSnapshot } from 'xstate';
import { connectionMachine } from '../../../src/actors/connection-machine.js';
import { connectionModel } from '../../../src/actors/connection-model.js';
import type { ConnectionEvent } from '../../../src/actors/connection-events.js';
import { parseConnectionInput } from '../../../src/actors/connection-input.js';
import { runEffects } from '../../../src/actors/connection-effects.js';
import type { ConnectionResources } from '../../../src/actors/connection-resources.js';
import { activeSnapshot, flatState, type ConnectionSnapshot, type ConnectionStateValue } from '../../../src/actors/connection-snapshot.js';
import { connectionTransition } from '../../../src/actors/connection-transition.js';
import type { ConnectionContext, HeartbeatInput } from '../../../src/actors/connection-types.js';
import { initialContext } from '../../../src/actors/connection-updates.js';
import {
  ConnectionClosedError, DialRefusedError, HandshakeFailedError, HandshakeRefusedError, ProtocolError, RequestTimeoutError,
} from '../../../src/errors.js';

/** The active states, as machine values. */
export const ACTIVE_STATES: readonly ConnectionStateValue[] = [
  { dialing: 'connecting' }, { dialing: 'handshaking' }, 'ready', 'probing', 'suspect', 'closing',
];

const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });

/** Every event type, with each case its guards or outputs tell apart. */
export const EVENT_CASES: Readonly<Record<string, ConnectionEvent>> = {
  'CLOSE': { type: 'CLOSE' },
  'KILL': { type: 'KILL', reason: 'max-lifetime' },
  'KILL retire': { type: 'KILL', reason: 'leak-reclaimed', retire: true },
  'KILL with error': { type: 'KILL', reason: 'protocol-error', error: new ProtocolError('bad frame') },
  'stream closed (FIN)': { type: 'ww.stream.closed', reason: 'peer-closed' },
  'stream closed (reset)': { type: 'ww.stream.closed', reason: 'socket-error', error: reset },
  'stream closed (protocol)': { type: 'ww.stream.closed', reason: 'protocol-error', error: new ProtocolError('frame too large') },
  'dial done': { type: 'ww.dial.done' },
  'connect done': { type: 'ww.connect.done' },
  'dial failed': { type: 'ww.dial.failed', error: new DialRefusedError('refused') },
  'handshake done': { type: 'ww.handshake.done' },
  'handshake failed': { type: 'ww.handshake.failed', error: new HandshakeFailedError('bad hello') },
  'handshake refused': { type: 'ww.handshake.failed', error: new HandshakeRefusedError('bad credentials') },
  'heartbeat idle': { type: 'ww.heartbeat.idle' },
  'request timed out': { type: 'ww.request.timedout' },
  'probe ok': { type: 'ww.probe.ok', rttMs: 3.5 },
  'probe alive': { type: 'ww.probe.alive' },
  'probe failed, window left': { type: 'ww.probe.failed', silentMs: 400, windowMs: 6000, cause: new RequestTimeoutError('no reply within 100 ms') },
  'probe failed, window ended': { type: 'ww.probe.failed', silentMs: 6000, windowMs: 6000, cause: new ConnectionClosedError('probe failed') },
  'probe failed, window passed': { type: 'ww.probe.failed', silentMs: 6200.5, windowMs: 6000 },
  'close done': { type: 'ww.close.done' },
};

const stub = { name: 'stub', open: () => Promise.resolve({}), probe: () => Promise.resolve(), close: () => Promise.resolve() };

/** A connection's first context with `heartbeat` (the stub protocol, 127.0.0.1:7000). */
export function freshContext(heartbeat?: HeartbeatInput, now = 1000): ConnectionContext {
  return initialContext(parseConnectionInput({ endpoint: { host: '127.0.0.1', port: 7000 }, protocol: stub, heartbeat }), now);
}

/** Representative contexts: fresh, and one with history (RTT samples, an episode, adaptive interval). */
export const CONTEXTS: Readonly<Record<string, ConnectionContext>> = {
  fresh: freshContext(),
  seasoned: {
    ...freshContext({ intervalMs: 1000, adaptive: true, minTimeoutMs: 50 }),
    readyAt: 1500, since: 4000, rttMs: 2, srttMs: 2.5, rttvarMs: 0.4, probeTimeoutMs: 50, intervalMs: 1500,
    probesSent: 12, probesFailed: 2, falseSuspicions: 1, suspectAttempt: 1, silentSince: 3900, attemptTimeoutMs: 100,
  },
};

/** The model's snapshot for `value` and `context`. */
export function modelSnapshot(value: ConnectionStateValue, context: ConnectionContext): AnyMachineSnapshot {
  return connectionModel.resolveState({ value: value as never, context });
}

/** The fast path's snapshot for `value` and `context`. */
export function fastSnapshot(value: ConnectionStateValue, context: ConnectionContext): ConnectionSnapshot {
  return activeSnapshot(value, context);
}

/** An error as data: class, code, message and cause (stacks differ between two runs). */
function plainError(e: unknown): unknown {
  if (!(e instanceof Error)) return e;
  return { name: e.name, code: (e as { code?: unknown }).code, message: e.message, cause: plainError((e as { cause?: unknown }).cause) };
}

/** What a snapshot says, as plain data. */
export function view(s: { value: unknown; status: string; context: unknown; output?: unknown }): unknown {
  const output = s.output as { error?: unknown } | undefined;
  return {
    value: s.value,
    status: s.status,
    context: s.context,
    output: output === undefined ? undefined : { ...output, error: plainError(output.error) },
  };
}

/** The actions a `transition()` returned, as `{ type, params }`. */
export function actionsOf(actions: readonly { type: string; params?: unknown }[]): unknown[] {
  return actions.map((a) => ({ type: a.type, params: a.params }));
}

/** One transition of each logic: what it leads to, and the effects it asks for. */
export function bothTransitions(value: ConnectionStateValue, context: ConnectionContext, event: ConnectionEvent) {
  const m = modelSnapshot(value, context);
  const f = fastSnapshot(value, context);
  const [mNext, mActions] = xstateTransition(connectionModel, m, event);
  const [fNext, fActions] = xstateTransition(connectionMachine, f, event);
  return {
    model: { changed: mNext !== m, snapshot: mNext, view: view(mNext), actions: actionsOf(mActions) },
    fast: { changed: fNext !== f, snapshot: fNext, view: view(fNext), actions: actionsOf(fActions) },
  };
}

/**
 * The effects a running connection actually performs for one transition of the fast
 * path: `runEffects` on a stand-in live half that records each call, as `{ type, params }`
 * in the model's terms (`ticker.arm(ms)` is `armHeartbeat { intervalMs }`, …), to compare
 * with the actions XState's `transition()` of the model returns.
 */
export function liveEffects(value: ConnectionStateValue, context: ConnectionContext, event: ConnectionEvent, now: number): unknown[] {
  const calls: { type: string; params: unknown }[] = [];
  const record = (type: string, params?: unknown) => () => void calls.push({ type, params });
  const live = {
    steps: { dial: record('startDial'), handshake: record('startHandshake'), close: record('startClose') },
    ticker: { arm: (intervalMs: number) => calls.push({ type: 'armHeartbeat', params: { intervalMs } }) },
    probes: {
      start: (timeoutMs: number, capMs: number | undefined, newEpisode: boolean, watchIfHeld: boolean) =>
        calls.push({ type: 'startProbe', params: { timeoutMs, capMs, newEpisode, watchIfHeld } }),
    },
    quiesce: record('quiesce'),
  } as unknown as ConnectionResources;
  const step = connectionTransition(flatState(value), context, event, now);
  if (step !== undefined) runEffects(live, step, event);
  return calls;
}
