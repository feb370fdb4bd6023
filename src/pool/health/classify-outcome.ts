/**
 * Which failures count against an endpoint: the one rule the circuit breaker and outlier
 * ejection share, so the two never disagree about whose fault a failure was.
 *
 *   connection-failure  the endpoint could not carry the call: a dial or handshake failed,
 *                       the connection died or was lost, the request timed out, the server
 *                       sent GOAWAY (Envoy's "gateway failure": 502/503/504)
 *   server-failure      the endpoint answered, but as a broken or overloaded server does:
 *                       bytes off the protocol, a frame over the limit, a peer too slow to
 *                       read, an error reply the protocol marks transient (Redis LOADING,
 *                       BUSY, MASTERDOWN… — `RemoteError.retryable`) (Envoy's other 5xx)
 *   success             the endpoint did its job — also when its answer was an error about
 *                       the caller's request (WRONGTYPE, a bad command): the server is fine
 *   ignored             no evidence about the endpoint: the caller aborted, the pool refused
 *                       locally (timeout, queue full, shed, circuit open, closed), a bad
 *                       option, or an error thrown by the caller's own code
 *
 * Errors from other libraries (a driver in connect mode) count when they carry a socket
 * error code (undici's list: ECONNRESET, ECONNREFUSED, ETIMEDOUT…); anything else thrown
 * inside `use()` is the caller's and ignored. A test keeps the table below complete: every
 * code in src/errors.ts must be placed here explicitly.
 */
import { WirewardenError, type ErrorCode } from '../../errors.js';

export type Outcome = 'success' | 'connection-failure' | 'server-failure' | 'ignored';

/** An override: return an outcome to decide, `undefined` to fall back to {@link classifyError}. */
export type ClassifyError = (error: unknown) => Outcome | undefined;

/** Every wirewarden code, placed. `WW_REMOTE_ERROR` is decided per error (see below). */
export const outcomeByCode: Readonly<Partial<Record<ErrorCode, Outcome>>> = Object.freeze({
  WW_DIAL_REFUSED: 'connection-failure',
  WW_DIAL_TIMEOUT: 'connection-failure',
  WW_DIAL_FAILED: 'connection-failure',
  WW_TLS: 'connection-failure',
  WW_HANDSHAKE_FAILED: 'connection-failure',
  WW_HANDSHAKE_REFUSED: 'connection-failure',
  WW_REQUEST_TIMEOUT: 'connection-failure',
  WW_CONNECTION_CLOSED: 'connection-failure',
  WW_LEASE_LOST: 'connection-failure',
  WW_GOAWAY: 'connection-failure',
  WW_PROTOCOL_ERROR: 'server-failure',
  WW_FRAME_TOO_LARGE: 'server-failure',
  WW_WRITE_QUEUE_FULL: 'server-failure',
  WW_REMOTE_ERROR: 'success',
  WW_INVALID_OPTION: 'ignored',
  WW_ABORTED: 'ignored',
  WW_LISTEN_FAILED: 'ignored',
  WW_CHILD_NOT_FOUND: 'ignored',
  WW_CHILD_EXISTS: 'ignored',
  WW_RESTART_INTENSITY: 'ignored',
  WW_RUNTIME_SHUT_DOWN: 'ignored',
  WW_POOL_TIMEOUT: 'ignored',
  WW_POOL_QUEUE_FULL: 'ignored',
  WW_POOL_CLOSED: 'ignored',
  WW_POOL_OVERLOADED: 'ignored',
  WW_CIRCUIT_OPEN: 'ignored',
  WW_ENDPOINT_REFUSED: 'ignored',
  WW_LEASE_RELEASED: 'ignored',
  WW_EXCLUSIVE_COMMAND: 'ignored',
  WW_DISPATCH_UNSUPPORTED: 'ignored',
  WW_DISCOVERY_FAILED: 'ignored',
  WW_PROXY_NOT_FOUND: 'ignored',
  WW_PROXY_EXISTS: 'ignored',
  WW_PROXY_REGISTRY_CLOSED: 'ignored',
  WW_TOXIC_NOT_FOUND: 'ignored',
  WW_TOXIC_EXISTS: 'ignored',
  WW_INVARIANT_BROKEN: 'ignored',
} as const);

/** Socket errors of Node and drivers (undici's retry list plus the aborts). */
const SOCKET_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN',
  'ENETDOWN', 'ENETUNREACH', 'EHOSTDOWN', 'EHOSTUNREACH', 'UND_ERR_SOCKET',
]);

/**
 * Classifies a call's error (`undefined` is a success).
 *
 * @example
 * classifyError(new DialRefusedError('…'));                   // 'connection-failure'
 * classifyError(new RemoteError('WRONGTYPE …'));               // 'success': the server answered
 * classifyError(new RemoteError('LOADING …', { retryable: true })); // 'server-failure'
 */
export function classifyError(error: unknown): Outcome {
  if (error === undefined) return 'success';
  if (error instanceof WirewardenError) {
    if (error.code === 'WW_REMOTE_ERROR') return error.retryable ? 'server-failure' : 'success';
    return outcomeByCode[error.code] ?? 'ignored';
  }
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && SOCKET_ERROR_CODES.has(code) ? 'connection-failure' : 'ignored';
}

/** `classifyError` with a user's override in front (the breaker's `recordFailurePredicate`, say). */
export function classifierWith(override: ClassifyError | undefined): (error: unknown) => Outcome {
  if (override === undefined) return classifyError;
  return (error) => override(error) ?? classifyError(error);
}
