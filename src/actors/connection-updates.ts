/**
 * What each transition of the connection does to its context, and what a final state
 * outputs: pure functions of (context, event, now), shared by the XState model's named
 * actions (connection-model.ts) and the fast path (connection-transition.ts), so the two
 * can differ only in which state they pick and which effects they ask for — which is what
 * the tests compare cell by cell.
 *
 * Every update copies the context (copyContext: ~270 B, the one allocation a heartbeat
 * transition needs) and stamps `since`, the time of the state change.
 */
import { lengthenIntervalMs, shortenIntervalMs } from './adaptive-interval.js';
import { copyContext } from './connection-context.js';
import type { ConnectionEvent } from './connection-events.js';
import type { ResolvedConnectionInput } from './connection-input.js';
import type { ConnectionContext, ConnectionOutput, DeadReason, PlainEndpoint } from './connection-types.js';
import { deathError, describePlainEndpoint } from './death-error.js';
import { retransmitTimeoutMs, suspectTimeoutMs, updateRttEstimate } from './rtt-estimator.js';

function plainEndpoint(e: { host?: string; port?: number; path?: string }): PlainEndpoint {
  return e.path !== undefined ? { path: e.path } : { host: e.host ?? '127.0.0.1', port: e.port };
}

/** The context a connection starts with (`dialing.connecting`). */
export function initialContext(input: ResolvedConnectionInput, now: number): ConnectionContext {
  const hb = input.heartbeat;
  return {
    endpoint: plainEndpoint(input.endpoint),
    protocol: typeof input.protocol.name === 'string' ? input.protocol.name : 'custom',
    heartbeat: hb,
    startedAt: now,
    readyAt: undefined,
    since: now,
    rttMs: undefined,
    srttMs: undefined,
    rttvarMs: undefined,
    probeTimeoutMs: hb.maxTimeoutMs,
    intervalMs: hb.intervalMs,
    probesSent: 0,
    probesFailed: 0,
    falseSuspicions: 0,
    suspectAttempt: 0,
    silentSince: undefined,
    attemptTimeoutMs: hb.maxTimeoutMs,
    reason: undefined,
  };
}

/** A state change with nothing else to record (`handshaking`, `closing`). */
export function stamped(c: ConnectionContext, now: number): ConnectionContext {
  return copyContext(c, now);
}

/** `ready` after the handshake (or a connect protocol's connect): the first time is `readyAt`. */
export function readied(c: ConnectionContext, now: number): ConnectionContext {
  const next = copyContext(c, now);
  next.readyAt ??= now;
  return next;
}

/** `probing`: a tick without traffic sent a probe, which starts an episode of the suspicion window. */
export function probeSent(c: ConnectionContext, now: number): ConnectionContext {
  const next = copyContext(c, now);
  next.probesSent++;
  next.suspectAttempt = 0;
  next.attemptTimeoutMs = c.probeTimeoutMs;
  next.silentSince = now;
  return next;
}

/**
 * `suspect` straight from `ready`: a request of a held connection (never probed) went
 * unanswered within its own timeout. A new episode starts now; its first suspect probe
 * (or, while still held, a watch without a probe) waits one RTO.
 */
export function requestTimedOut(c: ConnectionContext, now: number): ConnectionContext {
  const next = copyContext(c, now);
  next.probesSent++;
  next.suspectAttempt = 1;
  next.attemptTimeoutMs = c.probeTimeoutMs;
  next.silentSince = now;
  return next;
}

/**
 * `suspect` (again) after an unanswered probe, counted here. The next probe waits longer
 * (× suspectBackoffMultiplier, at most maxTimeoutMs).
 */
export function probeFailed(c: ConnectionContext, now: number): ConnectionContext {
  const next = copyContext(c, now);
  next.probesFailed++;
  next.probesSent++;
  next.suspectAttempt++;
  next.attemptTimeoutMs = suspectTimeoutMs(c.attemptTimeoutMs, c.heartbeat.suspectBackoffMultiplier, c.heartbeat.maxTimeoutMs);
  return next;
}

/**
 * Back to `ready` from a probe: answered (`ww.probe.ok`: an RTT sample for the estimator
 * and the timeout) or traffic meanwhile (`ww.probe.alive`). From `suspect` it was a false
 * suspicion, which is counted and (adaptive) shortens the interval; only a probe answered
 * in `probing` lengthens it.
 */
export function probeAnswered(c: ConnectionContext, event: ConnectionEvent, now: number, fromSuspect: boolean): ConnectionContext {
  const hb = c.heartbeat;
  const next = copyContext(c, now);
  if (fromSuspect) {
    next.falseSuspicions++;
    if (hb.adaptive) next.intervalMs = shortenIntervalMs(c.intervalMs, hb.minIntervalMs);
  }
  next.suspectAttempt = 0;
  next.silentSince = undefined;
  if (event.type === 'ww.probe.ok') {
    const prev = c.srttMs === undefined || c.rttvarMs === undefined ? undefined : { srttMs: c.srttMs, rttvarMs: c.rttvarMs };
    const est = updateRttEstimate(prev, event.rttMs);
    next.rttMs = event.rttMs;
    next.srttMs = est.srttMs;
    next.rttvarMs = est.rttvarMs;
    next.probeTimeoutMs = retransmitTimeoutMs(est, hb);
    if (!fromSuspect && hb.adaptive) next.intervalMs = lengthenIntervalMs(c.intervalMs, est, hb.maxIntervalMs);
  }
  return next;
}

/** `dead` for `reason`; a heartbeat death counts its last, failed probe. */
export function died(c: ConnectionContext, reason: DeadReason, now: number): ConnectionContext {
  const next = copyContext(c, now);
  next.reason = reason;
  if (reason === 'heartbeat-timeout') next.probesFailed++;
  return next;
}

/** `closed`. */
export function closed(c: ConnectionContext, now: number): ConnectionContext {
  const next = copyContext(c, now);
  next.reason = 'closed';
  return next;
}

function uptimeMs(c: ConnectionContext): number {
  return c.readyAt === undefined ? 0 : c.since - c.readyAt;
}

/**
 * The output of `dead`, from its context and the event that killed it. `restartPace` is
 * `immediate` after a `KILL { retire: true }` (a retirement, not a failure) and `slowest`
 * after a handshake refused for good (retrying soon cannot help).
 */
export function deadOutput(c: ConnectionContext, event: ConnectionEvent): ConnectionOutput {
  const reason = c.reason as DeadReason;
  const error = deathError(c, event, describePlainEndpoint(c.endpoint));
  const restartPace = event.type === 'KILL' && event.retire === true ? 'immediate'
    : error?.code === 'WW_HANDSHAKE_REFUSED' ? 'slowest' : undefined;
  const output: ConnectionOutput = error === undefined ? { reason, uptimeMs: uptimeMs(c) } : { reason, error, uptimeMs: uptimeMs(c) };
  return restartPace === undefined ? output : { ...output, restartPace };
}

/** The output of `closed` (a normal exit). */
export function closedOutput(c: ConnectionContext): ConnectionOutput {
  return { reason: 'closed', uptimeMs: uptimeMs(c) };
}
