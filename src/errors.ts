/**
 * Every failure wirewarden reports is a `WirewardenError` with a stable `code`.
 *
 * Codes are a contract: they are listed in `docs/errors.md` (a test keeps the two in
 * sync), never reused, never renamed. Messages name the value and the limit; `cause`
 * carries the underlying error (a socket's `ECONNREFUSED`, the last dial error of a pool).
 * Errors that cross a worker boundary are rebuilt from their `code` with `errorFromCode`.
 */

export type ErrorCode =
  | 'WW_INVALID_OPTION'
  | 'WW_ABORTED'
  | 'WW_DIAL_REFUSED'
  | 'WW_DIAL_TIMEOUT'
  | 'WW_DIAL_FAILED'
  | 'WW_TLS'
  | 'WW_FRAME_TOO_LARGE'
  | 'WW_PROTOCOL_ERROR'
  | 'WW_WRITE_QUEUE_FULL'
  | 'WW_HANDSHAKE_FAILED'
  | 'WW_HANDSHAKE_REFUSED'
  | 'WW_REQUEST_TIMEOUT'
  | 'WW_REMOTE_ERROR'
  | 'WW_CONNECTION_CLOSED'
  | 'WW_GOAWAY'
  | 'WW_EXCLUSIVE_COMMAND'
  | 'WW_DISPATCH_UNSUPPORTED'
  | 'WW_LISTEN_FAILED'
  | 'WW_CHILD_NOT_FOUND'
  | 'WW_CHILD_EXISTS'
  | 'WW_RESTART_INTENSITY'
  | 'WW_RUNTIME_SHUT_DOWN'
  | 'WW_POOL_TIMEOUT'
  | 'WW_POOL_QUEUE_FULL'
  | 'WW_POOL_CLOSED'
  | 'WW_ENDPOINT_REFUSED'
  | 'WW_DISCOVERY_FAILED'
  | 'WW_LEASE_RELEASED'
  | 'WW_LEASE_LOST'
  | 'WW_POOL_OVERLOADED'
  | 'WW_CIRCUIT_OPEN'
  | 'WW_PROXY_NOT_FOUND'
  | 'WW_PROXY_EXISTS'
  | 'WW_PROXY_REGISTRY_CLOSED'
  | 'WW_TOXIC_NOT_FOUND'
  | 'WW_TOXIC_EXISTS'
  | 'WW_INVARIANT_BROKEN';

export interface WirewardenErrorOptions {
  cause?: unknown;
}

/**
 * Base class: `instanceof WirewardenError` catches everything wirewarden throws.
 *
 * `retryable` says whether trying the same call again can succeed: true for transient
 * conditions (a peer down or slow, a connection lost, a pool saturated), false when the
 * same call fails the same way (bad input or credentials, a closed pool, a programming
 * error). It is fixed per code, so a handler can map errors to HTTP statuses (503 with
 * `Retry-After` vs 4xx/500) without listing codes. One exception: a `RemoteError` is
 * permanent by default but says per reply when the server is only transiently unable
 * (Redis `LOADING`, `BUSY`, `TRYAGAIN`…; see `RemoteErrorOptions`). A retryable request
 * timeout may still have run on the server: retry only what is idempotent.
 */
export class WirewardenError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options?: WirewardenErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    const told = (options as RemoteErrorOptions | undefined)?.retryable;
    this.retryable = perInstanceCodes.has(code) && typeof told === 'boolean' ? told : retryableCodes.has(code);
    this.name = new.target.name;
  }
}

/** A retry can succeed: the condition is transient. */
const RETRYABLE = true;
/** The same call fails the same way again: fix the input, the credentials or the program. */
const PERMANENT = false;
const retryableCodes = new Set<ErrorCode>();
/** Codes whose errors may override their class's `retryable` through their options. */
const perInstanceCodes = new Set<ErrorCode>();

/**
 * One class per code; `retryable` is decided here, where the failure is defined. With
 * `perInstance`, the constructor's options may say otherwise for one error (`O` declares
 * that option).
 */
