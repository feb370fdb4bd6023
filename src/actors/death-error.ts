/**
 * What a dead connection reports: its reason comes from the machine, its error from here.
 *
 * Every final output of `dead` carries a typed `WirewardenError` when there is one to
 * give: typed errors from the dial and handshake steps and from the stream (a protocol
 * that destroys its stream with `ProtocolError`) are passed through unchanged; raw socket
 * errors are wrapped with the original as `cause`; a heartbeat timeout, a peer close or a
 * stream lost during the handshake get an error that names the endpoint. A `KILL` carries
 * its own error, or none. Messages name the endpoint, never a credential.
 */
import {
  ConnectionClosedError, DialFailedError, HandshakeFailedError, ProtocolError, RequestTimeoutError, WirewardenError,
} from '../errors.js';
import type { ConnectionEvent } from './connection-events.js';
import type { ConnectionContext, DeadReason, PlainEndpoint } from './connection-types.js';

/** How a stream's end maps to a death reason (see src/transport/types.ts). */
export type StreamEndReason = Extract<DeadReason, 'peer-closed' | 'socket-error' | 'protocol-error'>;

/** `host:port` (`[v6]:port`) or the unix path, for messages. */
export function describePlainEndpoint(e: PlainEndpoint): string {
  if (e.path !== undefined) return e.path;
  const host = e.host ?? '127.0.0.1';
  return `${host.includes(':') ? `[${host}]` : host}:${String(e.port)}`;
}

/** Classifies a stream's end by its error's `code`: no error is a clean peer close. */
export function classifyStreamEnd(err: unknown): StreamEndReason {
  if (err === undefined || err === null) return 'peer-closed';
  const code = (err as { code?: unknown }).code;
  return code === 'WW_PROTOCOL_ERROR' || code === 'WW_FRAME_TOO_LARGE' ? 'protocol-error' : 'socket-error';
}

/**
 * The output error for a connection that died with `context.reason`, from the event that
 * killed it: a stream's end carries the stream's error, a failed probe the silence it
 * measured and its cause, a step failure or a `KILL` its typed error. A pure function of
 * its arguments (the model's final-state output and the fast path both call it).
 *
 * @example
 * deathError(context, { type: 'ww.stream.closed', reason: 'socket-error', error: resetError }, '127.0.0.1:7000');
 * // ConnectionClosedError: connection to 127.0.0.1:7000 failed: read ECONNRESET
 */
export function deathError(context: ConnectionContext, event: ConnectionEvent, where: string): WirewardenError | undefined {
  const reason = context.reason;
  if (reason === undefined || reason === 'closed') return undefined;
  if (event.type === 'ww.stream.closed') return streamEndError(reason, event.error, where);
  // Typed errors from the dial/handshake steps, or whatever KILL carried (maybe none).
  const carried = 'error' in event ? event.error : undefined;
  if (carried instanceof WirewardenError) return carried;
  if (event.type === 'KILL') return undefined;
  switch (reason) {
    case 'heartbeat-timeout': {
      const probes = 1 + context.suspectAttempt;
      const rtt = context.rttMs === undefined ? 'no RTT measured yet' : `last RTT ${context.rttMs.toFixed(2)} ms`;
      const silence = event.type === 'ww.probe.failed'
        ? ` silent for ${Math.round(event.silentMs)} ms (suspicion window ${event.windowMs} ms):` : '';
      const cause = event.type === 'ww.probe.failed' ? event.cause : undefined;
      return new RequestTimeoutError(
        `heartbeat: ${where}${silence} ${probes} probe${probes === 1 ? '' : 's'} got no reply; ${rtt}`,
        cause === undefined ? undefined : { cause },
      );
    }
    case 'dial-failed':
      return new DialFailedError(`dial ${where} failed`, { cause: carried });
    case 'handshake-failed':
      return new HandshakeFailedError(`handshake with ${where} failed`, { cause: carried });
    default:
      return undefined;
  }
}

/** A stream that ended: during the handshake, by a clean close, or with an error (see src/transport/types.ts). */
function streamEndError(reason: DeadReason, streamError: unknown, where: string): WirewardenError | undefined {
  switch (reason) {
    case 'handshake-failed':
      return new HandshakeFailedError(`${where} closed the connection during the handshake`, { cause: streamError });
    case 'peer-closed':
      return new ConnectionClosedError(`${where} closed the connection`);
    case 'protocol-error':
      return streamError instanceof WirewardenError ? streamError : new ProtocolError(`protocol error on ${where}`, { cause: streamError });
    case 'socket-error':
      return streamError instanceof WirewardenError ? streamError
        : new ConnectionClosedError(`connection to ${where} failed: ${streamError instanceof Error ? streamError.message : 'socket error'}`, { cause: streamError });
    default:
      return undefined;
  }
}
