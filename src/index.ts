/**
 * wirewarden's public API: every name a user imports from 'wirewarden' (the chaos toolkit
 * is the 'wirewarden/chaos' subpath, src/chaos/index.ts). Nothing else is public; modules
 * inside the package import each other by path. test/public-api.test.ts pins both lists,
 * so an addition is a decision, and checks that every name the docs import is here.
 *
 * What earns a place:
 * - what a user calls: the runtime, the supervisor-spec builders, backoff policies, the
 *   connection actor and its two accessors, dialers, protocols, the wire server, framing
 *   offload, the error classes with `hasCode`;
 * - the types of those calls' options, results and events (a type is a cheaper promise
 *   than a value, but still one: only types that appear in a public signature or event).
 *   Classes a user receives but never constructs (`Pool`, `Lease`, `Subscriber`,
 *   `WireSession`, `RespSession`) are exported as types only.
 *
 * What stays internal: option schemas and parsers, defaults objects (the docs' tables are
 * the contract), the RTT estimator and adaptive interval, codecs and parsers (frame
 * decoder/writer, msgpack codec, RESP parser and encoder), the pool's core and its
 * `ConnectionSource` seam, the supervisor's logic and engine, runtime services.
 */

// Runtime and observability (docs/runtime.md, docs/inspector.md)
export { createRuntime } from './runtime.js';
export type { Runtime, RuntimeOptions, RuntimeState } from './runtime.js';
export { EVENT_CHANNEL } from './observe/diagnostics.js';
export type {
  RuntimeEvent, StateEvent, RestartEvent, ChildExitEvent, EscalationEvent, ShutdownEvent, RuntimeFailedEvent,
  PoolRuntimeEvent, EventTrace,
} from './observe/events.js';
// Metrics and tracing (docs/observability.md); prom-client and @opentelemetry/api are optional peers
export { createPrometheusMetrics } from './observe/prometheus.js';
export type { PrometheusMetrics, PrometheusMetricsOptions, PrometheusRegistry } from './observe/prometheus.js';
export { createOpenTelemetry } from './observe/opentelemetry.js';
export type { OpenTelemetry, OpenTelemetryOptions } from './observe/opentelemetry.js';
export type { OtelMetricProducer } from './observe/otel-metric-producer.js';
// Live dashboard and Stately inspector relay (docs/observability.md): rt.serveDashboard(), rt.serveInspector()
export type { Dashboard, DashboardOptions } from './observe/dashboard-server.js';
export type { InspectorRelay, InspectorRelayOptions } from './observe/inspector-relay.js';
export type { ServeInspectorOptions } from './observe/inspector-relay-runtime.js';

// Supervisors and backoff (docs/supervisor.md, docs/backoff.md)
export { createSupervisor, supervisorChild } from './supervisor/supervisor-logic.js';
export type { SupervisorChildOptions } from './supervisor/supervisor-logic.js';
export type { ChildSpec, SupervisorSpec, RestartType, Strategy, ShutdownOrder } from './supervisor/supervisor-spec.js';
export type { SupervisorHandle, WhenChildStateOptions } from './supervisor/supervisor-handle.js';
export type { ChildInfo, SupervisorRef, SupervisorSnapshot, SupervisorOutput } from './supervisor/supervisor-types.js';
export { exponentialBackoff, constantBackoff, grpcBackoff } from './supervisor/backoff.js';
export type { BackoffPolicy, Jitter, ExponentialBackoffOptions, ConstantBackoffOptions } from './supervisor/backoff.js';

// The connection actor (docs/connection-actor.md)
export { connectionMachine } from './actors/connection-machine.js';
export { connectionModel } from './actors/connection-model.js';
export type { ConnectionEvent } from './actors/connection-events.js';
export { connectionState, liveConnection } from './actors/live-connection.js';
export type { ConnectionSnapshot, ConnectionStatePath, ConnectionStateValue } from './actors/connection-snapshot.js';
export type {
  ConnectionInput, ConnectionState, ConnectionOutput, ConnectionCommand, ConnectionHealth, DeadReason, KillReason,
  HeartbeatOptions, HeartbeatInput, LiveConnectionView,
} from './actors/connection-types.js';

// Transports and protocols (docs/transport.md, docs/wire-protocol.md, docs/resp-protocol.md)
export type { Endpoint, DialOptions, Transport, Protocol, ProtocolContext, ProbeListener } from './transport/types.js';
export { tcp, type TcpOptions } from './transport/tcp.js';
export { tls, type TlsOptions, type Pem } from './transport/tls.js';
export { unix, type UnixOptions } from './transport/unix.js';
export { wire, type WireOptions } from './transport/wire.js';
export type { WireSession, WireSessionState, RequestOptions, SendOptions } from './transport/wire-session.js';
export { createWireServer } from './transport/wire-server.js';
export type {
  WireServer, WireServerOptions, WireServerAddress, WireClientInfo, WireClientDropped, WireRequestContext, WireDropReason,
} from './transport/wire-server.js';
export type { WireServerConnectionState } from './transport/wire-server-connection.js';
export { createFramingPool } from './transport/framing-pool.js';
export type { FramingPool, FramingPoolOptions, ResolvedFramingPoolOptions } from './transport/framing-pool.js';
export { offloaded, type OffloadedReply } from './transport/framing-offloaded.js';
export { resp, type RespOptions } from './transport/resp.js';
export type { RespSession, RespSessionState, CommandOptions, RespMessage } from './transport/resp-session.js';
export type { RespServerInfo } from './transport/resp-handshake.js';
export type { RespReply } from './transport/resp-parser.js';
export type { RespArg } from './transport/resp-encoder.js';
export { custom, type CustomProtocolOptions } from './transport/custom.js';
// Connect mode, for libraries that dial by themselves (docs/custom-clients.md)
export type { AnyProtocol, ConnectProtocol, ConnectContext, SessionProtocol, SessionSharing } from './transport/types.js';
export type { CustomStreamOptions, CustomConnectOptions, CustomSessionOptions } from './transport/custom.js';

