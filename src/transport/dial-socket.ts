/**
 * The part every socket dialer shares: turn a connecting `net.Socket` (or `TLSSocket`)
 * into a promise with a connect timeout, an AbortSignal and typed errors, and leave
 * nothing behind on failure.
 *
 *   create() ──▶ connecting ──'connect'/'secureConnect'──▶ resolve(socket)
 *                    │ 'error' / 'close' / timeout (scheduler) / abort
 *                    ▼
 *     destroy socket, drop listeners, cancel timer ──▶ reject(typed error)
 *
 * Trade-offs:
 * - The timeout runs on the injected scheduler (default `asyncScheduler`), not on the
 *   socket's own `setTimeout`, so tests drive it in virtual time and it covers the whole
 *   dial (TCP connect and, for TLS, the handshake).
 * - Errors map to stable codes: refused (`ECONNREFUSED`, a missing unix path) →
 *   `WW_DIAL_REFUSED`; a TLS dial that fails once its TCP leg is up → `WW_TLS` (a
 *   certificate or protocol failure, which a retry does not fix), except for a reset or
 *   an end of stream during the handshake (a backend restarting, a load balancer
 *   dropping the connection), which is `WW_DIAL_FAILED` like any other transient
 *   network failure and so retryable. `cause` is the original error; the message names
 *   the endpoint.
 * - The signal covers the dial only. Once resolved, the caller owns the socket (and must
 *   listen for its 'error'); the dial keeps no listener on it or on the signal.
 * - A failed socket keeps a no-op 'error' listener: a destroyed TLS socket can still
 *   report a late handshake error, which must not become an uncaught exception.
 */
import { addAbortListener } from 'node:events';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { asyncScheduler, type Subscription } from 'rxjs';
import {
  AbortedError, DialFailedError, DialRefusedError, DialTimeoutError, InvalidOptionError, TlsError,
  type WirewardenError,
} from '../errors.js';
import { invalidDuration, isDurationMs } from '../options.js';
import type { DialOptions, Endpoint } from './types.js';

export const DEFAULT_HOST = '127.0.0.1';

/** `host:port` (`[v6]:port`) or the unix path, for messages. */
export function describeEndpoint(endpoint: Endpoint): string {
  if (endpoint.path !== undefined) return endpoint.path;
  const host = endpoint.host ?? DEFAULT_HOST;
  return `${host.includes(':') ? `[${host}]` : host}:${String(endpoint.port)}`;
}

/** Validates a TCP/TLS endpoint; returns the host to dial. */
export function checkHostPort(endpoint: Endpoint): { host: string; port: number } {
  const { host = DEFAULT_HOST, port } = endpoint ?? {};
  if (typeof host !== 'string' || host.length === 0) {
    throw new InvalidOptionError(`endpoint.host must be a non-empty string, got ${typeof host}`);
  }
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidOptionError(`endpoint.port must be an integer in [1, 65535], got ${String(port)}`);
  }
  return { host, port };
}

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'CERT_REVOKED', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'HOSTNAME_MISMATCH', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function isTlsCode(code: string | undefined): boolean {
  return code !== undefined && (TLS_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_'));
}

/**
 * Network failures that can cut a TLS handshake short without saying anything about
 * TLS: the peer reset or closed (Node reports "disconnected before secure TLS
 * connection was established" as ECONNRESET), or the path went away.
 */
const TRANSIENT_CODES = new Set([
  'ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ETIMEDOUT', 'ENETUNREACH', 'EHOSTUNREACH', 'ENETDOWN', 'EHOSTDOWN',
]);

export interface SocketDialSpec {
  readonly kind: 'tcp' | 'tls' | 'unix';
  readonly where: string;
  /** Starts connecting; called once, synchronously. */
  readonly create: () => Socket;
  /** The event that means "usable": 'connect', or 'secureConnect' for TLS. */
  readonly readyEvent: 'connect' | 'secureConnect';
}

function classify(spec: SocketDialSpec, err: unknown, tcpUp: boolean): WirewardenError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const text = err instanceof Error ? err.message : String(err);
  if (code === 'ECONNREFUSED' || code === 'ENOENT') {
    return new DialRefusedError(`dial ${spec.kind} ${spec.where} refused (${code})`, { cause: err });
  }
  if (spec.kind === 'tls' && (isTlsCode(code) || (tcpUp && (code === undefined || !TRANSIENT_CODES.has(code))))) {
    return new TlsError(`TLS handshake with ${spec.where} failed: ${text}`, { cause: err });
  }
  const during = spec.kind === 'tls' && tcpUp ? ' during the TLS handshake' : '';
  return new DialFailedError(`dial ${spec.kind} ${spec.where} failed${during} (${code ?? text})`, { cause: err });
}

function noop(): void {}

/** Dials one socket per the spec. Rejects, never throws. */
export function dialSocket(spec: SocketDialSpec, options: DialOptions): Promise<Duplex> {
  const { connectTimeoutMs, signal, scheduler = asyncScheduler } = options;
  if (!isDurationMs(connectTimeoutMs, 1)) return Promise.reject(invalidDuration('dial.connectTimeoutMs', connectTimeoutMs, 1));
  if (signal?.aborted) {
    return Promise.reject(new AbortedError(`dial ${spec.kind} ${spec.where} aborted`, { cause: signal.reason }));
  }
  return new Promise<Duplex>((resolve, reject) => {
    let socket: Socket;
    try {
      socket = spec.create();
    } catch (err) {
      reject(classify(spec, err, false));
      return;
    }
    let done = false;
    let tcpUp = false;
    let timer: Subscription | undefined;
    let abort: Disposable | undefined;

    const cleanup = (): void => {
      done = true;
      timer?.unsubscribe();
      abort?.[Symbol.dispose]();
      socket.off(spec.readyEvent, onReady);
      socket.off('connect', onTcp);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    const fail = (err: WirewardenError): void => {
      if (done) return;
      cleanup();
      socket.on('error', noop);
      socket.destroy();
      reject(err);
    };
    const onReady = (): void => {
      if (done) return;
      cleanup();
      resolve(socket);
    };
    const onTcp = (): void => {
      tcpUp = true;
    };
    const onError = (err: Error): void => fail(classify(spec, err, tcpUp));
    const onClose = (): void => fail(new DialFailedError(`dial ${spec.kind} ${spec.where} failed: closed before it was ready`));

    socket.once(spec.readyEvent, onReady);
    if (spec.readyEvent !== 'connect') socket.once('connect', onTcp);
    socket.on('error', onError);
    socket.once('close', onClose);
    timer = scheduler.schedule(
      () => fail(new DialTimeoutError(`dial ${spec.kind} ${spec.where} timed out after ${connectTimeoutMs} ms`)),
      connectTimeoutMs,
    );
    if (signal) {
      abort = addAbortListener(signal, () => fail(new AbortedError(`dial ${spec.kind} ${spec.where} aborted`, { cause: signal.reason })));
    }
  });
}
