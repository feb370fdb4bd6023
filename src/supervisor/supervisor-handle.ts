/**
 * `SupervisorHandle`: the caller's side of a supervisor. It validates a request, then
 * enqueues it as an event, so every change to the tree happens inside the actor.
 *
 * A handle names a supervisor by its place (`root/edge`), not by one actor: when the
 * parent restarts the supervisor, the handle follows the new incarnation (whose dynamic
 * children are gone, as in OTP — a pool re-adds its connections). Synchronous methods
 * throw on bad input; async ones reject, never throw.
 */
import type { AnyActorLogic, AnyActorRef } from 'xstate';
import { ChildNotFoundError, RuntimeShutDownError } from '../errors.js';
import { engineOf } from './supervisor-logic.js';
import type { SupervisorEngine } from './supervisor-engine.js';
import { parseChildSpec, type ChildSpec } from './supervisor-spec.js';
import type { ChildInfo, SupervisorRef } from './supervisor-types.js';

export interface WhenChildStateOptions {
  readonly signal?: AbortSignal;
}

/**
 * @example
 * const edge = rt.createSupervisor({ id: 'edge', children: [] });
 * edge.startChild({ id: 'conn-1', logic: connectionMachine, input, restart: 'transient' });
 * await edge.whenChildState('conn-1', 'ready');
 * edge.children(); // [{ id: 'conn-1', state: 'ready', restarts: 0, since: 1718000000000 }]
 * await edge.terminateChild('conn-1');
 */
export interface SupervisorHandle {
  readonly id: string;
  /** `root/edge/...`: the prefix of every event path under this supervisor. */
  readonly path: string;
  /** The current incarnation, or `undefined` while the supervisor is restarting or gone. */
  readonly ref: SupervisorRef | undefined;
  /** Starts a child (validated now; `WW_CHILD_EXISTS` if the id is taken). */
  startChild<TLogic extends AnyActorLogic>(spec: ChildSpec<TLogic>): void;
  /** Stops a child gracefully (`CLOSE`, forced after its `shutdownMs`) and forgets it. */
  terminateChild(id: string): Promise<void>;
  /** Stops a child gracefully and starts it again at once (no backoff, not counted as a failure). */
  restartChild(id: string): Promise<void>;
  /** Children in start order. Empty while the supervisor is not running. */
  children(): ChildInfo[];
  /** The child's current actor, or `undefined` while it restarts. */
  childRef(id: string): AnyActorRef | undefined;
  /** Resolves once the child's top-level state is `state` (or satisfies the predicate). */
  whenChildState(id: string, state: string | ((state: string) => boolean), options?: WhenChildStateOptions): Promise<void>;
  /** The handle of a child that is itself a supervisor. */
  supervisor(id: string): SupervisorHandle;
}

class Handle implements SupervisorHandle {
  readonly id: string;
  readonly path: string;
  readonly #locate: () => AnyActorRef | undefined;

  constructor(id: string, path: string, locate: () => AnyActorRef | undefined) {
    this.id = id;
    this.path = path;
    this.#locate = locate;
  }

  get ref(): SupervisorRef | undefined {
    return this.#engine() ? (this.#locate() as SupervisorRef) : undefined;
  }

  startChild<TLogic extends AnyActorLogic>(spec: ChildSpec<TLogic>): void {
    const resolved = parseChildSpec('child', spec);
    this.#running(`start child ${JSON.stringify(resolved.id)}`).requestStart(resolved);
  }

  terminateChild(id: string): Promise<void> {
    const engine = this.#engine();
    return engine ? engine.requestTerminate(id) : Promise.reject(this.#notRunning(`terminate child ${JSON.stringify(id)}`));
  }

  restartChild(id: string): Promise<void> {
    const engine = this.#engine();
    return engine ? engine.requestRestart(id) : Promise.reject(this.#notRunning(`restart child ${JSON.stringify(id)}`));
  }

  children(): ChildInfo[] {
    return this.#engine()?.children() ?? [];
  }

  childRef(id: string): AnyActorRef | undefined {
    return this.#engine()?.childRef(id);
  }

  whenChildState(id: string, state: string | ((state: string) => boolean), options?: WhenChildStateOptions): Promise<void> {
    const engine = this.#engine();
    if (!engine) return Promise.reject(this.#notRunning(`wait for child ${JSON.stringify(id)}`));
    const test = typeof state === 'string' ? (s: string) => s === state : state;
    return engine.whenChildState(id, test, options?.signal);
  }

  supervisor(id: string): SupervisorHandle {
    const spec = this.#engine()?.childSpec(id);
    if (spec && !spec.supervisor) throw new ChildNotFoundError(`${this.path}/${id} is not a supervisor`);
    return new Handle(id, `${this.path}/${id}`, () => this.#engine()?.childRef(id));
  }

  #engine(): SupervisorEngine | undefined {
    return engineOf(this.#locate());
  }

  #running(what: string): SupervisorEngine {
    const engine = this.#engine();
    if (!engine) throw this.#notRunning(what);
    return engine;
  }

  #notRunning(what: string): RuntimeShutDownError {
    return new RuntimeShutDownError(`supervisor ${this.path} is not running; cannot ${what}`);
  }
}

/** A handle for the supervisor that `locate` returns (the root, or a parent's child). */
export function createSupervisorHandle(id: string, path: string, locate: () => AnyActorRef | undefined): SupervisorHandle {
  return new Handle(id, path, locate);
}
