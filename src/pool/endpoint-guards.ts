/**
 * `EndpointGuards`: the pool's endpoint health, wired from the building blocks in
 * src/pool/health/ — a circuit breaker per endpoint, outlier ejection across the set, the
 * failover policy over priority groups — into the places the pool already decides things:
 *
 *   where to dial        pickDial / retryTarget: the active priority group's endpoints that
 *                        take a dial (breaker not open, not ejected), live ones first
 *   whom to hand a call  rec.admit, one field the lease and dispatch paths read:
 *                          0 closed and healthy: calls go, successes are counted in bulk
 *                          1 judged one by one (half-open trials, probation, stale permits)
 *                          2 open or ejected: no call, no dial
 *   what happened        dial results, deaths of ready connections, and the outcome of every
 *                        use / dispatch / command / request (classify-outcome.ts): fed to
 *                        the breaker and the detector, never as an XState event per call
 *   when nothing serves  `blocked`: every endpoint open, ejected or refused → acquire and
 *                        dispatch fail at once with `openError()` (WW_CIRCUIT_OPEN, cause:
 *                        the last failure) instead of waiting `acquireTimeoutMs`
 *
 * The hot paths stay a field read and an increment: a closed breaker's permit is its epoch
 * (`rec.epoch`), and a call that settles fine on an endpoint with `admit` 0 under that
 * epoch only bumps `rec.successes`. The guards hand those to the breaker and the detector
 * before any failure is recorded there (so rates and streaks see them in order), at every
 * housekeeping sweep, and before a snapshot. Everything else — a failure, a slow call, a
 * trial, an endpoint on probation — is recorded one by one.
 *
 * State changes (a breaker opening, half-opening or closing; an ejection or readmission; a
 * priority move) are reconciled in one place, `#reconcile`, once the recording that caused
 * them is done:
 *   - recompute each endpoint's `admit`, evaluate the failover policy (events for moves);
 *   - pending slots on an endpoint that takes no dial (open, ejected, or outside the active
 *     group) are closed, and `grow` opens what the queues and `min` need where dials go;
 *   - a half-open endpoint with no connection gets one trial dial (making room at `max` by
 *     closing an idle connection), so that service resumes, and a recovered primary is
 *     found, without a caller having to be refused first;
 *   - after a failback, connections of the groups left behind retire (idle ones now, the
 *     others when released or drained);
 *   - when nothing can serve, every queued acquire and dispatch is rejected with `openError`.
 *
 * One timer at most, armed only while something is due: the detector's sweep (an ejection
 * to end, or success rates to compare when the set is large enough) and the policy's next
 * failback. The breakers arm their own (open wait, half-open bound) on the same scheduler.
 */
import type { SchedulerLike } from 'rxjs';
import type { InspectionEvent, Observer } from 'xstate';
import { CircuitOpenError } from '../errors.js';
import { Alarm } from './alarm.js';
import type { ChooseEndpoint } from './connection-source.js';
import type { EndpointHealthOptions } from './endpoint-health-options.js';
import type { EndpointRecord } from './endpoint-record.js';
import { createCircuitBreaker, NOT_PERMITTED, type BreakerTransition } from './health/circuit-breaker.js';
import { classifierWith, type Outcome } from './health/classify-outcome.js';
import { FailoverPolicy, type PriorityMove } from './health/failover-policy.js';
import { OutlierDetector, type OutlierChange } from './health/outlier-detector.js';
import type { PoolClock } from './pool-clock.js';
import type { PoolEvent } from './pool-events.js';
import type { Slot } from './slot.js';
import type { SlotTable } from './slot-table.js';

export { NOT_PERMITTED };

/** What reconciling asks the pool to do (pool-core.ts implements it). */
export interface GuardActions<C> {
  closing(): boolean;
  /** Close a pending slot: its endpoint takes no dial now (grow reopens elsewhere). */
  closePending(slot: Slot<C>): void;
  /** Every endpoint is blocked: reject queued acquires and dispatches with this error. */
  rejectWaiters(error: () => Error): void;
  /**
   * Open one slot on `rec`, pinned to it, whose dial's permit is `permit`; `evict`: at `max`,
   * close the least recently used idle connection to make room. False when there is no room.
   */
  trialDial(rec: EndpointRecord, permit: number, evict: boolean): boolean;
  /** After a failback: ready connections of endpoints outside `priority` retire. */
  retireOutside(priority: number): void;
  /** Open what the queues and `min` need. */
  grow(): void;
}

