/**
 * The types of a chaos scenario: what a scenario file declares (`ScenarioDefinition`),
 * what its timeline actions and invariants receive (`ScenarioContext`), and what the
 * runner observed (`ScenarioObservations`).
 *
 * One context for both run modes: on real sockets `server` is an in-process wire server
 * behind a `ChaosProxy`; on the simulated network it is the same wire server accepting
 * in-memory streams. `link`, `pool`, `scheduler` and `random` mean the same in both, so
 * a scenario never asks which mode it runs in (it can: `ctx.mode`).
 */
import type { SchedulerLike } from 'rxjs';
import type { ResolvedHeartbeat } from '../actors/connection-input.js';
import type { HeartbeatInput } from '../actors/connection-types.js';
import type { Pool } from '../pool/pool.js';
import type { Runtime } from '../runtime.js';
import type { BackoffPolicy, ExponentialBackoffOptions } from '../supervisor/backoff.js';
import type { WireSession } from '../transport/wire-session.js';
import type { ChaosLink } from './chaos-link.js';
import type { ToxicJson, ToxicPatch, ToxicSpec } from './toxic-types.js';

export type RunMode = 'real' | 'simulated';

/**
 * When an invariant is checked: `continuous` every `checkEveryMs` of the timeline;
 * `final` once the timeline and its in-flight requests are over, before teardown (the
 * runtime, pool and server are still up); `teardown` after everything was shut down.
 */
export type InvariantPhase = 'continuous' | 'final' | 'teardown';

/** A property that must hold. `check` returns a violation message, or undefined when it holds. */
export interface Invariant<D = unknown> {
  /** Shown in the report: `allReadyWithin(1500 ms)`. */
  readonly name: string;
  check(ctx: ScenarioContext<D>, phase: InvariantPhase): string | undefined | Promise<string | undefined>;
}

/** One action of the timeline, at `atMs` of scenario time. */
export interface TimelineStep<D = unknown> {
  readonly atMs: number;
  /** Shown in the report and the log: `blackhole the server`. */
  readonly label: string;
  readonly action: (ctx: ScenarioContext<D>) => void | Promise<void>;
  /**
   * Overrides how the faults this step starts are classified: `true` counts them as
   * harmful (deaths they cause are expected), `false` as benign (any death is false).
   * Default: classified by the fault itself (see docs/chaos-scenarios.md).
   */
  readonly harmful?: boolean;
}

/** The built-in request workload: `concurrency` loops, each sending one request, waiting for its outcome, pausing. */
export interface WorkloadOptions {
  /** Request loops running side by side. Default 2. */
  readonly concurrency?: number;
  /** Pause between two requests of one loop. Default 50. */
  readonly intervalMs?: number;
  /** Bound on acquiring a connection, and again on the reply. Default 1000. */
  readonly timeoutMs?: number;
}

/** What a scenario file declares; `defineScenario` validates it and fills defaults. */
export interface ScenarioDefinition<D = unknown> {
  /** Unique within a file; names the scenario in reports and `--scenario`. */
  readonly name: string;
  readonly description?: string;
  /** Length of the timeline in scenario time (virtual ms when simulated). */
  readonly durationMs: number;
  /** Pool size (min = max). Default 4. */
  readonly connections?: number;
  /** The clients' heartbeat. Default `{ intervalMs: 200, minTimeoutMs: 50, maxTimeoutMs: 400, suspectProbes: 3 }`. */
  readonly heartbeat?: HeartbeatInput;
  /** Reconnect backoff: options of `exponentialBackoff`, or any policy. Default `{ initialMs: 50, maxMs: 500 }`. */
  readonly backoff?: ExponentialBackoffOptions | BackoffPolicy;
  /** The request workload; `false` for none. Default `{}` (the defaults above). */
  readonly workload?: WorkloadOptions | false;
  /** Runs once the server, link and pool are up (all connections ready); its result is `ctx.data`. */
  readonly setup?: (ctx: ScenarioContext<undefined>) => D | Promise<D>;
  readonly timeline?: readonly TimelineStep<D>[];
  readonly invariants?: readonly Invariant<D>[];
  /** Bound on all connections becoming ready before the timeline starts. Default 5000. */
  readonly warmupTimeoutMs?: number;
  /** Period of continuous invariant checks. Default 50. */
  readonly checkEveryMs?: number;
  /**
   * How long after a harmful fault ends a death is still put down to it. Default: the
   * heartbeat's detection bound (`detectionBoundMs`).
   */
  readonly faultGraceMs?: number;
}

