/**
 * The actors layer's public surface: the connection machine, its contract types, the
 * live-connection accessor the pool leases sessions through, and the pure heartbeat
 * policies (RFC 6298 estimator, adaptive interval) for reuse and testing. The lead
 * re-exports it from `src/index.ts`.
 */
export { connectionMachine, type ConnectionEvent, type ConnectionInternalEvent } from './connection-machine.js';
export { liveConnection, connectionState } from './live-connection.js';
export { connectionChart, type ConnectionChart, type ChartState } from './connection-chart.js';
export type { ConnectionSnapshot, ConnectionStateValue, ConnectionStatePath } from './connection-snapshot.js';
export {
  defaultHeartbeat, defaultConnectionTimeouts, heartbeatSchema, parseHeartbeat, parseConnectionInput,
  type ResolvedHeartbeat, type ResolvedConnectionInput,
} from './connection-input.js';
export {
  updateRttEstimate, retransmitTimeoutMs, loadScaledTimeoutMs, suspectTimeoutMs,
  type RttEstimate, type TimeoutBounds,
} from './rtt-estimator.js';
export { lengthenIntervalMs, shortenIntervalMs, isStableRtt, ADAPTIVE_GROWTH_FACTOR } from './adaptive-interval.js';
export type {
  ConnectionState, DeadReason, KillReason, ConnectionOutput, HeartbeatOptions, HeartbeatInput,
  ConnectionInput, ConnectionCommand, ConnectionHealth, ConnectionContext, PlainEndpoint, LiveConnectionView,
} from './connection-types.js';
