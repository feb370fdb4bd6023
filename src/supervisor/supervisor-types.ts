/**
 * The supervisor actor's public shapes: its events, its plain-data snapshot and its
 * final output. Kept apart from the engine so that the handle, the runtime and a pool
 * can speak about a supervisor without importing its machinery.
 *
 *   running ──CLOSE──▶ stopping ──(children stopped)──▶ stopped   (done, output reason 'shutdown')
 *      │
 *      └─intensity exceeded─▶ failing ──(children stopped)──▶ failed (done, output reason 'restart-intensity')
 */
import type { ActorRef, Snapshot } from 'xstate';
import type { RestartIntensityError } from '../errors.js';
import type { ShutdownOrder, Strategy } from './supervisor-spec.js';

export type SupervisorPhase = 'running' | 'stopping' | 'failing' | 'stopped' | 'failed';

/** Where a child is in the supervisor's lifecycle (its own state is `ChildInfo.state`). */
export type ChildStatus = 'running' | 'stopping' | 'restarting' | 'stopped';

/** How many children are in each lifecycle status. */
export type ChildCounts = Readonly<Record<ChildStatus, number>>;

/**
 * Plain data, O(1) to render: per-child bookkeeping (attempt, restarts, since) is read
 * with `children()`, not copied into every snapshot — with a thousand children that copy
 * made each lifecycle event O(n) and a mass shutdown quadratic. Each child is its own
 * actor in the inspector, with its own snapshot.
 */
export interface SupervisorContext {
  readonly id: string;
  readonly path: string;
  readonly strategy: Strategy;
  /**
   * The spec's `maxRestarts`, or the string `'Infinity'` when unbounded: the snapshot is
   * plain JSON data (inspector, dashboard), and JSON would turn `Infinity` into `null`.
   */
  readonly maxRestarts: number | 'Infinity';
  readonly withinMs: number;
  readonly shutdownOrder: ShutdownOrder;
  /** Restart timestamps inside the intensity window as of the last restart, oldest first (at most the newest 100). */
  readonly restartLog: readonly number[];
  readonly childCounts: ChildCounts;
}

/** The final output: `shutdown` is a normal exit, `restart-intensity` an abnormal one. */
export type SupervisorOutput =
  | { readonly reason: 'shutdown'; readonly uptimeMs: number }
  | {
      readonly reason: 'restart-intensity';
      readonly error: RestartIntensityError;
      /** The child whose exit exceeded the intensity. */
      readonly child: string;
      readonly restarts: number;
      readonly uptimeMs: number;
    };

export type SupervisorSnapshot = Snapshot<SupervisorOutput> & {
  /** The phase, so `children()` of a parent shows a child supervisor as `running`, `stopping`… */
  readonly value: SupervisorPhase;
  readonly context: SupervisorContext;
};

/**
 * Events a supervisor accepts. Only `CLOSE` is for users (graceful stop of the whole
 * subtree); the rest are sent by `SupervisorHandle` and the supervisor's own timers, and
 * carry ids only, so the inspector never serialises actor logic or callbacks.
 */
export type SupervisorEvent =
  | { type: 'CLOSE' }
  | { type: 'START_CHILD'; id: string }
  | { type: 'TERMINATE_CHILD'; id: string; requestId: number }
  | { type: 'RESTART_CHILD'; id: string; requestId: number }
  | { type: 'TIMER'; token: number }
  | { type: `xstate.done.actor.${string}`; output?: unknown }
  | { type: `xstate.error.actor.${string}`; error?: unknown }
  | { type: 'xstate.stop' };

export type SupervisorRef = ActorRef<SupervisorSnapshot, SupervisorEvent>;

/** One row of `children()`. */
export interface ChildInfo {
  readonly id: string;
  /** The child's top-level state (`'ready'`, `'dialing'`…), or `'restarting'` while it waits. */
  readonly state: string;
  /** Restarts of this child over the supervisor's life (automatic and `restartChild`). */
  readonly restarts: number;
  /** Scheduler time at which the child entered `state`. */
  readonly since: number;
  /** The current backoff attempt: 0 until the first restart, and again after `restartChild`. */
  readonly attempt: number;
}
