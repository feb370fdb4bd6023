/**
 * One observer per runtime that turns its typed events into the numbers the metrics
 * report, shared by the Prometheus and OpenTelemetry exporters (reference-counted:
 * `observeRuntime(rt)` / `release()`).
 *
 *   rt.events$ ─ state ──────▶ transitions, connection states, RTT samples, detection
 *              ─ child-exit ─▶ end of a watch (and of a failed dial)
 *              ─ restart ────▶ restarts by supervisor and reason
 *              ─ pool leak ──▶ leaks
 *              ─ pool endpoints-changed ─▶ a removed endpoint's series dropped once its
 *                                          last connection is gone
 *   hub.waited (slow path) ──▶ acquire-wait and dispatch-wait histograms
 *   hub pool removed ────────▶ the pool's cells dropped (series, waits, leaks, restarts)
 *   pool.stats() at scrape ──▶ pool gauges and counters (read by the exporters)
 *
 * Cells live as long as what they describe: a closed pool or an endpoint discovery took
 * away would otherwise stay in every scrape forever (series churn without bound).
 *
 * Nothing here runs per frame or per acquire: state events come on state changes (an idle
 * connection makes two per heartbeat: ready → probing → ready), waits only from acquires
 * that queued. Per state event: a map lookup, two for the transition cell, and on a probe
 * reply one snapshot read. Listeners (the OTel histograms, the tracer) get the samples as
 * they happen; the Prometheus exporter reads the cells when scraped.
 *
 * What events cannot say exactly (hooks the connection actor could give; see
 * docs/observability.md): whether a probing → ready was a probe reply (an RTT sample) or
 * other traffic — told apart by the RTT estimate changing; and when the last byte came —
 * the later of the last entry into `ready` and one interval before the first unanswered
 * probe.
 */
import type { Subscription } from 'rxjs';
import type { AnyActorRef } from 'xstate';
import type { Runtime } from '../runtime.js';
import { engineOf } from '../supervisor/supervisor-logic.js';
import {
  actorAt, connectionInfo, ConnectionWatch, EndpointSeries, parentId, type DialTimeline,
} from './connection-watch.js';
import type { ChildExitEvent, RuntimeEvent, StateEvent } from './events.js';
import { DETECTION_BUCKETS_SECONDS, HistogramCell, RTT_BUCKETS_SECONDS, WAIT_BUCKETS_SECONDS } from './histogram.js';
import type { PoolStats } from '../pool/pool-stats.js';
import { observeHubOf, type ObservedPool, type WaitKind } from './observe-hub.js';

/** Per pool: what only events and the slow path can tell (gauges come from `stats()`). */
export class PoolSeries {
  readonly pool: string;
  leaks = 0;
  /** Waits of queued acquires. */
  readonly wait: HistogramCell;
  /** Waits of queued dispatches (`dispatch`, `command`, `request`) for a place on a connection. */
  readonly dispatchWait: HistogramCell;
  constructor(pool: string, bounds: readonly number[]) {
    this.pool = pool;
    this.wait = new HistogramCell(bounds);
    this.dispatchWait = new HistogramCell(bounds);
  }
}

export interface RestartCell {
  readonly supervisor: string;
  readonly reason: string;
  value: number;
}

/** Told each sample as it is taken (OpenTelemetry's synchronous histograms, the tracer). */
export interface ObservationListener {
  rtt?(series: EndpointSeries, seconds: number): void;
  detection?(series: EndpointSeries, seconds: number): void;
  waited?(pool: PoolSeries, seconds: number): void;
  dispatchWaited?(pool: PoolSeries, seconds: number): void;
  /** A traced dial ended (wants dial timelines: set `tracesDials`). */
  dialEnded?(watch: ConnectionWatch, dial: DialTimeline): void;
  readonly tracesDials?: boolean;
}

/** Histogram buckets, seconds. */
export interface ObserverBuckets {
  readonly rttSeconds: readonly number[];
  readonly detectionSeconds: readonly number[];
  readonly acquireWaitSeconds: readonly number[];
}

