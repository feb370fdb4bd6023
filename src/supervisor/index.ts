/**
 * Supervisors, child specs and backoff policies: the public surface of `src/supervisor`
 * (the lead re-exports it from `src/index.ts`). The engine, the handle factory and the
 * spec parsers stay internal; layers inside the package (the pool) import them by path.
 */
export {
  exponentialBackoff, constantBackoff, grpcBackoff, defaultBackoff, backoffDefaults,
  type BackoffPolicy, type Jitter, type ExponentialBackoffOptions, type ConstantBackoffOptions,
} from './backoff.js';
export {
  supervisorDefaults,
  type ChildSpec, type SupervisorSpec, type RestartType, type Strategy, type ShutdownOrder,
} from './supervisor-spec.js';
export {
  supervisorLogic, supervisorChild, createSupervisor, type SupervisorLogic, type SupervisorChildOptions,
} from './supervisor-logic.js';
export type { SupervisorHandle, WhenChildStateOptions } from './supervisor-handle.js';
export { NORMAL_EXIT_REASONS } from './child-exit.js';
export type {
  SupervisorPhase, ChildStatus, ChildCounts, SupervisorContext, SupervisorOutput, SupervisorSnapshot,
  SupervisorEvent, SupervisorRef, ChildInfo,
} from './supervisor-types.js';
