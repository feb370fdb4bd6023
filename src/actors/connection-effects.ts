/**
 * The connection's effects — the model's named entry actions — and the two ways they run:
 *
 * - on a running connection, directly on its live half (connection-resources.ts), with
 *   their parameters read from the new context and the event (no object per effect: the
 *   heartbeat path runs `startProbe` and `armHeartbeat` once per interval each);
 * - anywhere else (`getNextSnapshot`, `transition()`, `initialTransition()`, the graph
 *   utilities' mock scopes), as XState action objects `{ type, params }` handed to the
 *   scope's action executor, exactly as XState reports a machine's actions, so a test
 *   can compare them with the model's.
 *
 * | effect | in | what it does |
 * | --- | --- | --- |
 * | `startDial` | dialing.connecting | `transport.dial` (or a connect protocol's `connect`) within its deadline |
 * | `startHandshake` | dialing.handshaking | `protocol.open` within `handshakeTimeoutMs` |
 * | `armHeartbeat` | ready | the idle check every `intervalMs` (re-armed only if the interval changed) |
 * | `startProbe` | probing, suspect | one probe with a load-scaled timeout; in `suspect` capped at the window's end, and only a watch while the connection is held |
 * | `quiesce` | closing, dead | no more ticks, no probe in flight |
 * | `startClose` | closing | `protocol.close` within `closeTimeoutMs` |
 */
import type { ActorScope, AnyActorRef } from 'xstate';
import type { ConnectionEvent } from './connection-events.js';
import type { ConnectionResources } from './connection-resources.js';
import type { FlatState } from './connection-snapshot.js';
import type { ConnectionEffect, ConnectionStep } from './connection-transition.js';
import type { ConnectionContext } from './connection-types.js';

/** `armHeartbeat`'s parameters. */
export interface HeartbeatParams {
  readonly intervalMs: number;
}

/** `startProbe`'s parameters. */
export interface ProbeParams {
  /** Base timeout, before load scaling. */
  readonly timeoutMs: number;
  /** The probe never outlasts this (the suspicion window's end); undefined: no cap. */
  readonly capMs: number | undefined;
  /** The probe opens a new episode of the suspicion window (its send time is `silentSince`). */
  readonly newEpisode: boolean;
  /** While the connection is held (leased, a request out), only watch for traffic until the deadline. */
  readonly watchIfHeld: boolean;
}

// The parameters, one scalar helper each: `effectParams` (what a pure `transition()`
// reports) and `runEffect` (what a running connection does) both read them here, so the
// two cannot drift apart; the cell tests compare both with the model's own params.

/** `armHeartbeat`: the context's interval (adapted, when the heartbeat is adaptive). */
function heartbeatIntervalMs(c: ConnectionContext): number {
  return c.intervalMs;
}

/** `startProbe`: the attempt's base timeout (RTT-derived, doubled per suspect attempt). */
function probeTimeoutMs(c: ConnectionContext): number {
  return c.attemptTimeoutMs;
}

/** In `suspect`, after a failed probe the next one ends with the window; from a request timeout the window starts now. */
function probeCapMs(state: FlatState, c: ConnectionContext, event: ConnectionEvent): number | undefined {
  if (state !== 'suspect') return undefined;
  return event.type === 'ww.probe.failed' ? event.windowMs - event.silentMs : c.heartbeat.suspicionWindowMs;
}

/** A failed probe continues its episode; a tick (probing) or a request timeout (suspect) opens one. */
function opensEpisode(event: ConnectionEvent): boolean {
  return event.type !== 'ww.probe.failed';
}

/** Only `suspect` watches a held connection instead of probing it (a tick never fires while held). */
function watchesIfHeld(state: FlatState): boolean {
  return state === 'suspect';
}

/**
 * An effect's parameters as the fast path computes them (undefined: none). The model
 * states its own (connection-model.ts); the cell tests compare the two.
 */
export function effectParams(effect: ConnectionEffect, state: FlatState, c: ConnectionContext, event: ConnectionEvent): HeartbeatParams | ProbeParams | undefined {
  if (effect === 'armHeartbeat') return { intervalMs: heartbeatIntervalMs(c) };
  if (effect === 'startProbe') {
    return { timeoutMs: probeTimeoutMs(c), capMs: probeCapMs(state, c, event), newEpisode: opensEpisode(event), watchIfHeld: watchesIfHeld(state) };
  }
  return undefined;
}

/** Runs one effect on the live half of a connection, with `effectParams`' values (no object per effect). */
export function runEffect(live: ConnectionResources, effect: ConnectionEffect, state: FlatState, c: ConnectionContext, event: ConnectionEvent): void {
  switch (effect) {
    case 'startDial':
      live.steps.dial();
      return;
    case 'startHandshake':
      live.steps.handshake();
      return;
    case 'armHeartbeat':
      live.ticker.arm(heartbeatIntervalMs(c));
      return;
    case 'startProbe':
      live.probes.start(probeTimeoutMs(c), probeCapMs(state, c, event), opensEpisode(event), watchesIfHeld(state));
      return;
    case 'quiesce':
      live.quiesce();
      return;
    case 'startClose':
      live.steps.close();
      return;
  }
}

/** Runs a step's effects on the live half, in order. */
export function runEffects(live: ConnectionResources, step: ConnectionStep, event: ConnectionEvent): void {
  const effects = step.effects;
  for (let i = 0; i < effects.length; i++) runEffect(live, effects[i]!, step.state, step.context, event);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any system, any snapshot
type AnyScope = ActorScope<any, any, any>;

/**
 * Hands a step's effects to XState's action executor as `{ type, params }` action objects
 * without running them (no live half: a pure `transition()`), as XState does for a
 * machine's actions. `exec` is absent: there is nothing to run them on.
 */
export function reportEffects(scope: AnyScope, step: ConnectionStep, event: ConnectionEvent, self: AnyActorRef = scope.self): void {
  const executor = (scope as { actionExecutor?: (action: unknown) => void }).actionExecutor;
  if (executor === undefined) return;
  for (const effect of step.effects) {
    executor({
      type: effect,
      info: { context: step.context, event, self, system: scope.system },
      params: effectParams(effect, step.state, step.context, event),
      exec: undefined,
    });
  }
}