/** A validated scenario (made by `defineScenario`). */
export interface Scenario<D = unknown> {
  readonly name: string;
  readonly description: string | undefined;
  readonly durationMs: number;
  readonly connections: number;
  readonly heartbeat: ResolvedHeartbeat;
  readonly backoff: BackoffPolicy;
  readonly workload: Required<WorkloadOptions> | false;
  readonly setup: ((ctx: ScenarioContext<undefined>) => D | Promise<D>) | undefined;
  readonly timeline: readonly TimelineStep<D>[];
  readonly invariants: readonly Invariant<D>[];
  readonly warmupTimeoutMs: number;
  readonly checkEveryMs: number;
  readonly faultGraceMs: number;
}

/** A scenario's settings, as its actions and invariants see them (no timeline, setup or invariants). */
export type ScenarioSettings = Omit<Scenario, 'setup' | 'timeline' | 'invariants'>;

/** `ctx.server`: the wire server under test. Every request it executes is recorded by id. */
export interface ScenarioServer {
  /** `host:port` it listens on (the proxy's upstream on real sockets). */
  readonly address: string;
  readonly running: boolean;
  readonly frozen: boolean;
  /** Client connections open now. */
  readonly connections: number;
  /** Delay before each reply, on the scheduler (a slow server). Default 0. */
  responseDelayMs: number;
  /** Listens again on the same address (ends a kill or stop fault). */
  start(): Promise<void>;
  /** Graceful: GOAWAY, wait for clients to leave (bounded), stop listening. A fault until `start()`. */
  stop(): Promise<void>;
  /** Abrupt: every connection destroyed, listener closed, as a crashed process. A fault until `start()`. */
  kill(): Promise<void>;
  /** `kill()`, then `start()` after `downMs` of scenario time. */
  restart(downMs?: number): Promise<void>;
  /** Stops reading and answering (sockets stay open), as a hung process. A fault until `thaw()`. */
  freeze(): void;
  thaw(): void;
}

/** How a fault started through `ctx.link` or `ctx.server` is classified. */
export interface FaultOptions {
  /** Overrides the classification (see `TimelineStep.harmful`). */
  readonly harmful?: boolean;
}

/** `ctx.link`: a `ChaosLink` whose changes are recorded as faults. */
export interface ScenarioLink extends ChaosLink {
  addToxic(spec: ToxicSpec, options?: FaultOptions): ToxicJson;
  updateToxic(name: string, patch: ToxicPatch, options?: FaultOptions): ToxicJson;
}

/** A fault as the runner recorded it. Times are scenario time (ms since the timeline started). */
export interface FaultRecord {
  readonly id: number;
  /** `toxic timeout_upstream (timeout 0)`, `server killed`, `link disabled`… */
  readonly label: string;
  /** Whether deaths it causes are expected, and why (`latency 150 ms below the 400 ms threshold`). */
  readonly harmful: boolean;
  readonly reason: string;
  readonly startedAt: number;
  /** Undefined while active. Instant faults (a cut) end when they start. */
  readonly endedAt: number | undefined;
}

/** A connection that died after being up (ready, probing or suspect). */
export interface DeathRecord {
  readonly connection: string;
  readonly at: number;
  readonly from: string;
  readonly reason: string;
  /** The fault it is put down to; undefined for a false death. */
  readonly fault: string | undefined;
}

