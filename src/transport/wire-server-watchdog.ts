/**
 * The rules the wire server's watchdog applies to each client at every sweep. One timer
 * per server sweeps every `sweepIntervalMs(limits)`; each rule compares bookkeeping the
 * data path keeps without reading a clock (a chunk counter, the decoder's partial frame).
 *
 *   no HELLO ≥ handshakeTimeoutMs after connect   ──▶ drop 'handshake-timeout' (bytes do not extend it)
 *   one frame too slow (see Slow frames below)     ──▶ drop 'frame-timeout'
 *   silent ≥ clientIdleTimeoutMs                   ──▶ send PING
 *   PING unanswered ≥ clientProbeTimeoutMs         ──▶ drop 'heartbeat-timeout'
 *   (while the server itself holds reading, neither heartbeat rule runs: a PONG could not be read)
 *
 * Slow frames. Any inbound byte proves the peer alive, so the heartbeat alone lets a
 * client that trickles a frame (1 byte per 100 ms, slowloris) hold its connection and the
 * frame's buffer forever. A fixed bound on a frame would cut big frames on slow links
 * instead, so the rule is close to Apache mod_reqtimeout's `body=10-300,MinRate=1024`
 * (which credits every byte, though; see below):
 *
 *   each window of frameTimeoutMs brings < frameMinBytesPerSecond × window ──▶ drop 'frame-timeout'
 *   the frame still incomplete frameMaxTimeoutMs after it was first seen     ──▶ drop 'frame-timeout'
 *
 * The rate is measured per window, from the first sweep that saw the frame: bytes that
 * came before (a burst of almost the whole frame) and bytes beyond a window's due do not
 * buy time later. Crediting every byte received, as a single allowance of
 * `frameTimeoutMs + received / rate` did, let a peer send 16 MiB at once, then one byte
 * every 10 s, and hold the 16 MiB for ~4.5 h. A peer sending at least the rate is cut only
 * by the ceiling, which bounds what any one frame can hold to `maxFrameBytes` for
 * `frameMaxTimeoutMs`; a trickle is cut after about `frameTimeoutMs`. Before HELLO the
 * handshake bound also holds from connect, trickle or not.
 *
 * Precision: a frame is timed from the first sweep that saw it, and a window closes at the
 * first sweep past its end, so a drop comes up to two sweeps after its bound, like the
 * heartbeat's. While the server itself holds reading (frozen, handlers saturated, workers
 * behind) the peer cannot progress, so the clocks restart when reading does.
 */
import type { WireServerConnection } from './wire-server-connection.js';

/** The durations and rates the watchdog enforces (validated server options). */
export interface WatchdogLimits {
  readonly clientIdleTimeoutMs: number;
  readonly clientProbeTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly frameTimeoutMs: number;
  readonly frameMinBytesPerSecond: number;
  readonly frameMaxTimeoutMs: number;
}

/** A quarter of the shortest bound: every rule fires within two sweeps of its deadline. */
export function sweepIntervalMs(limits: Omit<WatchdogLimits, 'frameMinBytesPerSecond' | 'frameMaxTimeoutMs'>): number {
  const shortest = Math.min(limits.clientIdleTimeoutMs, limits.clientProbeTimeoutMs, limits.handshakeTimeoutMs, limits.frameTimeoutMs);
  return Math.max(1, Math.floor(shortest / 4));
}

/**
 * Watchdog bookkeeping of the inbound frame in progress, one per connection, changed only
 * at sweeps (the data path keeps no clock).
 */
export class FrameWatch {
  /** When a sweep first saw the frame; -1: none seen (or the clock restarted). */
  seenAt = -1;
  /** The decoder's `framesDecoded` then: a change means another frame is in progress. */
  seenSeq = 0;
  /** The current window: when it began, and the frame's received bytes then. */
  windowAt = 0;
  windowBytes = 0;

  /** Forgets the frame: the next sweep that sees one starts its clocks afresh. */
  restart(): void {
    this.seenAt = -1;
  }
}

/** What `frameTooSlow` reads of a connection. */
export interface FrameProgress {
  /** Bytes received so far of an inbound frame not yet complete (0 between frames). */
  readonly partialFrameBytes: number;
  readonly framesDecoded: number;
  /** The server is not reading this peer: it cannot progress. */
  readonly readingHeld: boolean;
  readonly frameWatch: FrameWatch;
}

/**
 * Whether the frame `conn` is receiving breaks the slow-frame rule at sweep time `now`
 * (see the module comment); advances its window when it does not.
 *
 * @example
 * if (frameTooSlow(conn, scheduler.now(), limits)) conn.drop('frame-timeout');
 */
export function frameTooSlow(conn: FrameProgress, now: number, limits: Pick<WatchdogLimits, 'frameTimeoutMs' | 'frameMinBytesPerSecond' | 'frameMaxTimeoutMs'>): boolean {
  const watch = conn.frameWatch;
  const received = conn.partialFrameBytes;
  if (received === 0 || conn.readingHeld) {
    watch.seenAt = -1;
    return false;
  }
  if (watch.seenAt < 0 || watch.seenSeq !== conn.framesDecoded) {
    watch.seenAt = watch.windowAt = now;
    watch.seenSeq = conn.framesDecoded;
    watch.windowBytes = received;
    return false;
  }
  if (now - watch.seenAt >= limits.frameMaxTimeoutMs) return true;
  const windowMs = now - watch.windowAt;
  if (windowMs < limits.frameTimeoutMs) return false;
  if ((received - watch.windowBytes) * 1000 < limits.frameMinBytesPerSecond * windowMs) return true;
  watch.windowAt = now;
  watch.windowBytes = received;
  return false;
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
  if (frameTooSlow(conn, now, limits)) {
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