// The pool (docs/pool.md)
export type { Pool } from './pool/pool.js';
export type { Lease } from './pool/lease.js';
export type { CreatePoolOptions } from './pool/create-pool.js';
export type { AcquireOptions, DispatchOptions } from './pool/acquire-options.js';
export type { CommandSession, RequestSession } from './pool/dispatch-calls.js';
export type { BalanceStrategy } from './pool/balancer.js';
export type { PoolOptions, PoolEndpoint } from './pool/pool-options.js';
export type { PoolConnectionInfo } from './pool/pool-core.js';
export type { PoolStats, EndpointStats, DispatchStats, ClosedReason } from './pool/pool-stats.js';
export type { PoolHealth, EndpointHealth, EndpointHealthState, PoolUnreadyReason, DiscoveryHealth } from './pool/pool-health.js';
// Live discovery: `endpoints` from a provider (docs/pool.md "Discovery")
export { endpointsFrom } from './pool/endpoint-provider.js';
export type { EndpointProvider, EndpointSource, DiscoveryContext, EndpointsFromOptions } from './pool/endpoint-provider.js';
export { redisSentinel } from './pool/redis-sentinel.js';
export type { RedisSentinelOptions } from './pool/redis-sentinel.js';
export type {
  PoolEvent, PoolConnectionReadyEvent, PoolDialFailedEvent, PoolFailoverEvent, PoolConnectionClosedEvent,
  PoolLeaseLostEvent, PoolLeakEvent, PoolLeakReturnedEvent, PoolEndpointRefusedEvent, PoolEndpointRecoveredEvent,
  PoolAcquireTimeoutEvent, PoolDispatchTimeoutEvent, PoolEndpointsChangedEvent, PoolDiscoveryErrorEvent, PoolLogger,
  PoolBreakerEvent, PoolEndpointEjectedEvent, PoolEndpointReadmittedEvent, PoolEndpointHealthyEvent,
  PoolPriorityFailoverEvent, PoolPriorityFailbackEvent, PoolSheddingEvent,
} from './pool/pool-events.js';
// Endpoint health: breaker, outlier ejection, failover, shedding (docs/pool.md "Endpoint health")
export type { EndpointHealthOptionsInput } from './pool/endpoint-health-options.js';
export type { BreakerOptions, BreakerOptionsInput, SlidingWindowType } from './pool/health/breaker-options.js';
export type { Outcome as CallOutcome, ClassifyError } from './pool/health/classify-outcome.js';
export type { OutlierOptions } from './pool/health/outlier-options.js';
export type { FailoverOptions } from './pool/health/failover-policy.js';
export type { SheddingOptions } from './pool/health/queue-delay-shedder.js';

// Supervised pub/sub (docs/pubsub.md)
export type { Subscriber } from './pubsub/subscriber.js';
export type { CreateSubscriberOptions } from './pubsub/subscriber-options.js';
export type {
  SubscriberState, SubscriberEvent, SubscriberSubscribedEvent, SubscriberGapEvent, SubscriberDialFailedEvent,
  SubscriberSubscribeFailedEvent,
} from './pubsub/subscriber-events.js';

// Errors (docs/errors.md): one class per code, each also a type of the same name.
export { WirewardenError, hasCode, errorFromCode } from './errors.js';
export type { ErrorCode, WirewardenErrorOptions, RemoteErrorOptions } from './errors.js';
export {
  InvalidOptionError, AbortedError,
  DialRefusedError, DialTimeoutError, DialFailedError, TlsError,
  FrameTooLargeError, ProtocolError, WriteQueueFullError, HandshakeFailedError, HandshakeRefusedError,
  RequestTimeoutError, RemoteError, ConnectionClosedError, GoawayError, ExclusiveCommandError, DispatchUnsupportedError, ListenFailedError,
  ChildNotFoundError, ChildExistsError, RestartIntensityError, RuntimeShutDownError,
  PoolTimeoutError, PoolQueueFullError, PoolClosedError, EndpointRefusedError, LeaseReleasedError, LeaseLostError,
  PoolOverloadedError, CircuitOpenError, DiscoveryError,
  ProxyNotFoundError, ProxyExistsError, ProxyRegistryClosedError, ToxicNotFoundError, ToxicExistsError, InvariantBrokenError,
} from './errors.js';
