/**
 * Every metric wirewarden reports, once: its Prometheus name, its OpenTelemetry name and
 * unit, its help text, its labels and where its value comes from. prometheus.ts and
 * opentelemetry.ts both read this list, so the two exporters report the same instruments
 * (an OTel name converted by the OTel→Prometheus rules gives the Prometheus name here), and
 * docs/observability.md is checked against it.
 *
 * Labels are bounded and never carry a secret: `pool` (the pool's id, or the supervisor's
 * for a connection outside a pool), `endpoint` (`host:port` or the socket path, as the pool
 * names it), `state`, `from`, `to`, `reason` (fixed vocabularies), `supervisor` (an id).
 */
import type { PoolStats } from '../pool/pool-stats.js';
import type { ObservedPool } from './observe-hub.js';
import type { HistogramCell } from './histogram.js';
import type { EndpointSeries } from './connection-watch.js';
import type { ObservationListener, PoolSeries, RuntimeObserver } from './runtime-observer.js';

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  readonly labels: Labels;
  readonly value: number;
}

export interface HistogramSample {
  readonly labels: Labels;
  readonly cell: HistogramCell;
}

interface Common {
  /** Prometheus name (`_total` on counters, base unit suffix). */
  readonly name: string;
  /** OpenTelemetry name (converts to `name` by the OTel→Prometheus rules). */
  readonly otelName: string;
  /** UCUM unit for OpenTelemetry (`s`, `{connection}`). */
  readonly unit: string;
  readonly help: string;
  readonly labels: readonly string[];
}

export interface ValueMetric extends Common {
  readonly kind: 'counter' | 'gauge';
  read(observer: RuntimeObserver): Sample[];
}

export interface HistogramMetric extends Common {
  readonly kind: 'histogram';
  read(observer: RuntimeObserver): HistogramSample[];
  /** Which listener call carries its samples (OpenTelemetry records them as they come). */
  readonly sample: keyof Pick<ObservationListener, 'rtt' | 'detection' | 'waited' | 'dispatchWaited'>;
}

export type CatalogMetric = ValueMetric | HistogramMetric;

const seriesLabels = (s: EndpointSeries): Labels => s.labels as unknown as Labels;

/** One sample per open pool; a pool for which `read` has no figure (an older pool core) reports none. */
function perPool(observer: RuntimeObserver, read: (pool: ObservedPool) => number | undefined): Sample[] {
  const out: Sample[] = [];
  for (const pool of observer.pools()) {
    const value = read(pool);
    if (value !== undefined) out.push({ labels: { pool: pool.id }, value });
  }
  return out;
}

/** A figure of `stats()` (once per pool per scrape); `circuitOpen` and `shed` exist only where the pool has endpoint health. */
function fromStats(read: (stats: PoolStats & { readonly circuitOpen?: number; readonly shed?: number }) => number | undefined) {
  return (o: RuntimeObserver): Sample[] => perPool(o, (pool) => read(o.statsOf(pool)));
}

/** Pool gauges read from `stats()` at scrape time: one `stats()` per pool per scrape, shared by the gauges. */
function statsGauge(name: string, otelName: string, help: string, field: 'open' | 'idle' | 'leased' | 'pending' | 'waiting' | 'max'): ValueMetric {
  return {
    kind: 'gauge', name, otelName, unit: field === 'waiting' ? '{request}' : '{connection}', help, labels: ['pool'],
    read: (o) => perPool(o, (pool) => o.statsOf(pool)[field]),
  };
}

function statsCounter(name: string, otelName: string, unit: string, help: string, field: 'acquired' | 'timeouts'): ValueMetric {
  return { kind: 'counter', name, otelName, unit, help, labels: ['pool'], read: (o) => perPool(o, (pool) => o.statsOf(pool)[field]) };
}

const BREAKER_STATES = ['closed', 'open', 'half-open'] as const;

/**
 * Breaker state per endpoint, where the pool has breakers: `stats().endpoints[e].breaker`
 * (`closed | open | half-open`; docs/pool.md "Circuit breaker"), from the scrape's one
 * `stats()` read. Endpoints without a breaker (the pool's `breaker: false`) report nothing.
 */
function breakerStates(o: RuntimeObserver): Sample[] {
  const out: Sample[] = [];
  for (const pool of o.pools()) {
    for (const [endpoint, e] of Object.entries(o.statsOf(pool).endpoints)) {
      const state = (e as { breaker?: unknown }).breaker;
      if (typeof state !== 'string') continue;
      for (const s of BREAKER_STATES) out.push({ labels: { pool: pool.id, endpoint, state: s }, value: s === state ? 1 : 0 });
    }
  }
  return out;
}