export const DEFAULT_BUCKETS: ObserverBuckets = Object.freeze({
  rttSeconds: RTT_BUCKETS_SECONDS,
  detectionSeconds: DETECTION_BUCKETS_SECONDS,
  acquireWaitSeconds: WAIT_BUCKETS_SECONDS,
});

/** Connection states a live connection can be in, reported as 0 when empty. */
export const LIVE_CONNECTION_STATES = ['dialing', 'ready', 'probing', 'suspect', 'closing'] as const;

export class RuntimeObserver {
  readonly rt: Runtime;
  readonly buckets: ObserverBuckets;
  readonly #series = new Map<string, EndpointSeries>();
  readonly #watches = new Map<string, ConnectionWatch>();
  readonly #restarts = new Map<string, RestartCell>();
  readonly #pools = new Map<string, PoolSeries>();
  #listeners: readonly ObservationListener[] = [];
  /** `stats()` of each pool read during the current scrape (cleared on the next microtask). */
  readonly #stats = new Map<ObservedPool, PoolStats>();
  #tracesDials = false;
  readonly #sub: Subscription;
  readonly #stopWaits: () => void;
  readonly #stopRemovals: () => void;
  /** @internal observeRuntime's reference count. */
  refs = 0;

  constructor(rt: Runtime, buckets: ObserverBuckets = DEFAULT_BUCKETS) {
    this.rt = rt;
    this.buckets = buckets;
    this.#walk(rt.root, 'root');
    this.#sub = rt.events$.subscribe((e) => this.#onEvent(e));
    const hub = observeHubOf(rt.root.system);
    this.#stopWaits = hub.onWait((poolId, ms, kind) => this.#waited(poolId, ms, kind));
    this.#stopRemovals = hub.onPoolRemoved((pool) => this.#poolRemoved(pool.id, pool.path));
  }

  /** The runtime's open pools. */
  pools(): Iterable<ObservedPool> {
    return observeHubOf(this.rt.root.system).pools;
  }