export interface GuardsConfig<C> {
  readonly options: EndpointHealthOptions;
  readonly table: SlotTable<C>;
  readonly clock: PoolClock;
  readonly scheduler: SchedulerLike;
  readonly random: () => number;
  readonly choose: ChooseEndpoint;
  readonly emit: (event: PoolEvent) => void;
  /** Given to each breaker's actor, so the Stately inspector shows it (the runtime's system). */
  readonly inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** Prefix of breaker actor ids (`pool-1`: `pool-1/breaker:127.0.0.1:6379`). */
  readonly idPrefix?: string;
}

/** What `dialPermit`/`pickDial` return. */
export interface DialPick {
  readonly rec: EndpointRecord;
  readonly permit: number;
}

export class EndpointGuards<C> {
  /** No endpoint can take a call now (every one open, ejected, or refused with nothing open). */
  blocked = false;
  /**
   * Some endpoint's `admit` may be other than 0: a breaker or ejection is on, or there are
   * several priority groups (standby). False: the lease path need not look.
   */
  guarded = false;
  readonly breakerOn: boolean;
  readonly #c: GuardsConfig<C>;
  readonly #classify: (error: unknown) => Outcome;
  readonly #slowMs: number;
  readonly #detector: OutlierDetector | undefined;
  #policy: FailoverPolicy | undefined;
  #priorities = '';
  readonly #known = new Set<EndpointRecord>();
  readonly #alarm: Alarm;
  #actions: GuardActions<C> | undefined = undefined;
  /** > 0 while a breaker or the detector is being told something: transitions wait for the end. */
  #recording = 0;
  #dirty = false;
  #reconciling = false;
  #disposed = false;
  /** The endpoint that opened or was ejected last: whose error a fail-fast carries. */
  #lastFailed: EndpointRecord | undefined = undefined;
  /** Half-open episodes that already got their trial dial, by endpoint (its epoch then). */
  readonly #trialEpoch = new WeakMap<EndpointRecord, number>();

  constructor(config: GuardsConfig<C>) {
    this.#c = config;
    const o = config.options;
    this.breakerOn = o.breaker !== false;
    this.#classify = classifierWith(o.breaker === false ? undefined : o.breaker.recordFailurePredicate);
    this.#slowMs = o.breaker === false ? Number.POSITIVE_INFINITY : o.breaker.slowCallDurationThresholdMs;
    this.#detector = o.outlierDetection === false ? undefined : new OutlierDetector(o.outlierDetection, config.random, config.clock.read());
    this.#alarm = new Alarm(config.scheduler, (now) => this.#onAlarm(now));
  }

  /** Starts guarding the table's endpoints; `actions` is how reconciling changes the pool. */
  attach(actions: GuardActions<C>): void {
    this.#actions = actions;
    this.endpointsChanged();
  }

  /**
   * True when calls' outcomes are recorded (a breaker or ejection is on). Off, the lease and
   * dispatch paths skip permits and success counting altogether: no cost for what is off.
   */
  get counting(): boolean {
    return this.breakerOn || this.#detector !== undefined;
  }

  /** Calls at least this long count as slow (`Infinity` without a breaker). */
  get slowCallMs(): number {
    return this.#slowMs;
  }

  /** The active priority group (the lowest before any move). */
  get activePriority(): number | undefined {
    return this.#policy?.active;
  }

