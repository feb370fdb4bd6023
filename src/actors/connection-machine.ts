/**
 * `connectionMachine`: one network connection as an XState v5 actor — the logic the
 * runtime spawns (pools, subscribers, supervisors, `createActor`).
 *
 * Its chart is `connectionModel` (connection-model.ts), a real XState machine, and its
 * `config` is that machine's config: the Stately inspector draws the model (guards and
 * actions included) and highlights this actor's state. Its transition is the model as a
 * pure function (connection-transition.ts) plus effects run outside it:
 *
 *   event ──▶ connectionTransition(state, context, event, now) ──▶ { state, context, effects, output }
 *                                                                     │
 *             running actor: effects run on its live half ◀───────────┤ (connection-effects.ts)
 *             anything else: effects handed to XState's executor ◀────┘ (transition(), getNextSnapshot())
 *
 * So `getNextSnapshot(connectionMachine, snapshot, { type: 'KILL', reason })` answers like
 * the model does, and XState's graph utilities run on it with explicit events.
 *
 * Why hand-written `ActorLogic` rather than the interpreted model: every idle connection
 * goes ready → probing → ready once per interval, and an interpreted XState transition
 * costs ~8 µs and ~10 KB of short-lived garbage; here a transition is a switch, one
 * context copy, one step and one snapshot (~1 µs). What users see does not change: an
 * ordinary XState actor (`createActor`, `subscribe`, `send`, a child of a supervisor,
 * done/error events to its parent) with machine-shaped snapshots (`value`, `context`,
 * `status`, `output`, `matches`).
 *
 * Other trade-offs, so that 10k idle connections stay cheap and the data path stays off
 * the mailbox:
 * - No event per frame. Inbound traffic only bumps a counter (`markAlive`); the heartbeat
 *   tick compares it. Only state changes are events.
 * - The ticker, the probes and the one-shot steps (dial, handshake, close) are owned by
 *   the connection's live half (connection-resources.ts): no child actor.
 * - Timers run on the injected RxJS scheduler.
 * - Context is plain data (health figures, counters, endpoint without secrets,
 *   timestamps); streams, sessions and the protocol live in `liveConnection(ref)`.
 * - Not restorable: a connection's socket does not survive persistence.
 */
import type { ActorLogic, ActorScope, ActorSystem } from 'xstate';
import { reportEffects, runEffects } from './connection-effects.js';
import type { ConnectionEvent } from './connection-events.js';
import { connectionModel } from './connection-model.js';
import { connectionClock, resourcesOf } from './connection-resources.js';
import {
  activeSnapshot, CONNECTING, doneSnapshot, flatState, HANDSHAKING, persistedSnapshot, stoppedSnapshot,
  type ConnectionSnapshot, type ConnectionStateValue, type FlatState,
} from './connection-snapshot.js';
import { connectionTransition, initialStep, type ConnectionStep } from './connection-transition.js';
import type { ConnectionInput } from './connection-types.js';
import { initialConnection } from './initial-connection.js';
import { refuseRestore } from './restore-refused.js';

export type { ConnectionEvent, ConnectionInternalEvent } from './connection-events.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- runs in any actor system
type AnyActorSystem = ActorSystem<any>;

type Scope = ActorScope<ConnectionSnapshot, ConnectionEvent, AnyActorSystem>;
type Event = ConnectionEvent | { type: 'xstate.stop' };

function valueOf(state: FlatState): ConnectionStateValue {
  return state === 'connecting' ? CONNECTING : state === 'handshaking' ? HANDSHAKING : state;
}

function snapshotOf(step: ConnectionStep): ConnectionSnapshot {
  const { state } = step;
  return state === 'dead' || state === 'closed'
    ? doneSnapshot(state, step.context, step.output!)
    : activeSnapshot(valueOf(state), step.context);
}

/** One event in one state: the pure decision, then its effects (see the module doc). */
function transition(snapshot: ConnectionSnapshot, event: Event, scope: Scope): ConnectionSnapshot {
  if (snapshot.status !== 'active') return snapshot;
  if (event.type === 'xstate.stop') return stoppedSnapshot(snapshot);
  const live = resourcesOf(scope.self);
  const running = live !== undefined && live.started;
  const now = (running ? live.scheduler : connectionClock(scope.self, scope.system)).now();
  const step = connectionTransition(flatState(snapshot.value), snapshot.context, event, now);
  if (step === undefined) return snapshot;
  if (running) runEffects(live, step, event);
  else reportEffects(scope, step, event);
  return snapshotOf(step);
}

export type ConnectionLogic = ActorLogic<ConnectionSnapshot, ConnectionEvent, ConnectionInput, AnyActorSystem>;

/** The event the initial entry runs with (XState's own init event type). */
const INIT = Object.freeze({ type: 'xstate.init' }) as unknown as ConnectionEvent;

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
  config: connectionModel.config,
  getInitialSnapshot(scope, input) {
    // The initial state's entry (`startDial`) runs in `start`, like a promise actor's
    // work: reporting it here would park a deferred action on every actor (XState keeps
    // the emptied queue's storage, ~140 B per connection). So `initialTransition` of this
    // logic returns no action where the model's returns `startDial`.
    return activeSnapshot(CONNECTING, initialConnection(input, scope.self, scope.system));
  },
  start(snapshot, scope) {
    const live = resourcesOf(scope.self);
    if (live === undefined) return;
    live.markStarted();
    if (snapshot.status === 'active' && flatState(snapshot.value) === 'connecting') {
      runEffects(live, initialStep(snapshot.context), INIT);
    }
  },
  transition,
  getPersistedSnapshot(snapshot) {
    return persistedSnapshot(snapshot) as ConnectionSnapshot;
  },
  restoreSnapshot: refuseRestore,
};
