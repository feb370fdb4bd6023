/**
 * What a dead connection reports: its reason comes from the machine, its error from here.
 *
 * Every final output of `dead` carries a typed `WirewardenError` when there is one to
 * give: typed errors from the dial and handshake actors and from the stream (a protocol
 * that destroys its stream with `ProtocolError`) are passed through unchanged; raw socket
 * errors are wrapped with the original as `cause`; a heartbeat timeout, a peer close or a
 * stream lost during the handshake get an error that names the endpoint. A `KILL` carries
 * its own error, or none. Messages name the endpoint, never a credential.
 */
import {
  ConnectionClosedError, DialFailedError, HandshakeFailedError, ProtocolError, RequestTimeoutError, WirewardenError,
} from '../errors.js';
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

/** What a heartbeat death reports: how long the peer was silent, against which window, and why the last probe failed. */
export interface SilenceReport {
  readonly silentMs: number;
  /** The suspicion window after load scaling. */
  readonly windowMs: number;
  readonly cause: unknown;
}

/**
 * The output error for a connection that died with `context.reason`, given the event
 * that killed it and the stream's recorded error.
 *
 * @example
 * deathError(context, { type: 'ww.stream.closed' }, resetError, '127.0.0.1:7000');
 * // ConnectionClosedError: connection to 127.0.0.1:7000 failed: read ECONNRESET
 */
export function deathError(
  context: ConnectionContext, event: { type: string; error?: unknown }, streamError: unknown, where: string,
  silence?: SilenceReport,
): WirewardenError | undefined {
  const reason = context.reason;
  if (reason === undefined || reason === 'closed') return undefined;
  // Typed errors from the dial/handshake actors, or whatever KILL carried (maybe none).
  if (event.error instanceof WirewardenError) return event.error;
  if (event.type === 'KILL') return undefined;
  switch (reason) {
    case 'heartbeat-timeout': {
      const probes = 1 + context.suspectAttempt;
      const rtt = context.rttMs === undefined ? 'no RTT measured yet' : `last RTT ${context.rttMs.toFixed(2)} ms`;
      const silent = silence === undefined ? '' : ` silent for ${silence.silentMs} ms (suspicion window ${silence.windowMs} ms):`;
      return new RequestTimeoutError(
        `heartbeat: ${where}${silent} ${probes} probe${probes === 1 ? '' : 's'} got no reply; ${rtt}`,
        silence?.cause === undefined ? undefined : { cause: silence.cause },
      );
    }
    case 'peer-closed':
      return new ConnectionClosedError(`${where} closed the connection`);
    case 'protocol-error':
      return streamError instanceof WirewardenError ? streamError : new ProtocolError(`protocol error on ${where}`, { cause: streamError });
    case 'socket-error':
      return streamError instanceof WirewardenError ? streamError
        : new ConnectionClosedError(`connection to ${where} failed: ${streamError instanceof Error ? streamError.message : 'socket error'}`, { cause: streamError });
    case 'dial-failed':
      return new DialFailedError(`dial ${where} failed`, { cause: event.error });
    case 'handshake-failed':
      return new HandshakeFailedError(
        event.error === undefined ? `${where} closed the connection during the handshake` : `handshake with ${where} failed`,
        { cause: event.error ?? streamError },
      );
    default:
      return undefined;
  }
}