  /**
   * `pool.stats()`, read once per scrape: a scrape (prom-client's `metrics()`, an OTel
   * collection) reads every metric in one synchronous turn, and a dozen metrics come from
   * each pool's stats. The memo is cleared on the next microtask, so the next scrape reads
   * fresh figures.
   */
  statsOf(pool: ObservedPool): PoolStats {
    let stats = this.#stats.get(pool);
    if (stats === undefined) {
      if (this.#stats.size === 0) queueMicrotask(() => this.#stats.clear());
      stats = pool.stats();
      this.#stats.set(pool, stats);
    }
    return stats;
  }

  series(): Iterable<EndpointSeries> {
    return this.#series.values();
  }

  poolSeries(): Iterable<PoolSeries> {
    return this.#pools.values();
  }

  restarts(): Iterable<RestartCell> {
    return this.#restarts.values();
  }

  /** The watch of the connection at `path` (`root/pool-1/conn-3`), if it is live. */
  watchAt(path: string): ConnectionWatch | undefined {
    return this.#watches.get(path);
  }

  /** Live connections by series and state (known states first, at 0 when empty). */
  connectionStates(): Map<EndpointSeries, Map<string, number>> {
    const out = new Map<EndpointSeries, Map<string, number>>();
    for (const s of this.#series.values()) out.set(s, new Map(LIVE_CONNECTION_STATES.map((state) => [state, 0])));
    for (const w of this.#watches.values()) {
      const byState = out.get(w.series)!;
      byState.set(w.state, (byState.get(w.state) ?? 0) + 1);
    }
    return out;
  }

  addListener(listener: ObservationListener): () => void {
    this.#listeners = [...this.#listeners, listener];
    this.#tracesDials = this.#listeners.some((l) => l.tracesDials === true);
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
      this.#tracesDials = this.#listeners.some((l) => l.tracesDials === true);
    };
  }

  /** Stops observing (the counters keep their values). */
  close(): void {
    this.#sub.unsubscribe();
    this.#stopWaits();
    this.#stopRemovals();
    for (const w of this.#watches.values()) w.stopDialTrace();
    this.#watches.clear();
  }

  #onEvent(e: RuntimeEvent): void {
    switch (e.type) {
      case 'state':
        this.#onState(e);
        return;
      case 'child-exit':
        this.#onExit(e);
        return;
      case 'restart': {
        const supervisor = parentId(e.path);
        const key = `${supervisor}\n${e.reason}`;
        const cell = this.#restarts.get(key);
        if (cell === undefined) this.#restarts.set(key, { supervisor, reason: e.reason, value: 1 });
        else cell.value++;
        return;
      }
      case 'pool':
        if (e.event.type === 'leak') this.#poolSeries(e.id).leaks++;
        else if (e.event.type === 'endpoints-changed') this.#endpointsChanged(e.id, e.event.added, e.event.removed);
        return;
      default:
    }
  }

  #onState(e: StateEvent): void {
    let w = this.#watches.get(e.path);
    if (e.to === 'dialing') {
      // A new incarnation (a connection's first state): find it and start watching.
      if (w !== undefined) this.#unwatch(w);
      w = this.#watchNew(e.path, e.to, undefined);
      if (w === undefined) return;
      if (this.#tracesDials) w.traceDial(e.at, () => this.rt.scheduler.now());
    }
    if (w === undefined) return;
    const { from, to } = e;
    w.series.countTransition(from, to);
    w.state = to;
    if (to === 'ready') {
      if (from === 'probing' || from === 'suspect') this.#sampleRtt(w);
      else if (from === 'dialing') this.#dialEnded(w, w.endDial(e.at, true));
      w.heardAt = e.at;
    } else if (to === 'dead' && e.reason === 'heartbeat-timeout') {
      this.#detected(w, e.at);
    }
  }

  #onExit(e: ChildExitEvent): void {
    const w = this.#watches.get(e.path);
    if (w === undefined) return;
    this.#unwatch(w);
    this.#dialEnded(w, w.endDial(e.at, false, e.reason, e.error));
  }

  /** A watch ends: its series loses a live connection, and goes if its endpoint left the pool. */
  #unwatch(w: ConnectionWatch): void {
    w.stopDialTrace();
    if (this.#watches.get(w.path) === w) this.#watches.delete(w.path);
    const s = w.series;
    if (--s.live === 0 && s.retired) this.#series.delete(seriesKey(s.labels.pool, s.labels.endpoint));
  }

