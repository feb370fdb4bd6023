/**
 * wirewarden's public API. Everything a user imports comes from here (and from the
 * `wirewarden/chaos` subpath); every other module is internal.
 */
export * from './errors.js';
export type { SchedulerLike } from './scheduler.js';
export type { Endpoint, Transport, DialOptions, Protocol, ProtocolContext, ProbeListener } from './transport/types.js';
export type {
  ConnectionState, DeadReason, KillReason, ConnectionOutput, HeartbeatOptions, HeartbeatInput,
  ConnectionInput, ConnectionCommand, ConnectionHealth,
} from './actors/connection-types.js';
export * from './transport/index.js';
export * from './actors/index.js';
export * from './supervisor/index.js';
export {
  createRuntime, type Runtime, type RuntimeOptions, type RuntimeState, type Closeable,
} from './runtime.js';
export { EVENT_CHANNEL } from './observe/diagnostics.js';
export type {
  RuntimeEvent, StateEvent, RestartEvent, ChildExitEvent, EscalationEvent, ShutdownEvent, RuntimeFailedEvent,
  PoolRuntimeEvent,
} from './observe/events.js';
export {
  Pool, Lease, poolDefaults,
  type CreatePoolOptions, type AcquireOptions, type PoolOptions, type PoolEndpoint, type PoolConnectionInfo,
  type PoolStats, type EndpointStats, type ClosedReason, type PoolLogger,
  type PoolEvent, type PoolConnectionReadyEvent, type PoolDialFailedEvent, type PoolFailoverEvent,
  type PoolConnectionClosedEvent, type PoolLeaseLostEvent, type PoolLeakEvent, type PoolLeakReturnedEvent,
  type PoolAcquireTimeoutEvent,
} from './pool/index.js';
export {
  Subscriber,
  type CreateSubscriberOptions, type SubscriberState, type SubscriberEvent, type SubscriberSubscribedEvent,
  type SubscriberGapEvent, type SubscriberDialFailedEvent, type SubscriberSubscribeFailedEvent,
} from './pubsub/index.js';

// Pool health for /healthz and /readyz (docs/pool.md)
export type { PoolHealth, EndpointHealth, EndpointHealthState, PoolUnreadyReason } from './pool/pool-health.js';