/** Time from a harmful fault reaching a connection to that connection's death. */
export interface DetectionSample {
  readonly connection: string;
  readonly fault: string;
  readonly latencyMs: number;
}

/** A span during which at least one harmful fault was active, and how long recovery took after it. */
export interface RecoveryEpisode {
  readonly faults: readonly string[];
  readonly startedAt: number;
  readonly endedAt: number | undefined;
  /** First time every connection was up again after `endedAt`. */
  readonly recoveredAt: number | undefined;
  /** A new harmful fault started before recovery. */
  readonly interrupted: boolean;
}

/** What the workload and the server saw. */
export interface RequestCounts {
  readonly issued: number;
  /** Acknowledged: the reply arrived and carried the request's id. */
  readonly ok: number;
  /** Rejected on the client (timeouts, lost connections…): allowed under faults. */
  readonly failed: number;
  /** Acknowledged but never executed by the server. */
  readonly lost: number;
  /** Executed more than once by the server. */
  readonly duplicated: number;
  /** Acknowledged with a reply that carried another request's id. */
  readonly mismatched: number;
  /** Still in flight (only before the run settled). */
  readonly inFlight: number;
  /** Failures by error code (`WW_REQUEST_TIMEOUT`, `WW_POOL_TIMEOUT`…). */
  readonly failuresByCode: Readonly<Record<string, number>>;
}

/** The live state of one pool connection, from the runtime's `state` events. */
export interface ConnectionObservation {
  readonly id: string;
  readonly state: string;
  readonly since: number;
  /** Times it was (re)started. */
  readonly incarnation: number;
}

/** Everything the runner records, for invariants and the report. */
export interface ScenarioObservations {
  /** Scenario time now. */
  now(): number;
  readonly expectedConnections: number;
  connections(): ConnectionObservation[];
  /** Every expected connection is `ready` or `probing`. */
  allUp(): boolean;
  faults(): readonly FaultRecord[];
  activeFaults(): readonly FaultRecord[];
  deaths(): readonly DeathRecord[];
  falseDeaths(): readonly DeathRecord[];
  falseSuspicions(): number;
  restarts(): number;
  detections(): readonly DetectionSample[];
  episodes(): readonly RecoveryEpisode[];
  requests(): RequestCounts;
  /** Ids acknowledged but never executed, and ids executed more than once (first few). */
  lostIds(limit?: number): number[];
  duplicatedIds(limit?: number): number[];
  /**
   * Connections that were up when a harmful fault started and are still up, in the
   * same incarnation, `afterMs` later (the fault still active): undetected failures.
   */
  undetected(afterMs: number): { fault: string; connection: string; sinceMs: number }[];
}

/** What timeline actions, `setup` and invariants receive. */
export interface ScenarioContext<D = unknown> {
  readonly scenario: ScenarioSettings;
  readonly mode: RunMode;
  readonly seed: number;
  readonly runtime: Runtime;
  /** The runtime's scheduler: `asyncScheduler` on real sockets, a `VirtualTimeScheduler` when simulated. */
  readonly scheduler: SchedulerLike;
  /** Seeded, independent of the runtime's and the network's draws. */
  readonly random: () => number;
  readonly server: ScenarioServer;
  readonly link: ScenarioLink;
  /** The pool under test (`connections` wire connections to the server, through the link). */
  readonly pool: Pool<WireSession>;
  /** Notes a line in the report, stamped with scenario time. */
  log(message: string): void;
  /** Scenario time: ms since the timeline started. */
  now(): number;
  /** Waits `ms` of scenario time (virtual when simulated). */
  sleep(ms: number): Promise<void>;
  /** What `setup` returned. */
  readonly data: D;
  readonly observed: ScenarioObservations;
  /**
   * What is still running that the run started: scheduled actions, sockets, listeners,
   * timers, the runtime. Empty after a clean teardown (the `nothingLeftRunning` check).
   */
  leftovers(): Promise<string[]>;
}