function defineError<C extends ErrorCode, O extends WirewardenErrorOptions = WirewardenErrorOptions>(
  code: C, name: string, retryable: boolean, perInstance = false,
) {
  if (retryable) retryableCodes.add(code);
  if (perInstance) perInstanceCodes.add(code);
  const cls = class extends WirewardenError {
    declare readonly code: C;
    constructor(message: string, options?: O) {
      super(code, message, options);
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  // `O` only adds optional fields, so the base options are enough to rebuild one.
  registry.set(code, cls as unknown as ErrorClass);
  return cls;
}

type ErrorClass = new (message: string, options?: WirewardenErrorOptions) => WirewardenError;
const registry = new Map<ErrorCode, ErrorClass>();

/** An option failed validation; the message names its path and expected shape. */
export const InvalidOptionError = defineError('WW_INVALID_OPTION', 'InvalidOptionError', PERMANENT);
export type InvalidOptionError = InstanceType<typeof InvalidOptionError>;
/** The operation's `AbortSignal` fired; `cause` is the signal's reason. */
export const AbortedError = defineError('WW_ABORTED', 'AbortedError', PERMANENT);
export type AbortedError = InstanceType<typeof AbortedError>;
/** The peer refused the connection (`ECONNREFUSED`, or a missing unix socket). */
export const DialRefusedError = defineError('WW_DIAL_REFUSED', 'DialRefusedError', RETRYABLE);
export type DialRefusedError = InstanceType<typeof DialRefusedError>;
/** The transport did not connect within `connectTimeoutMs`. */
export const DialTimeoutError = defineError('WW_DIAL_TIMEOUT', 'DialTimeoutError', RETRYABLE);
export type DialTimeoutError = InstanceType<typeof DialTimeoutError>;
/** Any other connect failure (DNS, unreachable, reset during connect). */
export const DialFailedError = defineError('WW_DIAL_FAILED', 'DialFailedError', RETRYABLE);
export type DialFailedError = InstanceType<typeof DialFailedError>;
/** TLS handshake or certificate verification failed. */
export const TlsError = defineError('WW_TLS', 'TlsError', PERMANENT);
export type TlsError = InstanceType<typeof TlsError>;
/** A frame's declared length exceeds `maxFrameBytes`; refused before allocation. */
export const FrameTooLargeError = defineError('WW_FRAME_TOO_LARGE', 'FrameTooLargeError', PERMANENT);
export type FrameTooLargeError = InstanceType<typeof FrameTooLargeError>;
/** The peer sent bytes that do not follow the protocol. */
export const ProtocolError = defineError('WW_PROTOCOL_ERROR', 'ProtocolError', PERMANENT);
export type ProtocolError = InstanceType<typeof ProtocolError>;
/** The peer reads too slowly and the bounded write queue is full. */
export const WriteQueueFullError = defineError('WW_WRITE_QUEUE_FULL', 'WriteQueueFullError', RETRYABLE);
export type WriteQueueFullError = InstanceType<typeof WriteQueueFullError>;
/** The protocol handshake (hello, auth) failed or timed out. */
export const HandshakeFailedError = defineError('WW_HANDSHAKE_FAILED', 'HandshakeFailedError', RETRYABLE);
export type HandshakeFailedError = InstanceType<typeof HandshakeFailedError>;
/**
 * The peer rejected the handshake for a reason a retry cannot fix: bad credentials
 * (WRONGPASS, NOAUTH, a bad wire token), an unsupported protocol version, a database out
 * of range. The pool marks the endpoint refused and fails callers at once with it as cause.
 */
export const HandshakeRefusedError = defineError('WW_HANDSHAKE_REFUSED', 'HandshakeRefusedError', PERMANENT);
export type HandshakeRefusedError = InstanceType<typeof HandshakeRefusedError>;
/** A request got no reply within its timeout. */
export const RequestTimeoutError = defineError('WW_REQUEST_TIMEOUT', 'RequestTimeoutError', RETRYABLE);
export type RequestTimeoutError = InstanceType<typeof RequestTimeoutError>;
export interface RemoteErrorOptions extends WirewardenErrorOptions {
  /**
   * The reply says the server is transiently unable, so the same request can succeed
   * later (Redis `LOADING`, `BUSY`, `TRYAGAIN`, `MASTERDOWN`, `CLUSTERDOWN`). Default
   * `false`: an error reply usually means the request itself is wrong.
   */
  retryable?: boolean;
}

/**
 * The peer answered a request with an error. Not retryable, unless the reply says the
 * server is only transiently unable (`RemoteErrorOptions.retryable`).
 */
export const RemoteError = defineError<'WW_REMOTE_ERROR', RemoteErrorOptions>('WW_REMOTE_ERROR', 'RemoteError', PERMANENT, true);
export type RemoteError = InstanceType<typeof RemoteError>;
/** The connection closed (or died) while a call was pending or was made on it. */
export const ConnectionClosedError = defineError('WW_CONNECTION_CLOSED', 'ConnectionClosedError', RETRYABLE);
export type ConnectionClosedError = InstanceType<typeof ConnectionClosedError>;
/** The server is going away and accepts no new requests on this connection. */
export const GoawayError = defineError('WW_GOAWAY', 'GoawayError', RETRYABLE);
export type GoawayError = InstanceType<typeof GoawayError>;
/**
 * A command that needs a connection to itself (RESP `MULTI`, `WATCH`, a blocking `BLPOP`,
 * `SUBSCRIBE`, `SELECT`…) was refused before it was written, because the session is
 * shared by `pool.dispatch`. Nothing else on the connection is affected. Run it in
 * `pool.use()` or on a lease from `pool.acquire()`.
 */
export const ExclusiveCommandError = defineError('WW_EXCLUSIVE_COMMAND', 'ExclusiveCommandError', PERMANENT);
export type ExclusiveCommandError = InstanceType<typeof ExclusiveCommandError>;
/**
 * `pool.dispatch` (or `command`, `request`) on a pool whose protocol cannot share a
 * connection (it has no `sharing`), or a convenience its sessions lack (`pool.command`
 * on sessions without `command()`). Lease a connection with `pool.use()` or `pool.acquire()`.
 */
export const DispatchUnsupportedError = defineError('WW_DISPATCH_UNSUPPORTED', 'DispatchUnsupportedError', PERMANENT);
export type DispatchUnsupportedError = InstanceType<typeof DispatchUnsupportedError>;
/** A server could not listen (address in use, permission denied); `cause` is the socket error. */
export const ListenFailedError = defineError('WW_LISTEN_FAILED', 'ListenFailedError', PERMANENT);
export type ListenFailedError = InstanceType<typeof ListenFailedError>;
/** No child with that id under this supervisor. */
export const ChildNotFoundError = defineError('WW_CHILD_NOT_FOUND', 'ChildNotFoundError', PERMANENT);
export type ChildNotFoundError = InstanceType<typeof ChildNotFoundError>;
/** A child with that id already exists under this supervisor. */
export const ChildExistsError = defineError('WW_CHILD_EXISTS', 'ChildExistsError', PERMANENT);
export type ChildExistsError = InstanceType<typeof ChildExistsError>;
/** More than `maxRestarts` restarts within `withinMs`: the supervisor gave up. */
export const RestartIntensityError = defineError('WW_RESTART_INTENSITY', 'RestartIntensityError', PERMANENT);
export type RestartIntensityError = InstanceType<typeof RestartIntensityError>;
/** The runtime is shutting down or shut down. */
export const RuntimeShutDownError = defineError('WW_RUNTIME_SHUT_DOWN', 'RuntimeShutDownError', PERMANENT);
export type RuntimeShutDownError = InstanceType<typeof RuntimeShutDownError>;
/** `acquire` timed out; the message names the pool's size, leased, idle, pending and waiting. */
export const PoolTimeoutError = defineError('WW_POOL_TIMEOUT', 'PoolTimeoutError', RETRYABLE);
export type PoolTimeoutError = InstanceType<typeof PoolTimeoutError>;
/** `maxWaiting` waiters already queue; the acquire fails at once. */
export const PoolQueueFullError = defineError('WW_POOL_QUEUE_FULL', 'PoolQueueFullError', RETRYABLE);
export type PoolQueueFullError = InstanceType<typeof PoolQueueFullError>;
/** The pool is closing or closed. */
export const PoolClosedError = defineError('WW_POOL_CLOSED', 'PoolClosedError', PERMANENT);
export type PoolClosedError = InstanceType<typeof PoolClosedError>;
/** Every endpoint of the pool refused the handshake (`cause`: the `HandshakeRefusedError`); acquires fail at once. */
export const EndpointRefusedError = defineError('WW_ENDPOINT_REFUSED', 'EndpointRefusedError', PERMANENT);
export type EndpointRefusedError = InstanceType<typeof EndpointRefusedError>;
/** An endpoint provider could not tell where to connect (no sentinel reachable, none knows the master); the last known endpoints stay in use. */
export const DiscoveryError = defineError('WW_DISCOVERY_FAILED', 'DiscoveryError', RETRYABLE);
export type DiscoveryError = InstanceType<typeof DiscoveryError>;
/** The lease was already released or destroyed (double release, use after release). */
export const LeaseReleasedError = defineError('WW_LEASE_RELEASED', 'LeaseReleasedError', PERMANENT);
export type LeaseReleasedError = InstanceType<typeof LeaseReleasedError>;
/** The leased connection died; the lease ended and the connection is being replaced. */
export const LeaseLostError = defineError('WW_LEASE_LOST', 'LeaseLostError', RETRYABLE);
export type LeaseLostError = InstanceType<typeof LeaseLostError>;
/**
 * Load shedding: the pool's queue wait stayed above its target (`queueTargetMs`) for a
 * whole `queueIntervalMs`, so a new acquire is refused at once (or a queued one dropped
 * past twice the target) instead of joining a queue that only grows.
 */
export const PoolOverloadedError = defineError('WW_POOL_OVERLOADED', 'PoolOverloadedError', RETRYABLE);
export type PoolOverloadedError = InstanceType<typeof PoolOverloadedError>;
/**
 * The endpoint's circuit breaker is open (or every endpoint's is): the call fails at once
 * instead of waiting for a connection that cannot come. `cause` is the last failure seen
 * on the endpoint; the breaker lets trial calls through by itself once its wait is over.
 */
export const CircuitOpenError = defineError('WW_CIRCUIT_OPEN', 'CircuitOpenError', RETRYABLE);
export type CircuitOpenError = InstanceType<typeof CircuitOpenError>;
/** No chaos proxy with that name in the registry. */
export const ProxyNotFoundError = defineError('WW_PROXY_NOT_FOUND', 'ProxyNotFoundError', PERMANENT);
export type ProxyNotFoundError = InstanceType<typeof ProxyNotFoundError>;
/** A chaos proxy with that name already exists in the registry. */
export const ProxyExistsError = defineError('WW_PROXY_EXISTS', 'ProxyExistsError', PERMANENT);
export type ProxyExistsError = InstanceType<typeof ProxyExistsError>;
/** The chaos proxy registry (or the Toxiproxy API server that owns it) is closed: it starts no more proxies. */
export const ProxyRegistryClosedError = defineError('WW_PROXY_REGISTRY_CLOSED', 'ProxyRegistryClosedError', PERMANENT);
export type ProxyRegistryClosedError = InstanceType<typeof ProxyRegistryClosedError>;
/** No toxic with that name on this chaos proxy. */
export const ToxicNotFoundError = defineError('WW_TOXIC_NOT_FOUND', 'ToxicNotFoundError', PERMANENT);
export type ToxicNotFoundError = InstanceType<typeof ToxicNotFoundError>;
/** A toxic with that name already exists on this chaos proxy. */
export const ToxicExistsError = defineError('WW_TOXIC_EXISTS', 'ToxicExistsError', PERMANENT);
export type ToxicExistsError = InstanceType<typeof ToxicExistsError>;
/** A chaos scenario's invariant failed. */
export const InvariantBrokenError = defineError('WW_INVARIANT_BROKEN', 'InvariantBrokenError', PERMANENT);
export type InvariantBrokenError = InstanceType<typeof InvariantBrokenError>;

/** Every code with its error class, for docs and tests. */
export function errorCodes(): ErrorCode[] {
  return [...registry.keys()];
}

/** Rebuilds a typed error from its code, e.g. after it crossed a worker boundary. */
export function errorFromCode(code: string, message: string, options?: WirewardenErrorOptions): WirewardenError {
  const cls = registry.get(code as ErrorCode);
  return cls ? new cls(message, options) : new ProtocolError(`unknown error code ${JSON.stringify(code)}: ${message}`, options);
}

/** True when `err` is a wirewarden error with that code. */
export function hasCode(err: unknown, code: ErrorCode): err is WirewardenError {
  return err instanceof WirewardenError && err.code === code;
}

/** Wraps a signal's reason so callers always see `WW_ABORTED` with the reason as cause. */
export function abortedError(signal: AbortSignal, what: string): AbortedError {
  return new AbortedError(`${what} aborted`, { cause: signal.reason as unknown });
}
