/**
 * Typed pool events, emitted on the core's `events$` only on state changes (never per
 * acquire or release). `rt.createPool` also routes them to the runtime's `events$` and
 * to `node:diagnostics_channel` as `{ type: 'pool', id, path, event }`. Events are plain data: endpoints are named by key, errors
 * are wirewarden errors or the source's, never a session or a secret.
 */
import type { ClosedReason } from './pool-stats.js';

interface Base {
  /** Scheduler time. */
  readonly at: number;
}

/** A slot's connection became ready (first time or after a replacement). */
export interface PoolConnectionReadyEvent extends Base {
  readonly type: 'connection-ready';
  readonly id: string;
  readonly endpoint: string;
}

/** One dial of a pending slot failed; the source retries it with backoff. */
export interface PoolDialFailedEvent extends Base {
  readonly type: 'dial-failed';
  readonly id: string;
  readonly endpoint: string;
  readonly attempt: number;
  readonly error: unknown;
}

/**
 * A pending slot moved to another endpoint after a failed dial (failover, or cycling
 * while every endpoint fails); its next attempt dials `to`.
 */
export interface PoolFailoverEvent extends Base {
  readonly type: 'failover';
  readonly id: string;
  readonly from: string;
  readonly to: string;
}

/** A connection left the pool or was replaced; `reason` as in `stats().closed`. */
export interface PoolConnectionClosedEvent extends Base {
  readonly type: 'connection-closed';
  readonly id: string;
  readonly endpoint: string;
  readonly reason: ClosedReason;
  readonly error?: unknown;
}

/** A lease ended because its connection died, was reclaimed, or the pool closed. */
export interface PoolLeaseLostEvent extends Base {
  readonly type: 'lease-lost';
  readonly id: string;
  readonly endpoint: string;
  readonly reason: ClosedReason;
}

/** A lease was held longer than `leakDetectionMs`; `stack` is where it was acquired. */
export interface PoolLeakEvent extends Base {
  readonly type: 'leak';
  readonly id: string;
  readonly endpoint: string;
  readonly leasedForMs: number;
  readonly stack: string | undefined;
}

/** A leased-too-long connection came back after its leak warning (HikariCP's "unleaked"). */
export interface PoolLeakReturnedEvent extends Base {
  readonly type: 'leak-returned';
  readonly id: string;
  readonly endpoint: string;
  readonly leasedForMs: number;
}

/**
 * An endpoint refused the handshake for a reason retrying cannot fix (bad credentials,
 * unsupported version: `WW_HANDSHAKE_REFUSED`). Emitted once per refusal episode; while
 * every endpoint refuses, acquires fail at once with `WW_ENDPOINT_REFUSED`. The pool keeps
 * retrying at the backoff's slowest pace and emits `endpoint-recovered` when it accepts.
 */
export interface PoolEndpointRefusedEvent extends Base {
  readonly type: 'endpoint-refused';
  readonly endpoint: string;
  readonly error: unknown;
}

/** A refused endpoint accepted a handshake again. */
export interface PoolEndpointRecoveredEvent extends Base {
  readonly type: 'endpoint-recovered';
  readonly endpoint: string;
}

/**
 * A discovery provider (`endpoints: redisSentinel(…)`, an Observable, a function) gave a new
 * endpoint set and the pool took it: connections to `added` open as the pool needs them;
 * those of `removed` drain — `closed` of them (idle, dialing, being checked) closed at once,
 * `draining` (leased, shared) close when released or when their dispatches settle.
 */
export interface PoolEndpointsChangedEvent extends Base {
  readonly type: 'endpoints-changed';
  /** The provider's `kind` (`redis-sentinel`, `observable`, `function`). */
  readonly source: string;
  /** The whole new set, by key (`host:port` or path). */
  readonly endpoints: readonly string[];
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly closed: number;
  readonly draining: number;
}

/**
 * Discovery failed: the provider reported a failed round (`WW_DISCOVERY_FAILED`: no
 * sentinel reachable…) or gave a set the pool refused (`WW_DISCOVERY_FAILED` whose `cause`
 * is the `WW_INVALID_OPTION` naming the bad field). The last good set stays in use.
 */
export interface PoolDiscoveryErrorEvent extends Base {
  readonly type: 'discovery-error';
  readonly source: string;
  readonly error: unknown;
}

