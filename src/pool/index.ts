/**
 * The pool's public surface: `Pool` (what `rt.createPool()` returns, backed by the
 * pool's supervisor and the connection actor), its options, leases, stats and events,
 * and the core with its `ConnectionSource` seam for custom sources and tests. The lead
 * wires these exports into `src/index.ts`.
 */
export { Pool } from './pool.js';
export type { CreatePoolOptions } from './create-pool.js';
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
  PoolEvent, PoolConnectionReadyEvent, PoolDialFailedEvent, PoolFailoverEvent, PoolConnectionClosedEvent, PoolLeaseLostEvent,
  PoolLeakEvent, PoolLeakReturnedEvent, PoolAcquireTimeoutEvent, PoolLogger,
} from './pool-events.js';
