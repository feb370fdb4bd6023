/**
 * The supervisor as XState actor logic. XState v5 has no supervision, so this is a
 * custom `ActorLogic` whose transition hands each event to a `SupervisorEngine` and
 * returns the engine's plain-data snapshot. Children are spawned with `parent: self`,
 * so they are ordinary XState children: their done/error events come back here as
 * `xstate.done.actor.<id>` / `xstate.error.actor.<id>`, and the inspector draws one tree.
 *
 * Not restorable from a persisted snapshot: a supervisor's children are live processes,
 * and restarting it is exactly "start the static children again".
 *
 * @example
 * const actor = createActor(supervisorLogic, {
 *   id: 'edge',
 *   input: { id: 'edge', strategy: 'one-for-one', children: [{ id: 'a', logic: someMachine }] },
 * });
 * actor.subscribe({ error: report }); // every root needs an error observer
 * actor.start();
 */
import type { ActorLogic, ActorSystem, AnyActorRef } from 'xstate';
import { supervisorChart } from './supervisor-chart.js';
import { SupervisorEngine } from './supervisor-engine.js';
import { parseSupervisorSpec, SUPERVISOR_LOGIC, type ChildSpec, type RestartType, type SupervisorSpec } from './supervisor-spec.js';
import type { BackoffPolicy } from './backoff.js';
import type { SupervisorEvent, SupervisorSnapshot } from './supervisor-types.js';

const engines = new WeakMap<AnyActorRef, SupervisorEngine>();

/** The engine of a running supervisor actor (internal: used by handles and the runtime). */
export function engineOf(ref: AnyActorRef | undefined): SupervisorEngine | undefined {
  return ref ? engines.get(ref) : undefined;
}

/** `root/pool-1/conn-3`: a supervisor knows its own path; other actors are named by their parents. */
function pathOf(ref: AnyActorRef | undefined, id: string): string {
  if (!ref) return id;
  const engine = engines.get(ref);
  if (engine) return `${engine.path}/${id}`;
  return `${pathOf(ref._parent, ref.id)}/${id}`;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- runs in any actor system
type AnySystem = ActorSystem<any>;

export type SupervisorLogic = ActorLogic<SupervisorSnapshot, SupervisorEvent, SupervisorSpec, AnySystem> & {
  readonly [SUPERVISOR_LOGIC]: true;
};

export const supervisorLogic: SupervisorLogic = {
  [SUPERVISOR_LOGIC]: true,
  // What the Stately inspector draws for every supervisor (supervisor-chart.ts).
  config: supervisorChart.config,
  getInitialSnapshot(scope, input) {
    const spec = parseSupervisorSpec('supervisor', input);
    const engine = new SupervisorEngine(scope, spec, pathOf(scope.self._parent, spec.id));
    engines.set(scope.self, engine);
    return engine.snapshot();
  },
  start(snapshot, scope) {
    const engine = engines.get(scope.self);
    if (!engine) return;
    engine.start();
    // XState publishes the initial snapshot object right after `start` and offers no way
    // to return a new one; refresh it in place so the first snapshot lists the children.
    // Nobody holds it yet except `getSnapshot()` callers before `start()`.
    Object.assign(snapshot, engine.snapshot());
  },
  transition(snapshot, event, scope) {
    const engine = engines.get(scope.self);
    if (!engine) return snapshot;
    engine.handle(event);
    return engine.snapshot();
  },
  getPersistedSnapshot(snapshot) {
    return snapshot;
  },
};

/** How a supervisor runs as a child of another supervisor. */
export interface SupervisorChildOptions {
  /** Default `'permanent'`. */
  readonly restart?: RestartType;
  /** Default `Infinity`: its own children are bounded by their `shutdownMs`. */
  readonly shutdownMs?: number;
  readonly backoff?: BackoffPolicy;
  readonly resetAfterMs?: number;
}

/**
 * A child spec that runs a nested supervisor: its failure (restart intensity) is an
 * abnormal exit that its parent handles — restart, or escalate further.
 *
 * @example
 * rt.createSupervisor({
 *   id: 'edge', strategy: 'one-for-all',
 *   children: [supervisorChild({ id: 'pool-1', children: [...] }, { restart: 'transient' })],
 * });
 */
export function supervisorChild(spec: SupervisorSpec, options?: SupervisorChildOptions): ChildSpec<SupervisorLogic> {
  return { ...options, id: spec.id, logic: supervisorLogic, input: spec };
}

/**
 * The supervisor factory of the public API sketch: builds a supervisor as a child spec,
 * so trees are written as data and nested anywhere (`children: [createSupervisor(…)]`,
 * `handle.startChild(createSupervisor(…))`). A top-level supervisor is started with
 * `rt.createSupervisor(spec)`, which returns its handle.
 *
 * @example
 * rt.createSupervisor({
 *   id: 'edge', strategy: 'one-for-one',
 *   children: [createSupervisor({ id: 'region-a', strategy: 'rest-for-one', children: [...] })],
 * });
 */
export const createSupervisor = supervisorChild;
