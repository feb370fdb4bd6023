/**
 * wirewarden's public API. Everything a user imports comes from here (and from the
 * `wirewarden/chaos` subpath); every other module is internal.
 */
export * from './errors.js';
export type { SchedulerLike } from './scheduler.js';
export type { Endpoint, Transport, DialOptions, Protocol, ProtocolContext } from './transport/types.js';
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
} from './observe/events.js';
