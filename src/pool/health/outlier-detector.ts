/**
 * `OutlierDetector`: passive health checking of an endpoint set, Envoy's outlier detection.
 * It watches call outcomes and takes misbehaving endpoints out of rotation for a while:
 *
 *   healthy ── consecutive failures, or a success rate far below its peers' ──▶ ejected
 *      ▲                                                                          │
 *      │ healthyThreshold successes in a row           ejection time over (sweep) │
 *      └──────────────────────── probation ◀──────────────────────────────────────┘
 *                                    │ any failure: ejected again, for longer
 *
 * - Consecutive failures eject at once: `consecutiveFailures` counted failures in a row,
 *   or `consecutiveGatewayFailure` connection failures in a row (classify-outcome.ts).
 * - Success-rate outliers are found at each sweep (`intervalMs`): among endpoints with at
 *   least `successRateRequestVolume` calls in the interval — when there are at least
 *   `successRateMinimumHosts` of them — those below mean − `successRateStdevFactor` × stdev.
 * - An ejection lasts `baseEjectionTimeMs` × the endpoint's ejection count, capped at
 *   `maxEjectionTimeMs`, plus up to `maxEjectionTimeJitterMs`. The count goes down by one
 *   per sweep that finds the endpoint healthy, so an endpoint that behaves is forgiven.
 * - Readmission needs the time *and* a healthy streak: after its time the endpoint serves
 *   again on probation; `healthyThreshold` successes in a row make it healthy, the first
 *   failure ejects it again (Envoy readmits unconditionally; its active health checks'
 *   `healthy_threshold` plays this part there).
 * - The cap: at most `maxEjectionPercent` % of the set is ejected at once — at least one
 *   endpoint when the set has two or more (Envoy's rule, or no small set could eject
 *   anything), never the whole set (ejection moves traffic to peers; with none left it
 *   would only refuse it, which is the circuit breaker's job), none at 0 %. An endpoint
 *   that would be ejected past the cap stays; removing endpoints readmits the ejected ones
 *   closest to their time until the cap holds again.
 *
 * Pure: time and randomness are passed in; no timer. The pool records outcomes through the
 * handle `add()` returned (a few field updates, no allocation unless something changes),
 * and calls `sweep(now)` at `nextSweepAt()`. Changes are returned as plain objects for the
 * pool's events.
 *
 * @example
 * const detector = new OutlierDetector(parseOutlierOptions({}), Math.random, 0);
 * const h = detector.add('127.0.0.1:6379');
 * detector.recordFailure(h, 'connection-failure', now);   // → an 'ejected' change, or undefined
 * if (detector.isEjected(h)) … // route elsewhere
 */
import type { OutlierOptions } from './outlier-options.js';

export type OutlierState = 'healthy' | 'ejected' | 'probation';

export type EjectionReason = 'consecutive-failures' | 'consecutive-gateway-failure' | 'success-rate';

export type OutlierChange =
  | {
    readonly type: 'ejected';
    readonly endpoint: string;
    readonly at: number;
    readonly reason: EjectionReason;
    /** This endpoint's ejections so far (the time multiplier). */
    readonly ejections: number;
    readonly ejectedForMs: number;
    /** Success-rate ejections: the endpoint's rate and the threshold it fell below, in percent. */
    readonly successRate?: number;
    readonly threshold?: number;
  }
  | { readonly type: 'probation'; readonly endpoint: string; readonly at: number; readonly reason: 'time-served' | 'cap-shrunk' }
  | { readonly type: 'healthy'; readonly endpoint: string; readonly at: number };

/** An endpoint's record; opaque to callers (they pass it back). */
export interface OutlierHandle {
  readonly key: string;
}

class Tracked implements OutlierHandle {
  state: OutlierState = 'healthy';
  consecutive = 0;
  consecutiveGateway = 0;
  successStreak = 0;
  ejections = 0;
  ejectedUntil = 0;
  intervalSuccesses = 0;
  intervalFailures = 0;
  removed = false;
  constructor(readonly key: string) {}
}

