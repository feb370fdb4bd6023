/**
 * Records a scenario as it runs: the pool's connection states (from the runtime's
 * `state` and `restart` events — state changes only, never per request), the faults the
 * timeline starts and ends, and, from both, the figures of the report.
 *
 *   fault starts ──▶ episode opens ──▶ connections die (detection samples)
 *   last harmful fault ends ──▶ episode ends ──▶ every connection up again (recovery)
 *
 * Rules, so that a report means the same in every run:
 * - A death is a connection going to `dead` from `ready`, `probing` or `suspect`; a
 *   dial or handshake failure is a restart, not a death.
 * - A death while a harmful fault is active is detected: its latency runs from the later
 *   of the fault's start and the connection's first `ready` to the death. A death within
 *   `graceMs` after the last harmful fault ended is put down to it but is no detection
 *   (healing a blackhole closes its connections). Any other death is a false death.
 * - "Up" for recovery means `ready` or `probing` (a routine probe is not an outage).
 * - A connection that reaches `closed` was retired by its pool (max lifetime, idle,
 *   shrink): it leaves the observed connections, since its replacement has its own id.
 * - Every time is scheduler time minus the origin set when the timeline starts.
 * - An episode is "reached" from the first moment a connection was alive during it;
 *   its detections are the deaths while one of its faults was active.
 *
 * The pool is known only once it exists (a scenario may build its own, with its own id):
 * events that arrive before `watch(poolPath)` are kept and replayed then, so a pool's
 * first dials are never missed.
 */
import type { Observable, SchedulerLike, Subscription } from 'rxjs';
import type { RuntimeEvent } from '../observe/events.js';
import type { FaultClassification } from './fault-classifier.js';
import type { RequestLedger } from './request-ledger.js';
import type {
  ConnectionObservation, DeathRecord, DetectionSample, FaultRecord, PhaseOutcome, RecoveryEpisode, RequestCounts, ScenarioObservations,
} from './scenario-types.js';

const ALIVE = new Set(['ready', 'probing', 'suspect']);
const UP = new Set(['ready', 'probing']);

interface Conn {
  readonly id: string;
  state: string;
  since: number;
  incarnation: number;
  /** First `ready` of the current incarnation. */
  upSince: number | undefined;
}

interface Fault {
  readonly id: number;
  readonly label: string;
  readonly harmful: boolean;
  readonly reason: string;
  readonly startedAt: number;
  endedAt: number | undefined;
}

interface Episode {
  readonly faults: string[];
  readonly startedAt: number;
  endedAt: number | undefined;
  recoveredAt: number | undefined;
  interrupted: boolean;
  reachedAt: number | undefined;
  detections: number;
}

export interface RecorderOptions {
  readonly scheduler: SchedulerLike;
  readonly events$: Observable<RuntimeEvent>;
  readonly graceMs: number;
  readonly ledger: RequestLedger;
}

/** Records a run's observations: what `ctx.observed` reads. */
export class ScenarioRecorder implements ScenarioObservations {
  #expected = 0;
  #boundMs = 0;
  readonly #scheduler: SchedulerLike;
  /** Undefined until `watch()`: events are buffered meanwhile. */
  #prefix: string | undefined;
  #early: RuntimeEvent[] | undefined = [];
  readonly #graceMs: number;
  readonly #ledger: RequestLedger;
  readonly #sub: Subscription;
  readonly #conns = new Map<string, Conn>();
  /** Connections in an `UP` state: kept as states change, since every probe is two changes. */
  #upCount = 0;
  readonly #faults: Fault[] = [];
  readonly #episodes: Episode[] = [];
  readonly #deaths: DeathRecord[] = [];
  readonly #detections: DetectionSample[] = [];
  readonly #upWaiters = new Set<() => void>();
  #origin: number;
  #falseSuspicions = 0;
  #restarts = 0;
  #lastHarmfulEnd: Fault | undefined;
  #nextFaultId = 1;
  #stopped = false;

  constructor(options: RecorderOptions) {
    this.#scheduler = options.scheduler;
    this.#graceMs = options.graceMs;
    this.#ledger = options.ledger;
    this.#origin = options.scheduler.now();
    this.#sub = options.events$.subscribe((e) => this.#onEvent(e));
  }

  /**
   * Watches the pool at `poolPath` (`root/scenario`): its connections are
   * `root/scenario/<id>`; `expectedConnections` of them make the pool "all up".
   */
  watch(poolPath: string, expectedConnections: number, detectionBoundMs: number): void {
    this.#prefix = `${poolPath}/`;
    this.#expected = expectedConnections;
    this.#boundMs = detectionBoundMs;
    const early = this.#early ?? [];
    this.#early = undefined;
    for (const e of early) this.#onEvent(e);
  }

