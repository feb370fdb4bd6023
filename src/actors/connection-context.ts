/**
 * Copying a connection's context on a state change, field by field.
 *
 * Why not `{ ...context, since }`: an object spread of this 17-field record allocated
 * ~730 B here (V8's generic clone path), an object literal naming every field ~270 B, and
 * every idle connection makes two copies per heartbeat — at 10k connections the spread
 * alone was ~15 MB/s of garbage, and the `ready` context lives for a whole interval, long
 * enough to be promoted by the scavenger. The copy is a plain object (the snapshot test
 * checks it), so `JSON.stringify`, the inspector and `toEqual` see plain data.
 */
import type { ConnectionContext } from './connection-types.js';

/** A context being built: mutable until it goes into a snapshot. */
export type ContextDraft = { -readonly [K in keyof ConnectionContext]: ConnectionContext[K] };

/** A fresh copy of `c` with `since` set, to change before it goes into a snapshot. */
export function copyContext(c: ConnectionContext, since: number): ContextDraft {
  // Every field named, in the order `initialContext` creates them (one hidden class).
  return {
    endpoint: c.endpoint,
    protocol: c.protocol,
    heartbeat: c.heartbeat,
    startedAt: c.startedAt,
    readyAt: c.readyAt,
    since,
    rttMs: c.rttMs,
    srttMs: c.srttMs,
    rttvarMs: c.rttvarMs,
    probeTimeoutMs: c.probeTimeoutMs,
    intervalMs: c.intervalMs,
    probesSent: c.probesSent,
    probesFailed: c.probesFailed,
    falseSuspicions: c.falseSuspicions,
    suspectAttempt: c.suspectAttempt,
    silentSince: c.silentSince,
    attemptTimeoutMs: c.attemptTimeoutMs,
    reason: c.reason,
  };
}