/** At most this many of `n` endpoints may be ejected at once at `percent` (see the module doc). */
export function maxEjected(n: number, percent: number): number {
  if (n < 2 || percent <= 0) return 0;
  return Math.min(n - 1, Math.max(1, Math.floor((n * percent) / 100)));
}

export class OutlierDetector {
  readonly #o: OutlierOptions;
  readonly #random: () => number;
  readonly #endpoints: Tracked[] = [];
  #ejected = 0;
  #nextAnalysisAt: number;

  /** `now`: the scheduler's time at creation; the first success-rate analysis is one interval later. */
  constructor(options: OutlierOptions, random: () => number, now: number) {
    this.#o = options;
    this.#random = random;
    this.#nextAnalysisAt = now + options.intervalMs;
  }

  /** Endpoints ejected now. */
  get ejectedCount(): number {
    return this.#ejected;
  }

  /** The cap for the current set. */
  get maxEjected(): number {
    return maxEjected(this.#endpoints.length, this.#o.maxEjectionPercent);
  }

  get size(): number {
    return this.#endpoints.length;
  }

  /** Starts tracking an endpoint (healthy). */
  add(key: string): OutlierHandle {
    const t = new Tracked(key);
    this.#endpoints.push(t);
    return t;
  }

  /** Stops tracking it; if that shrinks the cap below the ejected count, readmits some (probation). */
  remove(handle: OutlierHandle, now: number): OutlierChange[] {
    const t = handle as Tracked;
    const i = this.#endpoints.indexOf(t);
    if (i < 0) return [];
    this.#endpoints.splice(i, 1);
    t.removed = true;
    if (t.state === 'ejected') this.#ejected--;
    const changes: OutlierChange[] = [];
    while (this.#ejected > this.maxEjected) {
      let soonest: Tracked | undefined;
      for (const e of this.#endpoints) if (e.state === 'ejected' && (soonest === undefined || e.ejectedUntil < soonest.ejectedUntil)) soonest = e;
      changes.push(this.#probation(soonest!, now, 'cap-shrunk'));
    }
    return changes;
  }

  stateOf(handle: OutlierHandle): OutlierState {
    return (handle as Tracked).state;
  }

  isEjected(handle: OutlierHandle): boolean {
    return (handle as Tracked).state === 'ejected';
  }

  /** A call on the endpoint succeeded (or its failure was the caller's: see classify-outcome.ts). */
  recordSuccess(handle: OutlierHandle, now: number): OutlierChange | undefined {
    const t = handle as Tracked;
    if (t.removed) return undefined;
    t.consecutive = 0;
    t.consecutiveGateway = 0;
    t.intervalSuccesses++;
    if (t.state !== 'probation') return undefined;
    if (++t.successStreak < this.#o.healthyThreshold) return undefined;
    t.state = 'healthy';
    return { type: 'healthy', endpoint: t.key, at: now };
  }

  /**
   * `count` calls on a healthy endpoint succeeded: what `count` × `recordSuccess` does there,
   * in one step (the pool hands its lease and dispatch successes over in bulk). An endpoint
   * on probation needs each success for its streak: its successes go one by one instead.
   */
  recordSuccesses(handle: OutlierHandle, count: number): void {
    const t = handle as Tracked;
    if (t.removed || count <= 0) return;
    t.consecutive = 0;
    t.consecutiveGateway = 0;
    t.intervalSuccesses += count;
  }

  /** A call on the endpoint failed in a way that counts (`connection-failure` or `server-failure`). */
  recordFailure(handle: OutlierHandle, kind: 'connection-failure' | 'server-failure', now: number): OutlierChange | undefined {
    const t = handle as Tracked;
    if (t.removed) return undefined;
    t.intervalFailures++;
    t.consecutive++;
    if (kind === 'connection-failure') t.consecutiveGateway++;
    else t.consecutiveGateway = 0;
    t.successStreak = 0;
    if (t.state === 'ejected') return undefined;
    const o = this.#o;
    let reason: EjectionReason | undefined;
    if (t.state === 'probation') reason = t.consecutiveGateway > 0 ? 'consecutive-gateway-failure' : 'consecutive-failures';
    else if (o.consecutiveGatewayFailure > 0 && t.consecutiveGateway >= o.consecutiveGatewayFailure) reason = 'consecutive-gateway-failure';
    else if (o.consecutiveFailures > 0 && t.consecutive >= o.consecutiveFailures) reason = 'consecutive-failures';
    if (reason === undefined || this.#ejected >= this.maxEjected) return undefined;
    return this.#eject(t, now, reason);
  }

  /** When `sweep` should run next: the next success-rate analysis or the next readmission, whichever is first. */
  nextSweepAt(): number {
    let at = this.#nextAnalysisAt;
    for (const t of this.#endpoints) if (t.state === 'ejected' && t.ejectedUntil < at) at = t.ejectedUntil;
    return at;
  }

  /**
   * Readmits (on probation) the endpoints whose time is served and, once per interval,
   * ejects success-rate outliers and forgives one ejection of every healthy endpoint.
   */
  sweep(now: number): OutlierChange[] {
    const changes: OutlierChange[] = [];
    for (const t of this.#endpoints) if (t.state === 'ejected' && t.ejectedUntil <= now) changes.push(this.#probation(t, now, 'time-served'));
    if (now < this.#nextAnalysisAt) return changes;
    this.#nextAnalysisAt = now + this.#o.intervalMs;
    this.#successRateOutliers(now, changes);
    for (const t of this.#endpoints) {
      if (t.state === 'healthy' && t.ejections > 0) t.ejections--;
      t.intervalSuccesses = 0;
      t.intervalFailures = 0;
    }
    return changes;
  }

  /** Plain figures per endpoint, for stats and health. */
  snapshot(): { endpoint: string; state: OutlierState; ejections: number; ejectedUntil?: number }[] {
    return this.#endpoints.map((t) => ({
      endpoint: t.key, state: t.state, ejections: t.ejections, ...(t.state === 'ejected' ? { ejectedUntil: t.ejectedUntil } : {}),
    }));
  }

  #successRateOutliers(now: number, changes: OutlierChange[]): void {
    const o = this.#o;
    const volume: Tracked[] = [];
    for (const t of this.#endpoints) {
      if (t.state !== 'ejected' && t.intervalSuccesses + t.intervalFailures >= o.successRateRequestVolume) volume.push(t);
    }
    if (volume.length < o.successRateMinimumHosts) return;
    const rate = (t: Tracked) => (t.intervalSuccesses * 100) / (t.intervalSuccesses + t.intervalFailures);
    let sum = 0;
    for (const t of volume) sum += rate(t);
    const mean = sum / volume.length;
    let squares = 0;
    for (const t of volume) squares += (rate(t) - mean) ** 2;
    const threshold = mean - o.successRateStdevFactor * Math.sqrt(squares / volume.length);
    const outliers = volume.filter((t) => rate(t) < threshold).sort((a, b) => rate(a) - rate(b));
    for (const t of outliers) {
      if (this.#ejected >= this.maxEjected) break;
      changes.push(this.#eject(t, now, 'success-rate', rate(t), threshold));
    }
  }

  #eject(t: Tracked, now: number, reason: EjectionReason, successRate?: number, threshold?: number): OutlierChange {
    const o = this.#o;
    t.state = 'ejected';
    t.ejections++;
    t.successStreak = 0;
    t.consecutive = 0;
    t.consecutiveGateway = 0;
    this.#ejected++;
    const ejectedForMs = Math.min(o.baseEjectionTimeMs * t.ejections, o.maxEjectionTimeMs)
      + Math.floor(this.#random() * (o.maxEjectionTimeJitterMs + 1));
    t.ejectedUntil = now + ejectedForMs;
    return {
      type: 'ejected', endpoint: t.key, at: now, reason, ejections: t.ejections, ejectedForMs,
      ...(successRate === undefined ? {} : { successRate, threshold: threshold! }),
    };
  }

  #probation(t: Tracked, now: number, reason: 'time-served' | 'cap-shrunk'): OutlierChange {
    t.state = 'probation';
    t.successStreak = 0;
    this.#ejected--;
    return { type: 'probation', endpoint: t.key, at: now, reason };
  }
}
