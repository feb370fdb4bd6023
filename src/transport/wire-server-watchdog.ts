/**
 * The rules the wire server's watchdog applies to each client at every sweep. One timer
 * per server sweeps every `sweepIntervalMs(limits)`; each rule compares bookkeeping the
 * data path keeps without reading a clock (a chunk counter, the decoder's partial frame).
 *
 *   no HELLO ≥ handshakeTimeoutMs after connect   ──▶ drop 'handshake-timeout' (bytes do not extend it)
 *   one frame incomplete past its allowance        ──▶ drop 'frame-timeout'
 *   silent ≥ clientIdleTimeoutMs                   ──▶ send PING
 *   PING unanswered ≥ clientProbeTimeoutMs         ──▶ drop 'heartbeat-timeout'
 *   (while the server itself holds reading, neither heartbeat rule runs: a PONG could not be read)
 *
 * Slow frames. Any inbound byte proves the peer alive, so the heartbeat alone lets a
 * client that trickles a frame (1 byte per 100 ms, slowloris) hold its connection and the
 * frame's buffer forever. A fixed bound on a frame would cut big frames on slow links
 * instead, so the rule is Apache mod_reqtimeout's (`body=20,MinRate=500`): a frame that
 * has begun arriving must complete within `frameTimeoutMs`, extended by one second for
 * every `frameMinBytesPerSecond` bytes of it received so far. A peer sending at least that
 * rate is never cut, whatever the frame's size (its cost is then bounded by
 * `maxFrameBytes`); a trickle is dropped after about `frameTimeoutMs`. Before HELLO the
 * handshake bound also holds from connect, trickle or not.
 *
 * Precision: a stalled frame is timed from the first sweep that saw it, so a drop comes
 * between the allowance and the allowance plus two sweeps, like the heartbeat's.
 */
import type { WireServerConnection } from './wire-server-connection.js';

/** The durations and rates the watchdog enforces (validated server options). */
export interface WatchdogLimits {
  readonly clientIdleTimeoutMs: number;
  readonly clientProbeTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly frameTimeoutMs: number;
  readonly frameMinBytesPerSecond: number;
}

/** A quarter of the shortest bound: every rule fires within two sweeps of its deadline. */
export function sweepIntervalMs(limits: WatchdogLimits): number {
  const shortest = Math.min(limits.clientIdleTimeoutMs, limits.clientProbeTimeoutMs, limits.handshakeTimeoutMs, limits.frameTimeoutMs);
  return Math.max(1, Math.floor(shortest / 4));
}

/**
 * How long a frame of which `receivedBytes` arrived may stay incomplete:
 * `frameTimeoutMs + receivedBytes / frameMinBytesPerSecond` seconds.
 *
 * @example
 * frameAllowanceMs(5, { frameTimeoutMs: 10_000, frameMinBytesPerSecond: 1024 }); // ≈ 10 005 (a trickle)
 * frameAllowanceMs(1 << 20, { frameTimeoutMs: 10_000, frameMinBytesPerSecond: 1024 }); // 1 034 000 (1 MiB received)
 */
export function frameAllowanceMs(receivedBytes: number, limits: Pick<WatchdogLimits, 'frameTimeoutMs' | 'frameMinBytesPerSecond'>): number {
  return limits.frameTimeoutMs + (receivedBytes * 1000) / limits.frameMinBytesPerSecond;
}

/** Applies the rules to one client at sweep time `now`: drops it, probes it, or leaves it. */
export function watchClient(conn: WireServerConnection, now: number, limits: WatchdogLimits): void {
  if (conn.chunks !== conn.seenChunks) {
    conn.seenChunks = conn.chunks;
    conn.lastActiveAt = now;
    conn.probe = undefined; // any inbound traffic proves liveness
  }
  if (conn.state === 'hello' && now - conn.connectedAt >= limits.handshakeTimeoutMs) {
    conn.drop('handshake-timeout');
    return;
  }
  const stalledMs = conn.stalledFrameMs(now);
  if (stalledMs > 0 && stalledMs >= frameAllowanceMs(conn.partialFrameBytes, limits)) {
    conn.drop('frame-timeout');
    return;
  }
  if (conn.state === 'hello') return;
  if (conn.readingHeld) {
    // The server stopped reading, not the client: a PING's PONG would sit unread, so the
    // heartbeat restarts once reading resumes.
    conn.probe = undefined;
    conn.lastActiveAt = now;
    return;
  }
  if (conn.probe) {
    if (now - conn.probe.sentAt >= limits.clientProbeTimeoutMs) conn.drop('heartbeat-timeout');
  } else if (now - conn.lastActiveAt >= limits.clientIdleTimeoutMs) {
    conn.sendProbe(now);
  }
}
