/**
 * Supervisors, child specs and backoff policies: the public surface of `src/supervisor`
 * (the lead re-exports it from `src/index.ts`). The engine and its helpers stay internal.
 */
export {
  exponentialBackoff, constantBackoff, grpcBackoff, defaultBackoff, isBackoffPolicy, backoffDefaults,
  type BackoffPolicy, type Jitter, type ExponentialBackoffOptions, type ConstantBackoffOptions,
} from './backoff.js';
export {
  supervisorDefaults, parseSupervisorSpec, parseChildSpec,
  type ChildSpec, type SupervisorSpec, type RestartType, type Strategy, type ShutdownOrder,
  type ResolvedChildSpec, type ResolvedSupervisorSpec,
} from './supervisor-spec.js';
export { supervisorLogic, supervisorChild, type SupervisorLogic, type SupervisorChildOptions } from './supervisor-logic.js';
export { createSupervisorHandle, type SupervisorHandle, type WhenChildStateOptions } from './supervisor-handle.js';
export { NORMAL_EXIT_REASONS, exitFromOutput, exitFromError, shouldRestart, type ChildExit } from './child-exit.js';
export { topLevelState } from './child-state.js';
export type {
  SupervisorPhase, ChildStatus, ChildCounts, SupervisorContext, SupervisorOutput, SupervisorSnapshot,
  SupervisorEvent, SupervisorRef, ChildInfo,
} from './supervisor-types.js';