export const METRICS: readonly CatalogMetric[] = Object.freeze([
  {
    kind: 'gauge', name: 'wirewarden_connections', otelName: 'wirewarden.connections', unit: '{connection}',
    help: 'Live connection actors by state (dialing, ready, probing, suspect, closing).',
    labels: ['pool', 'endpoint', 'state'],
    read: (o) => {
      const out: Sample[] = [];
      for (const [series, byState] of o.connectionStates()) {
        for (const [state, value] of byState) out.push({ labels: { ...seriesLabels(series), state }, value });
      }
      return out;
    },
  },
  {
    kind: 'counter', name: 'wirewarden_connection_transitions_total', otelName: 'wirewarden.connection.transitions',
    unit: '{transition}', help: 'State changes of connection actors (from starting or restarting for a new incarnation).',
    labels: ['pool', 'endpoint', 'from', 'to'],
    read: (o) => {
      const out: Sample[] = [];
      for (const s of o.series()) {
        for (const [from, byTo] of s.transitions) {
          for (const [to, cell] of byTo) out.push({ labels: { ...seriesLabels(s), from, to }, value: cell.value });
        }
      }
      return out;
    },
  },
  {
    kind: 'histogram', name: 'wirewarden_connection_probe_rtt_seconds', otelName: 'wirewarden.connection.probe_rtt', unit: 's',
    help: 'Round trip of heartbeat probes that were answered.', labels: ['pool', 'endpoint'], sample: 'rtt',
    read: (o) => [...o.series()].map((s) => ({ labels: seriesLabels(s), cell: s.rtt })),
  },
  {
    kind: 'histogram', name: 'wirewarden_connection_detection_seconds', otelName: 'wirewarden.connection.detection', unit: 's',
    help: 'Time from the last inbound evidence of a silent peer (a probe reply, or the tick before the first unanswered probe) to its connection being declared dead.',
    labels: ['pool', 'endpoint'], sample: 'detection',
    read: (o) => [...o.series()].map((s) => ({ labels: seriesLabels(s), cell: s.detection })),
  },
  {
    kind: 'counter', name: 'wirewarden_restarts_total', otelName: 'wirewarden.restarts', unit: '{restart}',
    help: 'Restarts decided by supervisors, by the exit reason that caused them.', labels: ['supervisor', 'reason'],
    read: (o) => [...o.restarts()].map((c) => ({ labels: { supervisor: c.supervisor, reason: c.reason }, value: c.value })),
  },
  statsGauge('wirewarden_pool_open_connections', 'wirewarden.pool.open_connections', 'Ready connections: idle, leased, or being validated or reset.', 'open'),
  statsGauge('wirewarden_pool_idle_connections', 'wirewarden.pool.idle_connections', 'Connections idle in the pool.', 'idle'),
  statsGauge('wirewarden_pool_leased_connections', 'wirewarden.pool.leased_connections', 'Connections leased to callers.', 'leased'),
  statsGauge('wirewarden_pool_pending_connections', 'wirewarden.pool.pending_connections', 'Slots whose connection is dialing (new, or replacing one that died).', 'pending'),
  statsGauge('wirewarden_pool_max_connections', 'wirewarden.pool.max_connections', 'The pool\'s max option.', 'max'),
  statsGauge('wirewarden_pool_waiting_acquires', 'wirewarden.pool.waiting_acquires', 'Acquires queued for a connection now.', 'waiting'),
  {
    kind: 'histogram', name: 'wirewarden_pool_acquire_wait_seconds', otelName: 'wirewarden.pool.acquire.wait', unit: 's',
    help: 'Time an acquire that had to queue waited until it got a connection (acquires served at once are counted by wirewarden_pool_acquires_total only).',
    labels: ['pool'], sample: 'waited',
    read: (o) => [...o.poolSeries()].map((s: PoolSeries) => ({ labels: { pool: s.pool }, cell: s.wait })),
  },
  statsCounter('wirewarden_pool_acquires_total', 'wirewarden.pool.acquires', '{acquire}', 'Acquires granted (at once or after queueing).', 'acquired'),
  statsCounter('wirewarden_pool_acquire_timeouts_total', 'wirewarden.pool.acquire.timeouts', '{timeout}', 'Acquires that failed with WW_POOL_TIMEOUT.', 'timeouts'),
  {
    kind: 'gauge', name: 'wirewarden_pool_shared_connections', otelName: 'wirewarden.pool.shared_connections', unit: '{connection}',
    help: 'Connections carrying shared dispatches (dispatch, command, request); none is leased or idle meanwhile.', labels: ['pool'],
    read: fromStats((s) => s.shared),
  },
  {
    kind: 'gauge', name: 'wirewarden_pool_dispatches_in_flight', otelName: 'wirewarden.pool.dispatches_in_flight', unit: '{request}',
    help: 'Dispatches running on shared connections now.', labels: ['pool'], read: fromStats((s) => s.inFlight),
  },
  {
    kind: 'gauge', name: 'wirewarden_pool_waiting_dispatches', otelName: 'wirewarden.pool.waiting_dispatches', unit: '{request}',
    help: 'Dispatches queued for room on a connection now.', labels: ['pool'], read: fromStats((s) => s.dispatch.waiting),
  },
  {
    kind: 'histogram', name: 'wirewarden_pool_dispatch_wait_seconds', otelName: 'wirewarden.pool.dispatch.wait', unit: 's',
    help: 'Time a dispatch that had to queue waited until it got a place on a connection (dispatches started at once are counted by wirewarden_pool_dispatches_total only).',
    labels: ['pool'], sample: 'dispatchWaited',
    read: (o) => [...o.poolSeries()].map((s: PoolSeries) => ({ labels: { pool: s.pool }, cell: s.dispatchWait })),
  },
  {
    kind: 'counter', name: 'wirewarden_pool_dispatches_total', otelName: 'wirewarden.pool.dispatches', unit: '{dispatch}',
    help: 'Dispatches started on shared connections (at once or after queueing).', labels: ['pool'], read: fromStats((s) => s.dispatch.dispatched),
  },
  {
    kind: 'counter', name: 'wirewarden_pool_dispatch_timeouts_total', otelName: 'wirewarden.pool.dispatch.timeouts', unit: '{timeout}',
    help: 'Dispatches that failed with WW_POOL_TIMEOUT while queued.', labels: ['pool'], read: fromStats((s) => s.dispatch.timeouts),
  },
  {
    kind: 'counter', name: 'wirewarden_pool_circuit_open_rejections_total', otelName: 'wirewarden.pool.circuit_open.rejections', unit: '{call}',
    help: 'Acquires and dispatches failed at once with WW_CIRCUIT_OPEN (no endpoint could take them), where the pool has breakers or ejection.',
    labels: ['pool'], read: fromStats((s) => s.circuitOpen),
  },
  {
    kind: 'counter', name: 'wirewarden_pool_shed_calls_total', otelName: 'wirewarden.pool.shed_calls', unit: '{call}',
    help: 'Acquires and dispatches refused or dropped with WW_POOL_OVERLOADED (load shedding).', labels: ['pool'], read: fromStats((s) => s.shed),
  },
  {
    kind: 'counter', name: 'wirewarden_pool_leaks_total', otelName: 'wirewarden.pool.leaks', unit: '{leak}',
    help: 'Leases held longer than leakDetectionMs (leak warnings).', labels: ['pool'],
    read: (o) => {
      const leaks = new Map([...o.poolSeries()].map((s) => [s.pool, s.leaks]));
      return perPool(o, (pool) => leaks.get(pool.id) ?? 0);
    },
  },
  {
    kind: 'counter', name: 'wirewarden_pool_connections_closed_total', otelName: 'wirewarden.pool.connections.closed',
    unit: '{connection}', help: 'Connections that left the pool or were replaced, by reason (idle, lifetime, dead, leaked, reset-failed, validation, destroyed, shutdown, removed, stale).',
    labels: ['pool', 'reason'],
    read: (o) => {
      const out: Sample[] = [];
      for (const pool of o.pools()) {
        for (const [reason, value] of Object.entries(o.statsOf(pool).closed)) out.push({ labels: { pool: pool.id, reason }, value });
      }
      return out;
    },
  },
  {
    kind: 'counter', name: 'wirewarden_pool_endpoint_failures_total', otelName: 'wirewarden.pool.endpoint.failures',
    unit: '{failure}', help: 'Failed dials and deaths of ready connections, per endpoint.', labels: ['pool', 'endpoint'],
    read: (o) => {
      const out: Sample[] = [];
      for (const pool of o.pools()) {
        for (const [endpoint, e] of Object.entries(o.statsOf(pool).endpoints)) out.push({ labels: { pool: pool.id, endpoint }, value: e.failures });
      }
      return out;
    },
  },
  {
    kind: 'gauge', name: 'wirewarden_pool_breaker_state', otelName: 'wirewarden.pool.breaker.state', unit: '{state}',
    help: 'Circuit breaker state per endpoint (1 for the current state), where the pool has breakers.',
    labels: ['pool', 'endpoint', 'state'], read: breakerStates,
  },
] satisfies CatalogMetric[]);
