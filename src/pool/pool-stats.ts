/**
 * Pool statistics in the shape of Go's `DBStats`: gauges (open, leased, idle, pending,
 * waiting) read from the core's live counts, and monotonic counters (waits, wait time,
 * timeouts, closes by reason) kept here. A per-endpoint breakdown is computed when
 * `stats()` is called, never on the lease path.
 *
 * Identities that always hold (the property test checks them):
 *   open = idle + leased + (connections being validated or reset)
 *   open + pending <= max
 *   sum over endpoints of open / leased / idle / pending = the pool's
 */

/** Why a connection left the pool (or was replaced). Keys of `stats().closed`. */
export type ClosedReason =
  | 'idle'
  | 'lifetime'
  | 'dead'
  | 'leaked'
  | 'reset-failed'
  | 'validation'
  | 'destroyed'
  | 'shutdown';

export interface EndpointStats {
  open: number;
  leased: number;
  idle: number;
  pending: number;
  /** Failed dials and deaths of ready connections since the pool started. */
  failures: number;
}

export interface PoolStats {
  readonly max: number;
  readonly min: number;
  /** Ready connections: idle, leased, or being validated or reset. */
  readonly open: number;
  readonly leased: number;
  readonly idle: number;
  /** Slots whose connection is dialing (new, or being replaced after a death). */
  readonly pending: number;
  /** Acquires queued now. */
  readonly waiting: number;
  /** Acquires that had to wait, since start (Go's `WaitCount`). */
  readonly waitCount: number;
  /** Total time those acquires waited, including the ones that timed out or aborted. */
  readonly waitDurationMs: number;
  /** Acquires that failed with `WW_POOL_TIMEOUT`. */
  readonly timeouts: number;
  /** Acquires granted, since start. */
  readonly acquired: number;
  readonly closed: Readonly<Record<ClosedReason, number>>;
  readonly endpoints: Readonly<Record<string, Readonly<EndpointStats>>>;
}

/** The monotonic counters. Plain fields: incremented on hot paths. */
export class PoolCounters {
  waitCount = 0;
  waitDurationMs = 0;
  timeouts = 0;
  acquired = 0;
  readonly closed: Record<ClosedReason, number> = {
    idle: 0,
    lifetime: 0,
    dead: 0,
    leaked: 0,
    'reset-failed': 0,
    validation: 0,
    destroyed: 0,
    shutdown: 0,
  };
}

/** Gauges the core passes in; the core keeps them as counters, so this is O(1). */
export interface PoolGauges {
  readonly max: number;
  readonly min: number;
  readonly open: number;
  readonly leased: number;
  readonly idle: number;
  readonly pending: number;
  readonly waiting: number;
}

export function snapshotStats(
  gauges: PoolGauges,
  counters: PoolCounters,
  endpoints: Record<string, EndpointStats>,
): PoolStats {
  return Object.freeze({
    ...gauges,
    waitCount: counters.waitCount,
    waitDurationMs: counters.waitDurationMs,
    timeouts: counters.timeouts,
    acquired: counters.acquired,
    closed: Object.freeze({ ...counters.closed }),
    endpoints: Object.freeze(endpoints),
  });
}

/** The timeout message's state summary: `size 10, leased 10, idle 0, pending 0, waiting 5`. */
export function describeGauges(g: PoolGauges): string {
  return `size ${g.open + g.pending}, leased ${g.leased}, idle ${g.idle}, pending ${g.pending}, waiting ${g.waiting}`;
}
