/**
 * The pool's public surface (phase 1: the core, driven by a `ConnectionSource`).
 * Phase 2 adds `createPool` on the runtime, backed by the supervisor and the
 * connection actor; the lead wires these exports into `src/index.ts`.
 */
export { createPoolCore, PoolCore, type PoolCoreConfig, type PoolConnectionInfo } from './pool-core.js';
export { Lease } from './lease.js';
export type { AcquireOptions } from './acquire-options.js';
export {
  parsePoolOptions, poolDefaults, poolOptionsSchema, endpointKey,
  type PoolOptions, type PoolOptionsInput, type PoolEndpoint,
} from './pool-options.js';
export type {
  ConnectionSource, ConnectionSourceFactory, PoolSink, PoolCloseReason, PoolKillReason, SlotInspection,
  ChooseEndpoint, EndpointView,
} from './connection-source.js';
export { weightedLeastConnections } from './choose-endpoint.js';
export { Slot, type SlotState } from './slot.js';
export type { PoolStats, EndpointStats, ClosedReason } from './pool-stats.js';
export type {
  PoolEvent, PoolConnectionReadyEvent, PoolDialFailedEvent, PoolConnectionClosedEvent, PoolLeaseLostEvent,
  PoolLeakEvent, PoolLeakReturnedEvent, PoolAcquireTimeoutEvent, PoolLogger,
} from './pool-events.js';
