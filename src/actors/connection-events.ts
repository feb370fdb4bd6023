/**
 * Every event a connection actor handles: the two commands users send (`CLOSE`, `KILL`)
 * and the internal ones its live half sends on a state change (never one per frame).
 *
 * Events carry everything the transition needs, as values: a stream's end carries its
 * error, a failed probe how long the peer has been silent against which window and why the
 * probe failed. So the transition (connection-transition.ts, and XState's interpretation
 * of connection-model.ts) is a pure function of (state, context, event, now) and never
 * reads a socket, a timer or a counter — which is what lets `getNextSnapshot`,
 * `transition()` and the graph utilities run it.
 *
 * Events without data are frozen singletons: the heartbeat path sends two per interval
 * and allocates none for them.
 */
import type { WirewardenError } from '../errors.js';
import type { ConnectionCommand } from './connection-types.js';
import type { StreamEndReason } from './death-error.js';

/** The dial (or a connect protocol's one connect step), the handshake and the graceful close reported. */
export type StepEvent =
  | { readonly type: 'ww.dial.done' }
  | { readonly type: 'ww.connect.done' }
  | { readonly type: 'ww.dial.failed'; readonly error: WirewardenError }
  | { readonly type: 'ww.handshake.done' }
  | { readonly type: 'ww.handshake.failed'; readonly error: WirewardenError }
  | { readonly type: 'ww.close.done' };

/**
 * A probe that went unanswered for its timeout (or was rejected, reported at its
 * deadline). `silentMs` is how long the peer has been silent since the episode's first
 * unanswered probe, `windowMs` the suspicion window after load scaling: the connection is
 * dead once `silentMs >= windowMs` (guard `suspicionWindowEnded`), else suspect again,
 * and its next probe ends with the window. `cause` is why this probe failed.
 */
export interface ProbeFailedEvent {
  readonly type: 'ww.probe.failed';
  readonly silentMs: number;
  readonly windowMs: number;
  readonly cause?: unknown;
}

/**
 * A probe's outcome: answered (with its RTT); not answered but inbound traffic arrived
 * meanwhile (alive all the same); or failed.
 */
export type ProbeEvent =
  | { readonly type: 'ww.probe.ok'; readonly rttMs: number }
  | { readonly type: 'ww.probe.alive' }
  | ProbeFailedEvent;

/** The stream ended (a connect-mode client called `lost()`); `error` is what it ended with, if anything. */
export interface StreamClosedEvent {
  readonly type: 'ww.stream.closed';
  readonly reason: StreamEndReason;
  readonly error?: unknown;
}

/** Internal events: sent by the live half and the steps, only on state changes. */
export type ConnectionInternalEvent =
  | { readonly type: 'ww.heartbeat.idle' }
  | { readonly type: 'ww.request.timedout' }
  | StreamClosedEvent
  | ProbeEvent
  | StepEvent;

export type ConnectionEvent = ConnectionCommand | ConnectionInternalEvent;

/** A heartbeat tick found no inbound traffic since the previous one, and the connection idle. */
export const HEARTBEAT_IDLE = Object.freeze({ type: 'ww.heartbeat.idle' as const });
/** A request of the session got no reply within its timeout (ProtocolContext.requestTimedOut). */
export const REQUEST_TIMED_OUT = Object.freeze({ type: 'ww.request.timedout' as const });
export const PROBE_ALIVE = Object.freeze({ type: 'ww.probe.alive' as const });
export const DIAL_DONE = Object.freeze({ type: 'ww.dial.done' as const });
export const CONNECT_DONE = Object.freeze({ type: 'ww.connect.done' as const });
export const HANDSHAKE_DONE = Object.freeze({ type: 'ww.handshake.done' as const });
export const CLOSE_DONE = Object.freeze({ type: 'ww.close.done' as const });

/** The guard of `ww.probe.failed`: the peer has been silent for the whole suspicion window. */
export function suspicionWindowEnded(event: ProbeFailedEvent): boolean {
  return event.silentMs >= event.windowMs;
}