  /** The endpoint set changed (start, discovery): breakers and detector records follow it. */
  endpointsChanged(): void {
    if (this.#disposed) return;
    const { table, clock } = this.#c;
    const current = new Set(table.endpoints);
    const now = clock.read();
    for (const rec of [...this.#known]) {
      if (current.has(rec)) continue;
      this.#known.delete(rec);
      this.#flush(rec);
      rec.breaker?.dispose();
      rec.breaker = undefined;
      if (rec.outlier !== undefined && this.#detector !== undefined) {
        for (const change of this.#detector.remove(rec.outlier, now)) this.#onOutlier(change);
      }
      rec.outlier = undefined;
      rec.admit = 0;
    }
    for (const rec of table.endpoints) {
      if (this.#known.has(rec)) continue;
      this.#known.add(rec);
      this.#guard(rec);
    }
    const priorities = [...new Set(table.endpoints.map((e) => e.endpoint.priority))].sort((a, b) => a - b);
    this.guarded = this.counting || priorities.length > 1;
    const key = priorities.join(',');
    if (key !== this.#priorities && priorities.length > 0) {
      this.#priorities = key;
      this.#policy = new FailoverPolicy(this.#c.options.failover, priorities, now);
    }
    this.#dirty = true;
    this.#reconcile();
  }

  // ── what the lease and dispatch paths ask ──────────────────────────────────

  /** A permit for a new call (lease or dispatch) on `rec`; `NOT_PERMITTED` when it takes none now. */
  callPermit(rec: EndpointRecord): number {
    const admit = rec.admit;
    if (admit === 0 || admit === 3) return rec.epoch;
    if (admit === 2) return NOT_PERMITTED;
    return rec.breaker === undefined ? rec.epoch : rec.breaker.tryAcquire();
  }

  /**
   * A call admitted under `permit` on `rec` settled after `durationMs` (the pool's coarse
   * clock), with `error` or none. Counted in bulk when it is an ordinary fast success.
   */
  settle(rec: EndpointRecord, permit: number, durationMs: number, error: unknown): void {
    if (permit === NOT_PERMITTED) return;
    if (error === undefined) {
      if (rec.admit === 0 && permit === rec.epoch && durationMs < this.#slowMs) {
        rec.successes++;
        return;
      }
      this.#record(rec, permit, durationMs, 'success', undefined);
      return;
    }
    // A call that failed because its connection closed under it: the pool counts that
    // connection's death once (`death`), not once per call that was on it.
    const code = (error as { code?: unknown } | null)?.code;
    const outcome = code === 'WW_CONNECTION_CLOSED' || code === 'WW_LEASE_LOST' ? 'ignored' : this.#classify(error);
    this.#record(rec, permit, durationMs, outcome, error);
  }

  /** A call admitted under `permit` was not made or was abandoned: no evidence (a trial slot is given back). */
  release(rec: EndpointRecord, permit: number): void {
    if (permit !== NOT_PERMITTED) rec.breaker?.release(permit);
  }

  /**
   * A ready connection on `rec` died (not a retirement): a connection failure. `permit` is
   * its lease's when leased (that call failed), else `NOT_PERMITTED` (evidence while closed).
   */
  death(rec: EndpointRecord, permit: number, error: unknown): void {
    this.#dirty = true;
    this.#record(rec, permit === NOT_PERMITTED ? rec.epoch : permit, 0, 'connection-failure', error);
  }

  /**
   * Runs `fn` (a lifecycle step: record an outcome, then act on the slot) with reconciling
   * held back until it returns, so a breaker that opens inside does not close the slot the
   * step is still handling.
   */
  batch(fn: () => void): void {
    this.#recording++;
    try {
      fn();
    } finally {
      this.#recording--;
    }
    if (this.#dirty && this.#recording === 0) this.#reconcile();
  }

  // ── dials ──────────────────────────────────────────────────────────────────

  /**
   * Gives a pending slot the permit for its next dial (after a failed one, a death, a kill).
   * None (its endpoint is open, ejected, or its trials are taken): the next reconcile closes it.
   */
  permitDial(slot: Slot<C>): void {
    const rec = slot.site;
    const permit = this.dialPermit(rec);
    slot.permit = permit;
    if (permit !== NOT_PERMITTED) return;
    this.#dirty = true;
    if (this.#recording === 0) this.#reconcile();
  }

  /** The permit for a dial to `rec`; `NOT_PERMITTED` when it takes none (open, ejected, trials taken). */
  dialPermit(rec: EndpointRecord): number {
    if (rec.admit === 2) return NOT_PERMITTED;
    const b = rec.breaker;
    return b === undefined ? rec.epoch : b.tryAcquire();
  }

  /** A dial to `rec` succeeded (its connection is ready). */
  dialSucceeded(rec: EndpointRecord, permit: number): void {
    this.#dirty = true; // the endpoint is up: its group may serve again
    if (permit === NOT_PERMITTED) return;
    this.#record(rec, permit, 0, 'success', undefined);
  }

  /**
   * A dial to `rec` failed: whatever the error, the endpoint could not carry a connection.
   * A refused handshake (bad credentials…) is the refusal rule's (slot-lifecycle.ts: fail
   * fast with `WW_ENDPOINT_REFUSED`, retry slowly), not evidence of an outage.
   */
  dialFailed(rec: EndpointRecord, permit: number, error: unknown): void {
    this.#dirty = true; // the endpoint may be down now: its group may not serve
    if (permit === NOT_PERMITTED) return;
    if ((error as { code?: unknown } | null)?.code === 'WW_HANDSHAKE_REFUSED') {
      this.release(rec, permit);
      return;
    }
    const outcome = this.#classify(error);
    this.#record(rec, permit, 0, outcome === 'ignored' || outcome === 'success' ? 'connection-failure' : outcome, error);
  }

  /**
   * Where the next new connection dials, with its permit: the active group's endpoints that
   * take a dial (any group's when the active one has none), chosen by the pool's policy.
   */
  pickDial(random: () => number): DialPick | undefined {
    let candidates = this.dialCandidates();
    while (candidates.length > 0) {
      const rec = this.#c.choose(candidates, random) as EndpointRecord;
      const permit = this.dialPermit(rec);
      if (permit !== NOT_PERMITTED) return { rec, permit };
      candidates = candidates.filter((e) => e !== rec);
    }
    return undefined;
  }

  /**
   * Where a slot whose dial to `from` failed dials next (slot-lifecycle.ts `#failover`):
   * a live endpoint (its last dial did not fail) that takes dials — the active group's
   * first, else the most preferred group's — so one slot fails over at once, while the
   * priority group moves only when the policy says so; when every endpoint that takes
   * dials is failing, the next one after `from`, so that attempts cycle and whichever
   * recovers first is found. Undefined: no endpoint takes a dial.
   */
  retryTarget(from: EndpointRecord, random: () => number): EndpointRecord | undefined {
    const dialable = this.#c.table.endpoints.filter((e) => e.admit !== 2 && !e.demoted);
    if (dialable.length === 0) return undefined;
    if (dialable.every((e) => e.consecutiveFailures > 0)) return dialable[(dialable.indexOf(from) + 1) % dialable.length];
    const live = dialable.filter((e) => e.consecutiveFailures === 0);
    const active = this.#policy?.active;
    const inActive = live.filter((e) => e.endpoint.priority === active);
    return this.#c.choose(inActive.length > 0 ? inActive : live, random) as EndpointRecord;
  }

  /**
   * The endpoints a new connection may dial now: the active group's that take one, else any
   * that does. Never a demoted one (it said READONLY: pool-discovery.ts).
   */
  dialCandidates(): EndpointRecord[] {
    const endpoints = this.#c.table.endpoints.filter((e) => !e.demoted);
    const active = this.#policy?.active;
    const inGroup = endpoints.filter((e) => e.admit !== 2 && e.endpoint.priority === active);
    return inGroup.length > 0 ? inGroup : endpoints.filter((e) => e.admit !== 2);
  }

  /**
   * Fails the pool's calls fast: `WW_CIRCUIT_OPEN` naming why each endpoint takes no call,
   * with the last failure as `cause`. One endpoint: its breaker's own message.
   */
  openError(what = 'acquire'): CircuitOpenError {
    const endpoints = this.#c.table.endpoints;
    const last = this.#lastFailed !== undefined && endpoints.includes(this.#lastFailed) ? this.#lastFailed : endpoints.find((e) => e.admit === 2);
    const lastBreaker = last?.breaker;
    if (endpoints.length === 1 && lastBreaker !== undefined && lastBreaker.state !== 'closed') {
      const e = lastBreaker.openError();
      return new CircuitOpenError(`${what} failed at once: ${e.message}`, { cause: e.cause });
    }
    const now = this.#c.clock.read();
    const parts = endpoints.map((e) => `${e.key}: ${this.#why(e, now)}`).join('; ');
    const cause = lastBreaker?.lastError ?? last?.lastError ?? last?.refused;
    return new CircuitOpenError(`${what} failed at once: no endpoint can take a call (${parts})`, cause === undefined ? undefined : { cause });
  }

  #why(e: EndpointRecord, now: number): string {
    const b = e.breaker;
    if (b !== undefined && b.state === 'open') {
      const until = b.snapshot().openUntil;
      return until === undefined ? 'circuit open' : `circuit open, trial calls in ${Math.max(0, until - now)} ms`;
    }
    if (e.outlier !== undefined && this.#detector?.isEjected(e.outlier)) return 'ejected';
    if (e.refused !== undefined) return 'refused the handshake';
    return b?.state === 'half-open' ? 'circuit half-open' : 'available';
  }

  // ── housekeeping, snapshots, close ─────────────────────────────────────────

  /** The housekeeping sweep: hands bulk successes over, so time-based windows stay current. */
  sweep(): void {
    for (const rec of this.#known) this.#flush(rec);
  }

  /** Per endpoint, for stats and health: its breaker and outlier state (after handing successes over). */
  stateOf(rec: EndpointRecord): { breaker?: 'closed' | 'open' | 'half-open'; outlier?: 'healthy' | 'ejected' | 'probation' } {
    this.#flush(rec);
    const out: { breaker?: 'closed' | 'open' | 'half-open'; outlier?: 'healthy' | 'ejected' | 'probation' } = {};
    if (rec.breaker !== undefined) out.breaker = rec.breaker.state;
    if (rec.outlier !== undefined && this.#detector !== undefined) out.outlier = this.#detector.stateOf(rec.outlier);
    return out;
  }

  /** Stops every breaker and the timer; nothing is recorded afterwards. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#alarm.cancel();
    for (const rec of this.#known) {
      rec.breaker?.dispose();
      rec.breaker = undefined;
    }
  }

  // ── inside ─────────────────────────────────────────────────────────────────

  #guard(rec: EndpointRecord): void {
    const o = this.#c.options;
    rec.admit = 0;
    rec.successes = 0;
    if (o.breaker !== false) {
      const inspect = this.#c.inspect;
      const breaker = createCircuitBreaker({
        endpoint: rec.key,
        options: o.breaker,
        scheduler: this.#c.scheduler,
        random: this.#c.random,
        now: () => this.#c.clock.now,
        onTransition: (t) => this.#onBreaker(rec, t),
        actorOptions: {
          id: `${this.#c.idPrefix ?? 'pool'}/breaker:${rec.key}`,
          ...(inspect === undefined ? {} : { inspect }),
        },
      });
      rec.breaker = breaker;
      rec.epoch = breaker.epoch;
    } else {
      rec.epoch = 0;
    }
    if (this.#detector !== undefined) rec.outlier = this.#detector.add(rec.key);
  }

  #record(rec: EndpointRecord, permit: number, durationMs: number, outcome: Outcome, error: unknown): void {
    if (this.#disposed) return;
    this.#recording++;
    try {
      this.#flush(rec);
      const b = rec.breaker;
      if (outcome === 'ignored') {
        b?.release(permit);
        return;
      }
      if (b !== undefined) {
        if (outcome === 'success') b.onSuccess(permit, durationMs);
        else b.recordOutcome(permit, durationMs, outcome, error);
      }
      const d = this.#detector;
      const h = rec.outlier;
      if (d !== undefined && h !== undefined) {
        const now = this.#c.clock.now;
        const change = outcome === 'success' ? d.recordSuccess(h, now) : d.recordFailure(h, outcome, now);
        if (change !== undefined) this.#onOutlier(change);
      }
    } finally {
      this.#recording--;
    }
    if (this.#dirty && this.#recording === 0) this.#reconcile();
  }

  /** Hands `rec`'s bulk successes to its breaker and detector record. */
  #flush(rec: EndpointRecord): void {
    const n = rec.successes;
    if (n === 0) return;
    rec.successes = 0;
    rec.breaker?.recordSuccesses(rec.epoch, n);
    if (rec.outlier !== undefined) this.#detector?.recordSuccesses(rec.outlier, n);
  }

  #onBreaker(rec: EndpointRecord, t: BreakerTransition): void {
    rec.epoch = rec.breaker?.epoch ?? 0;
    rec.successes = 0;
    this.#updateAdmit(rec);
    if (t.to === 'open') this.#lastFailed = rec;
    const trip = t.trip;
    this.#c.emit({
      type: 'breaker', at: t.at, endpoint: t.endpoint, from: t.from, to: t.to, consecutiveOpens: t.consecutiveOpens,
      ...(trip === undefined ? {} : { reason: trip.reason, calls: trip.calls, failures: trip.failures, slowCalls: trip.slowCalls }),
      ...(trip?.errorCode === undefined ? {} : { errorCode: trip.errorCode }),
      ...(t.openForMs === undefined ? {} : { openForMs: t.openForMs }),
    });
    this.#dirty = true;
    if (this.#recording === 0) this.#reconcile();
  }

  #onOutlier(change: OutlierChange): void {
    const rec = this.#c.table.endpoints.find((e) => e.key === change.endpoint) ?? [...this.#known].find((e) => e.key === change.endpoint);
    if (rec !== undefined) {
      if (change.type === 'ejected') this.#lastFailed = rec;
      this.#updateAdmit(rec);
    }
    if (change.type === 'ejected') {
      const { type: _type, ...rest } = change;
      this.#c.emit({ ...rest, type: 'endpoint-ejected' });
    } else if (change.type === 'probation') {
      this.#c.emit({ type: 'endpoint-readmitted', at: change.at, endpoint: change.endpoint, reason: change.reason });
    } else {
      this.#c.emit({ type: 'endpoint-healthy', at: change.at, endpoint: change.endpoint });
    }
    this.#dirty = true;
  }

  #updateAdmit(rec: EndpointRecord): void {
    const b = rec.breaker?.state;
    const o = rec.outlier === undefined ? undefined : this.#detector?.stateOf(rec.outlier);
    let admit: 0 | 1 | 2 | 3 = b === 'open' || o === 'ejected' ? 2 : b === 'half-open' || o === 'probation' ? 1 : 0;
    // Outside the active group while it serves: standby (no traffic before a failback).
    const active = this.#policy?.active;
    if (admit === 0 && active !== undefined && rec.endpoint.priority !== active && this.#canServe(active)) admit = 3;
    if (admit !== 0) this.#flush(rec);
    rec.admit = admit;
  }

  /**
   * Can group `priority` serve: one of its endpoints takes calls (breaker not open, not
   * ejected, not refused) and is not down (its last dial failed and nothing is open).
   */
  #canServe(priority: number): boolean {
    for (const e of this.#c.table.endpoints) {
      if (e.endpoint.priority !== priority || e.admit === 2 || e.refused !== undefined) continue;
      if (e.open > 0 || e.consecutiveFailures === 0) return true;
    }
    return false;
  }

  /**
   * No endpoint can take a call: each is open, ejected, refused with nothing open, or
   * half-open with nothing open (its trial dial decides: a caller queued behind it would
   * only wait for the verdict, up to `maxWaitDurationInHalfOpenStateMs` on a frozen server).
   */
  /** Another endpoint serves (takes calls, has a connection open): a scout of `rec` is worth a slot. */
  #othersLive(rec: EndpointRecord): boolean {
    return this.#c.table.endpoints.some((e) => e !== rec && e.admit !== 2 && e.open > 0);
  }

  #computeBlocked(): boolean {
    const endpoints = this.#c.table.endpoints;
    let anyGuarded = false;
    for (const e of endpoints) {
      if (e.admit === 2 || (e.open === 0 && e.breaker?.state === 'half-open')) {
        anyGuarded = true;
        continue;
      }
      if (e.refused !== undefined && e.open === 0) continue;
      return false;
    }
    return anyGuarded;
  }

  #reconcile(): void {
    const actions = this.#actions;
    if (actions === undefined || this.#disposed || this.#reconciling) return;
    this.#reconciling = true;
    try {
      for (let round = 0; this.#dirty && round < 4; round++) {
        this.#dirty = false;
        if (actions.closing()) return;
        this.#reconcileOnce(actions);
      }
    } finally {
      this.#reconciling = false;
    }
    this.#armAlarm();
  }

  #reconcileOnce(actions: GuardActions<C>): void {
    const { table, clock } = this.#c;
    for (const rec of table.endpoints) this.#updateAdmit(rec);
    const now = clock.read();
    const move = this.#policy?.evaluate(now, (p) => this.#canServe(p));
    if (move !== undefined) this.#onMove(move, actions);
    for (const rec of table.endpoints) this.#updateAdmit(rec); // standby follows the active group
    const wasBlocked = this.blocked;
    this.blocked = this.#computeBlocked();
    // Pending slots whose endpoint takes no dial now (open, ejected, or no permit for the
    // next attempt): closed, so that `grow` reopens where dials go.
    for (const slot of table.slots.slice()) {
      if (slot.state !== 'pending') continue;
      const rec = slot.site;
      if (rec.admit !== 2 && (rec.breaker === undefined || slot.permit !== NOT_PERMITTED)) continue;
      actions.closePending(slot);
    }
    if (this.blocked && !wasBlocked) actions.rejectWaiters(() => this.openError());
    // Dials nobody else would make, pinned to their endpoint (slot-lifecycle.ts openTrial):
    //  - a half-open endpoint with no connection: one trial dial per episode, so service
    //    resumes without a caller having to be refused first;
    //  - a down endpoint (dial failed, nothing open, breaker closed) in the active group or a
    //    preferred one, while others serve: a scout, retried on the backoff, so that its
    //    recovery is found — a primary to fail back to, a peer back from ejection — where
    //    new connections would otherwise always go to the live ones (and its breaker, fed by
    //    the scout's failures, opens if it stays down). When nothing serves, the dials the
    //    queues need cycle through every endpoint instead.
    const active = this.#policy?.active;
    for (const rec of table.endpoints) {
      if (rec.open > 0 || rec.pending > 0 || rec.admit === 2 || rec.refused !== undefined) continue;
      const b = rec.breaker;
      if (b !== undefined && b.state === 'half-open') {
        if (this.#trialEpoch.get(rec) === rec.epoch) continue;
        const permit = b.tryAcquire();
        if (permit === NOT_PERMITTED) continue;
        this.#trialEpoch.set(rec, rec.epoch);
        if (!actions.trialDial(rec, permit, true)) b.release(permit);
      } else if (rec.consecutiveFailures > 0 && active !== undefined && rec.endpoint.priority <= active && this.#othersLive(rec)) {
        const permit = this.dialPermit(rec);
        // Only with room: a scout never takes a connection from the group that serves.
        if (permit !== NOT_PERMITTED && !actions.trialDial(rec, permit, false)) this.release(rec, permit);
      }
    }
    actions.grow();
  }

  #onMove(move: PriorityMove, actions: GuardActions<C>): void {
    if (move.type === 'failover') {
      this.#c.emit({ type: 'priority-failover', at: move.at, from: move.from, to: move.to, reason: move.reason });
    } else {
      this.#c.emit({
        type: 'priority-failback', at: move.at, from: move.from, to: move.to, reason: move.reason,
        stableForMs: move.stableForMs, requiredStableMs: move.requiredStableMs,
      });
      actions.retireOutside(move.to);
    }
  }

  /** The detector's next sweep (when something can come of it) or the policy's next failback. */
  #armAlarm(): void {
    if (this.#disposed) return;
    let at = Number.POSITIVE_INFINITY;
    const d = this.#detector;
    if (d !== undefined && (d.ejectedCount > 0 || this.#sweepsRates())) at = d.nextSweepAt();
    const failback = this.#policy?.nextEvaluationAt();
    if (failback !== undefined && failback < at) at = failback;
    if (at === this.#alarm.at) return;
    this.#alarm.cancel();
    if (at !== Number.POSITIVE_INFINITY) this.#alarm.armAt(at);
  }

  /** Success-rate analysis can eject only with enough endpoints; below that no periodic sweep runs. */
  #sweepsRates(): boolean {
    const o = this.#c.options.outlierDetection;
    return o !== false && this.#c.table.endpoints.length >= Math.max(2, o.successRateMinimumHosts);
  }

  #onAlarm(now: number): void {
    if (this.#disposed) return;
    this.#c.clock.observe(now);
    const d = this.#detector;
    if (d !== undefined && now >= d.nextSweepAt()) {
      for (const rec of this.#known) this.#flush(rec);
      for (const change of d.sweep(now)) this.#onOutlier(change);
    }
    this.#dirty = true;
    this.#reconcile();
  }
}