/**
 * An endpoint's circuit breaker changed state (docs/pool.md "Circuit breaker"). To `open`:
 * why (`failure-rate`, `slow-call-rate`, `trials-failed`, `half-open-timeout`), the counts
 * behind it, the last failure's code and how long until trial calls. To `half-open`: trial
 * calls are admitted. To `closed`: the trials were healthy.
 */
export interface PoolBreakerEvent extends Base {
  readonly type: 'breaker';
  readonly endpoint: string;
  readonly from: 'closed' | 'open' | 'half-open';
  readonly to: 'closed' | 'open' | 'half-open';
  /** Opens since the breaker last closed (0 once closed). */
  readonly consecutiveOpens: number;
  readonly reason?: 'failure-rate' | 'slow-call-rate' | 'trials-failed' | 'half-open-timeout';
  readonly calls?: number;
  readonly failures?: number;
  readonly slowCalls?: number;
  readonly errorCode?: string;
  readonly openForMs?: number;
}

/** Outlier ejection took an endpoint out of rotation (docs/pool.md "Outlier ejection"). */
export interface PoolEndpointEjectedEvent extends Base {
  readonly type: 'endpoint-ejected';
  readonly endpoint: string;
  readonly reason: 'consecutive-failures' | 'consecutive-gateway-failure' | 'success-rate';
  /** Its ejections so far (the time multiplier). */
  readonly ejections: number;
  readonly ejectedForMs: number;
  /** Success-rate ejections: its rate and the threshold it fell below, in percent. */
  readonly successRate?: number;
  readonly threshold?: number;
}

/** An ejected endpoint serves again, on probation (`time-served`, or `cap-shrunk` when the set shrank). */
export interface PoolEndpointReadmittedEvent extends Base {
  readonly type: 'endpoint-readmitted';
  readonly endpoint: string;
  readonly reason: 'time-served' | 'cap-shrunk';
}

/** An endpoint on probation had its healthy streak. */
export interface PoolEndpointHealthyEvent extends Base {
  readonly type: 'endpoint-healthy';
  readonly endpoint: string;
}

/** Traffic moved to priority group `to`: `from` could not serve (every endpoint open, ejected, refused or down). */
export interface PoolPriorityFailoverEvent extends Base {
  readonly type: 'priority-failover';
  readonly from: number;
  readonly to: number;
  readonly reason: 'unavailable';
}

/** Traffic returned to the preferred group `to` after it could serve for `requiredStableMs` without a break. */
export interface PoolPriorityFailbackEvent extends Base {
  readonly type: 'priority-failback';
  readonly from: number;
  readonly to: number;
  readonly reason: 'stable';
  readonly stableForMs: number;
  readonly requiredStableMs: number;
}

/** Load shedding started (`active`: new waiters are refused with `WW_POOL_OVERLOADED`) or ended. */
export interface PoolSheddingEvent extends Base {
  readonly type: 'shedding';
  readonly active: boolean;
}

/** An acquire failed with `WW_POOL_TIMEOUT`. */
export interface PoolAcquireTimeoutEvent extends Base {
  readonly type: 'acquire-timeout';
  readonly waitedMs: number;
  readonly message: string;
}

/** A queued dispatch failed with `WW_POOL_TIMEOUT`. */
export interface PoolDispatchTimeoutEvent extends Base {
  readonly type: 'dispatch-timeout';
  readonly waitedMs: number;
  readonly message: string;
}

export type PoolEvent =
  | PoolConnectionReadyEvent
  | PoolDialFailedEvent
  | PoolFailoverEvent
  | PoolConnectionClosedEvent
  | PoolLeaseLostEvent
  | PoolLeakEvent
  | PoolLeakReturnedEvent
  | PoolEndpointRefusedEvent
  | PoolEndpointRecoveredEvent
  | PoolAcquireTimeoutEvent
  | PoolDispatchTimeoutEvent
  | PoolBreakerEvent
  | PoolEndpointEjectedEvent
  | PoolEndpointReadmittedEvent
  | PoolEndpointHealthyEvent
  | PoolPriorityFailoverEvent
  | PoolPriorityFailbackEvent
  | PoolSheddingEvent
  | PoolEndpointsChangedEvent
  | PoolDiscoveryErrorEvent;

/** Where the leak warning goes besides `events$`; default `process.emitWarning`. */
export interface PoolLogger {
  warn(message: string): void;
}

export const defaultPoolLogger: PoolLogger = {
  warn(message) {
    process.emitWarning(message, 'WirewardenPoolWarning');
  },
};