  /** Discovery changed `pool`'s endpoints: series of removed ones go once no connection there is left. */
  #endpointsChanged(pool: string, added: readonly string[], removed: readonly string[]): void {
    for (const endpoint of removed) {
      const s = this.#series.get(seriesKey(pool, endpoint));
      if (s === undefined) continue;
      if (s.live === 0) this.#series.delete(seriesKey(pool, endpoint));
      else s.retired = true;
    }
    for (const endpoint of added) {
      const s = this.#series.get(seriesKey(pool, endpoint));
      if (s !== undefined) s.retired = false;
    }
  }

  /** A pool closed: every cell labelled with it goes (its connections have exited by now). */
  #poolRemoved(pool: string, path: string): void {
    for (const w of [...this.#watches.values()]) if (w.path.startsWith(`${path}/`)) this.#unwatch(w);
    for (const [key, s] of this.#series) if (s.labels.pool === pool) this.#series.delete(key);
    for (const [key, c] of this.#restarts) if (c.supervisor === pool) this.#restarts.delete(key);
    this.#pools.delete(pool);
  }

  /** A probe came back: a new RTT sample if the estimate moved (else other traffic ended the probe). */
  #sampleRtt(w: ConnectionWatch): void {
    const c = w.context();
    if (c?.rttMs === undefined) return;
    if (c.srttMs === w.srttMs && c.rttvarMs === w.rttvarMs) return;
    w.srttMs = c.srttMs;
    w.rttvarMs = c.rttvarMs;
    const seconds = c.rttMs / 1000;
    w.series.rtt.observe(seconds);
    for (const l of this.#listeners) l.rtt?.(w.series, seconds);
  }

  /**
   * A heartbeat death: from the last time the peer was heard to now. Heard = the later of
   * the last entry into `ready` (a probe reply: exact for an idle connection) and one
   * interval before the first unanswered probe (the tick that sent it saw no traffic
   * during the interval before it: at most one interval short for a busy connection).
   */
  #detected(w: ConnectionWatch, at: number): void {
    let heard = w.heardAt;
    const c = w.context();
    if (c?.silentSince !== undefined) {
      const tickBefore = c.silentSince - c.intervalMs;
      if (heard === undefined || tickBefore > heard) heard = tickBefore;
    }
    if (heard === undefined || at < heard) return;
    const seconds = (at - heard) / 1000;
    w.series.detection.observe(seconds);
    for (const l of this.#listeners) l.detection?.(w.series, seconds);
  }

  #dialEnded(w: ConnectionWatch, dial: DialTimeline | undefined): void {
    if (dial === undefined) return;
    for (const l of this.#listeners) l.dialEnded?.(w, dial);
  }

  #waited(poolId: string, waitedMs: number, kind: WaitKind): void {
    const series = this.#poolSeries(poolId);
    const seconds = waitedMs / 1000;
    if (kind === 'dispatch') {
      series.dispatchWait.observe(seconds);
      for (const l of this.#listeners) l.dispatchWaited?.(series, seconds);
    } else {
      series.wait.observe(seconds);
      for (const l of this.#listeners) l.waited?.(series, seconds);
    }
  }

  #poolSeries(pool: string): PoolSeries {
    let s = this.#pools.get(pool);
    if (s === undefined) this.#pools.set(pool, (s = new PoolSeries(pool, this.buckets.acquireWaitSeconds)));
    return s;
  }

  #watchNew(path: string, state: string, heardAt: number | undefined, ref = actorAt(this.rt.root, path)): ConnectionWatch | undefined {
    if (ref === undefined) return undefined;
    const info = connectionInfo(ref);
    if (info === undefined) return undefined;
    const pool = parentId(path);
    const key = seriesKey(pool, info.endpoint);
    let series = this.#series.get(key);
    if (series === undefined) {
      series = new EndpointSeries({ pool, endpoint: info.endpoint }, this.buckets.rttSeconds, this.buckets.detectionSeconds);
      this.#series.set(key, series);
    }
    series.live++;
    const w = new ConnectionWatch(path, ref, series, state, heardAt);
    this.#watches.set(path, w);
    return w;
  }

  /** Watches the connections that exist already (metrics turned on after start). */
  #walk(ref: AnyActorRef, path: string): void {
    const engine = engineOf(ref);
    if (engine === undefined) {
      const info = connectionInfo(ref);
      if (info === undefined || info.state === 'dead' || info.state === 'closed') return;
      const w = this.#watchNew(path, info.state, info.state === 'ready' ? info.since : undefined, ref);
      const c = w?.context();
      if (w !== undefined && c !== undefined) {
        w.srttMs = c.srttMs;
        w.rttvarMs = c.rttvarMs;
      }
      return;
    }
    for (const child of engine.childRefs()) this.#walk(child, `${path}/${child.id}`);
  }
}

const seriesKey = (pool: string, endpoint: string): string => `${pool}\n${endpoint}`;

const observers = new WeakMap<Runtime, RuntimeObserver>();

/**
 * The runtime's shared observer, made on first use; `release()` it when done (the last
 * release stops it).
 */
export function observeRuntime(rt: Runtime): { observer: RuntimeObserver; release: () => void } {
  let observer = observers.get(rt);
  if (observer === undefined) observers.set(rt, (observer = new RuntimeObserver(rt)));
  observer.refs++;
  let released = false;
  const o = observer;
  return {
    observer: o,
    release: () => {
      if (released) return;
      released = true;
      if (--o.refs === 0) {
        o.close();
        observers.delete(rt);
      }
    },
  };
}
