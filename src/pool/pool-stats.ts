/**
 * Pool statistics in the shape of Go's `DBStats`: gauges (open, leased, idle, pending,
 * waiting) read from the core's live counts, and monotonic counters (waits, wait time,
 * timeouts, closes by reason) kept here. A per-endpoint breakdown is computed when
 * `stats()` is called, never on the lease path.
 *
 * Identities that always hold (the property test checks them):
 *   open = idle + leased + shared + (connections being validated or reset)
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
  | 'shutdown'
  /** Its endpoint left the set a discovery provider gave (docs/pool.md "Discovery"). */
  | 'removed'
  /** It answered as a demoted node does (a Redis `READONLY` reply): the pool asked discovery to re-resolve. */
  | 'stale';

export interface EndpointStats {
  open: number;
  leased: number;
  idle: number;
  /** Connections carrying shared dispatches (`pool.dispatch`). */
  shared: number;
  pending: number;
  /** Dispatches running on its connections. */
  inFlight: number;
  /** Peak-EWMA latency of its dispatches (ms, decayed to now); absent before the first. */
  latencyMs?: number;
  /** Failed dials and deaths of ready connections since the pool started. */
  failures: number;
  /** Its circuit breaker's state, when the pool has breakers (docs/pool.md "Circuit breaker"). */
  breaker?: 'closed' | 'open' | 'half-open';
  /** Its outlier-ejection state, when ejection is on (docs/pool.md "Outlier ejection"). */
  outlier?: 'healthy' | 'ejected' | 'probation';
}

export interface PoolStats {
  readonly max: number;
  readonly min: number;
  /** Ready connections: idle, leased, shared, or being validated or reset. */
  readonly open: number;
  readonly leased: number;
  readonly idle: number;
  /** Connections carrying shared dispatches (`pool.dispatch`); none is leased or idle meanwhile. */
  readonly shared: number;
  /** Dispatches running (on shared connections). */
  readonly inFlight: number;
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
  /** Acquires and dispatches failed at once with `WW_CIRCUIT_OPEN` (no endpoint could take them), since start. */
  readonly circuitOpen: number;
  /** Acquires and dispatches refused or dropped with `WW_POOL_OVERLOADED` (load shedding), since start. */
  readonly shed: number;
  readonly closed: Readonly<Record<ClosedReason, number>>;
  /** Shared dispatch (`pool.dispatch`, `command`, `request`): queue and counters. */
  readonly dispatch: Readonly<DispatchStats>;
  readonly endpoints: Readonly<Record<string, Readonly<EndpointStats>>>;
}

/** `stats().dispatch`: the dispatch queue, as `waiting`/`waitCount`/… are for acquires. */
export interface DispatchStats {
  /** Dispatches queued now (every shareable connection at its limit, the pool at max). */
  readonly waiting: number;
  /** Dispatches started, since start. */
  readonly dispatched: number;
  /** Dispatches that had to wait, since start. */
  readonly waitCount: number;
  /** Total time those waited, including the ones that timed out or aborted. */
  readonly waitDurationMs: number;
  /** Dispatches that failed with `WW_POOL_TIMEOUT` while queued. */
  readonly timeouts: number;
}

/** The wait counters of one queue (acquires, or dispatches). */
export interface WaitCounters {
  waitCount: number;
  waitDurationMs: number;
  timeouts: number;
}

/** The dispatch queue's counters. Plain fields: incremented on hot paths. */
export class DispatchCounters implements WaitCounters {
  waitCount = 0;
  waitDurationMs = 0;
  timeouts = 0;
  dispatched = 0;
}

/** The monotonic counters. Plain fields: incremented on hot paths. */
export class PoolCounters implements WaitCounters {
  readonly dispatch = new DispatchCounters();
  waitCount = 0;
  waitDurationMs = 0;
  timeouts = 0;
  acquired = 0;
  circuitOpen = 0;
  shed = 0;
  readonly closed: Record<ClosedReason, number> = {
    idle: 0,
    lifetime: 0,
    dead: 0,
    leaked: 0,
    'reset-failed': 0,
    validation: 0,
    destroyed: 0,
    shutdown: 0,
    removed: 0,
    stale: 0,
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
  readonly shared: number;
  readonly inFlight: number;
  /** Dispatches queued. */
  readonly dispatchWaiting: number;
}

export function snapshotStats(
  gauges: PoolGauges,
  counters: PoolCounters,
  endpoints: Record<string, EndpointStats>,
): PoolStats {
  const { dispatchWaiting, ...rest } = gauges;
  const d = counters.dispatch;
  return Object.freeze({
    ...rest,
    waitCount: counters.waitCount,
    waitDurationMs: counters.waitDurationMs,
    timeouts: counters.timeouts,
    acquired: counters.acquired,
    circuitOpen: counters.circuitOpen,
    shed: counters.shed,
    closed: Object.freeze({ ...counters.closed }),
    dispatch: Object.freeze({
      waiting: dispatchWaiting, dispatched: d.dispatched, waitCount: d.waitCount, waitDurationMs: d.waitDurationMs, timeouts: d.timeouts,
    }),
    endpoints: Object.freeze(endpoints),
  });
}

/**
 * The timeout message's state summary: `size 10, leased 10, idle 0, pending 0, waiting 5`;
 * a pool whose protocol can be shared adds `, shared 2, in flight 130, dispatches waiting 4`.
 */
export function describeGauges(g: PoolGauges, sharing = false): string {
  const base = `size ${g.open + g.pending}, leased ${g.leased}, idle ${g.idle}, pending ${g.pending}, waiting ${g.waiting}`;
  return sharing ? `${base}, shared ${g.shared}, in flight ${g.inFlight}, dispatches waiting ${g.dispatchWaiting}` : base;
}