  get expectedConnections(): number {
    return this.#expected;
  }

  get detectionBoundMs(): number {
    return this.#boundMs;
  }

  /** Scenario time starts now. */
  startTimeline(): void {
    this.#origin = this.#scheduler.now();
  }

  /** Stops observing: later events and fault changes (teardown) are not recorded. */
  stop(): void {
    this.#stopped = true;
    this.#sub.unsubscribe();
    for (const wake of this.#upWaiters) wake();
    this.#upWaiters.clear();
  }

  now(): number {
    return this.#scheduler.now() - this.#origin;
  }

  /** Resolves once every expected connection is up (or the recorder stops). */
  whenAllUp(): Promise<void> {
    if (this.allUp()) return Promise.resolve();
    return new Promise((resolve) => this.#upWaiters.add(resolve));
  }

  startFault(label: string, classification: FaultClassification): number {
    if (this.#stopped) return 0;
    const at = this.#scheduler.now();
    const fault: Fault = { id: this.#nextFaultId++, label, ...classification, startedAt: at, endedAt: undefined };
    this.#faults.push(fault);
    if (fault.harmful) {
      let episode = this.#episodes.at(-1);
      if (episode && episode.endedAt !== undefined) {
        if (episode.recoveredAt === undefined) episode.interrupted = true;
        episode = undefined;
      }
      if (!episode) {
        const reachedAt = [...this.#conns.values()].some((c) => ALIVE.has(c.state)) ? at : undefined;
        episode = { faults: [], startedAt: at, endedAt: undefined, recoveredAt: undefined, interrupted: false, reachedAt, detections: 0 };
        this.#episodes.push(episode);
      }
      episode.faults.push(label);
    }
    return fault.id;
  }

  endFault(id: number): void {
    const fault = this.#faults.find((f) => f.id === id);
    if (this.#stopped || !fault || fault.endedAt !== undefined) return;
    const at = this.#scheduler.now();
    fault.endedAt = at;
    if (!fault.harmful || this.#faults.some((f) => f.harmful && f.endedAt === undefined)) return;
    this.#lastHarmfulEnd = fault;
    const episode = this.#episodes.at(-1)!;
    episode.endedAt = at;
    if (this.allUp()) episode.recoveredAt = at;
  }

  /** A fault that starts and ends at once (a cut). */
  instantFault(label: string, classification: FaultClassification): void {
    this.endFault(this.startFault(label, classification));
  }

  connections(): ConnectionObservation[] {
    return [...this.#conns.values()].map((c) => ({ id: c.id, state: c.state, since: c.since - this.#origin, incarnation: c.incarnation }));
  }

  allUp(): boolean {
    return this.#prefix !== undefined && this.#upCount >= this.#expected;
  }

  faults(): readonly FaultRecord[] {
    return this.#faults.map((f) => this.#faultRecord(f));
  }

  activeFaults(): readonly FaultRecord[] {
    return this.#faults.filter((f) => f.endedAt === undefined).map((f) => this.#faultRecord(f));
  }

  deaths(): readonly DeathRecord[] {
    return this.#deaths;
  }

  falseDeaths(): readonly DeathRecord[] {
    return this.#deaths.filter((d) => d.fault === undefined);
  }

  falseSuspicions(): number {
    return this.#falseSuspicions;
  }

  restarts(): number {
    return this.#restarts;
  }

  detections(): readonly DetectionSample[] {
    return this.#detections;
  }

  episodes(): readonly RecoveryEpisode[] {
    const t = (x: number | undefined) => (x === undefined ? undefined : x - this.#origin);
    return this.#episodes.map((e) => ({
      faults: [...e.faults], startedAt: e.startedAt - this.#origin, endedAt: t(e.endedAt), recoveredAt: t(e.recoveredAt), interrupted: e.interrupted,
      reachedAt: t(e.reachedAt), detections: e.detections,
    }));
  }

  requests(): RequestCounts {
    return this.#ledger.counts();
  }

  phases(): readonly PhaseOutcome[] {
    return this.#ledger.phases();
  }

  lostIds(limit?: number): number[] {
    return this.#ledger.lostIds(limit);
  }

  duplicatedIds(limit?: number): number[] {
    return this.#ledger.duplicatedIds(limit);
  }

  undetected(afterMs: number): { fault: string; connection: string; sinceMs: number }[] {
    const fault = this.#latestActiveHarmful();
    if (!fault) return [];
    const now = this.#scheduler.now();
    const out: { fault: string; connection: string; sinceMs: number }[] = [];
    for (const c of this.#conns.values()) {
      if (!ALIVE.has(c.state) || c.upSince === undefined) continue;
      const exposed = Math.max(fault.startedAt, c.upSince);
      if (now - exposed >= afterMs) out.push({ fault: fault.label, connection: c.id, sinceMs: exposed - this.#origin });
    }
    return out;
  }

  #faultRecord(f: Fault): FaultRecord {
    return {
      id: f.id, label: f.label, harmful: f.harmful, reason: f.reason,
      startedAt: f.startedAt - this.#origin, endedAt: f.endedAt === undefined ? undefined : f.endedAt - this.#origin,
    };
  }

  #latestActiveHarmful(): Fault | undefined {
    for (let i = this.#faults.length - 1; i >= 0; i--) {
      const f = this.#faults[i]!;
      if (f.harmful && f.endedAt === undefined) return f;
    }
    return undefined;
  }

  #onEvent(e: RuntimeEvent): void {
    if (this.#early !== undefined) {
      if (e.type === 'restart' || e.type === 'state') this.#early.push(e);
      return;
    }
    const prefix = this.#prefix!;
    if (e.type === 'restart') {
      if (e.path.startsWith(prefix)) this.#restarts++;
      return;
    }
    if (e.type !== 'state' || !e.path.startsWith(prefix)) return;
    let c = this.#conns.get(e.id);
    // A routine probe (ready → probing → ready) is most of the events and changes nothing
    // but the state: the connection stays up, was up before, and an episode that started
    // meanwhile found it alive.
    if (c !== undefined && c.state === e.from && c.upSince !== undefined &&
      ((e.from === 'ready' && e.to === 'probing') || (e.from === 'probing' && e.to === 'ready'))) {
      c.state = e.to;
      c.since = e.at;
      return;
    }
    if (!c) {
      c = { id: e.id, state: e.from, since: e.at, incarnation: 0, upSince: undefined };
      this.#conns.set(e.id, c);
      if (UP.has(c.state)) this.#upCount++;
    }
    if (e.to === 'dialing') {
      c.incarnation++;
      c.upSince = undefined;
    }
    if (e.to === 'ready' && c.upSince === undefined) c.upSince = e.at;
    if (e.to === 'ready') {
      const episode = this.#episodes.at(-1);
      if (episode && episode.endedAt === undefined && episode.reachedAt === undefined) episode.reachedAt = e.at;
    }
    if (e.from === 'suspect' && e.to === 'ready') this.#falseSuspicions++;
    if (e.to === 'dead' && ALIVE.has(e.from)) this.#onDeath(c, e.from, e.reason ?? 'unknown', e.at);
    const wasUp = UP.has(c.state);
    const isUp = UP.has(e.to);
    c.state = e.to;
    c.since = e.at;
    if (wasUp !== isUp) this.#upCount += isUp ? 1 : -1;
    // Closed on purpose (the pool retired it: max lifetime, idle, shrink): gone, not down.
    // Its replacement has an id of its own.
    if (e.to === 'closed') this.#conns.delete(c.id);
    // Only a connection coming up can complete "all up" (ready ⇄ probing, every probe, cannot).
    if (isUp && !wasUp && this.allUp()) this.#onAllUp(e.at);
  }

  #onDeath(c: Conn, from: string, reason: string, at: number): void {
    const active = this.#latestActiveHarmful();
    let fault: string | undefined;
    if (active) {
      fault = active.label;
      const exposed = Math.max(active.startedAt, c.upSince ?? active.startedAt);
      this.#detections.push({ connection: c.id, fault: active.label, latencyMs: at - exposed });
      this.#episodes.at(-1)!.detections++;
    } else if (this.#lastHarmfulEnd && at - this.#lastHarmfulEnd.endedAt! <= this.#graceMs) {
      fault = this.#lastHarmfulEnd.label;
      // The fault's effects outlived it (a cut closes connections just after it happened):
      // the episode is not over until every connection is back.
      const episode = this.#episodes.at(-1);
      if (episode?.endedAt !== undefined) episode.recoveredAt = undefined;
    }
    this.#deaths.push({ connection: c.id, at: at - this.#origin, from, reason, fault });
  }

  #onAllUp(at: number): void {
    const episode = this.#episodes.at(-1);
    if (episode && episode.endedAt !== undefined && episode.recoveredAt === undefined) episode.recoveredAt = at;
    for (const wake of this.#upWaiters) wake();
    this.#upWaiters.clear();
  }
}
