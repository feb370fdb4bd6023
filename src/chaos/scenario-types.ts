/**
 * The types of a chaos scenario: what a scenario file declares (`ScenarioDefinition`),
 * what its timeline actions and invariants receive (`ScenarioContext`), and what the
 * runner observed (`ScenarioObservations`).
 *
 * One context for both run modes: on real sockets `server` is an in-process server
 * behind a `ChaosProxy`; on the simulated network it is the same server accepting
 * in-memory streams. `link`, `pool`, `scheduler` and `random` mean the same in both, so
 * a scenario never asks which mode it runs in (it can: `ctx.mode`).
 *
 * By default the system under test is the runner's own: a wire server answering every
 * request with its payload, and a pool of `wire()` connections. `target` replaces any
 * part of it with the user's (docs/chaos-scenarios.md, "Testing your own system"):
 *
 *   target.handler / target.server ─▶ in-process, both modes, ctx.server controls it
 *   target.endpoints ───────────────▶ already running elsewhere, real sockets only
 *   target.protocol + target.pool / target.createPool ─▶ the clients
 *   target.request ─────────────────▶ what the workload sends
 *
 * `S` is the session type the pool hands out (`WireSession` unless `target` says otherwise).
 */
import type { Duplex } from 'node:stream';
import type { SchedulerLike } from 'rxjs';
import type { ResolvedHeartbeat } from '../actors/connection-input.js';
import type { HeartbeatInput } from '../actors/connection-types.js';
import type { CreatePoolOptions } from '../pool/create-pool.js';
import type { Pool } from '../pool/pool.js';
import type { Runtime } from '../runtime.js';
import type { BackoffPolicy, ExponentialBackoffOptions } from '../supervisor/backoff.js';
import type { AnyProtocol, Endpoint, Transport } from '../transport/types.js';
import type { WireRequestContext } from '../transport/wire-server-options.js';
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
export interface Invariant<D = unknown, S = WireSession> {
  /** Shown in the report: `allReadyWithin(1500 ms)`. */
  readonly name: string;
  check(ctx: ScenarioContext<D, S>, phase: InvariantPhase): string | undefined | Promise<string | undefined>;
}

/** One action of the timeline, at `atMs` of scenario time. */
export interface TimelineStep<D = unknown, S = WireSession> {
  readonly atMs: number;
  /** Shown in the report and the log: `blackhole the server`. */
  readonly label: string;
  readonly action: (ctx: ScenarioContext<D, S>) => void | Promise<void>;
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

/**
 * A server the runner hosts in-process and controls through `ctx.server`: anything that
 * serves a connection handed to it as a `Duplex` (a socket on real sockets, an in-memory
 * stream when simulated). A `WireServer` is one; a `net.Server` or `http.Server` becomes
 * one with `{ accept: (stream) => server.emit('connection', stream) }`.
 */
export interface ScenarioTargetServer {
  accept(stream: Duplex): void;
  /** Called when `ctx.server` stops or kills it (graceful for `stop()`); its streams are destroyed after. */
  close?(options?: { graceful?: boolean }): void | Promise<void>;
  /** Stop reading and answering; without it, `ctx.server.freeze()` pauses the server's streams. */
  freeze?(): void;
  thaw?(): void;
}

/** What a `target.server` factory receives. */
export interface ScenarioServerEnv {
  /** The scenario's scheduler: give it to the server's timers so a simulated run stays exact. */
  readonly scheduler: SchedulerLike;
  /**
   * Tells the runner the server executed request `id` (the workload's id, which your
   * `target.request` sends). Called before replying, it lets `noLostOrDuplicatedRequests`
   * check your server; never called, that invariant reports it cannot check.
   */
  executed(id: number): void;
}

/** What `target.createPool` receives: build the pool on these, or the runner cannot watch or fault it. */
export interface ScenarioPoolEnv {
  readonly runtime: Runtime;
  /** Where to connect: the link's side of every endpoint (a chaos proxy, or a simulated address). */
  readonly endpoints: readonly Endpoint[];
  /** The transport to dial with: the simulated network's, or undefined (tcp) on real sockets. */
  readonly transport: Transport | undefined;
  readonly heartbeat: ResolvedHeartbeat;
  readonly backoff: BackoffPolicy;
  /** The scenario's `connections`. */
  readonly connections: number;
}

/** One request of the workload: its id (unique in the run) and the signal that cancels it. */
export interface WorkloadRequest {
  readonly id: number;
  readonly signal: AbortSignal;
}

/** Pool options a scenario may set besides the ones it owns (endpoints, protocol, transport, size, heartbeat, backoff). */
export type ScenarioPoolOptions = Omit<
  CreatePoolOptions, 'id' | 'endpoints' | 'protocol' | 'transport' | 'min' | 'max' | 'heartbeat' | 'backoff'
>;

/**
 * The system under test, when it is not the runner's echo server and `wire()` pool.
 * At most one of `handler`, `server` and `endpoints`; at most one of `pool` and `createPool`.
 *
 * @example
 * // Your Redis-speaking service on 127.0.0.1:6379, through a chaos proxy (real sockets).
 * target: {
 *   endpoints: [{ host: '127.0.0.1', port: 6379 }],
 *   protocol: resp({ password }),
 *   request: (conn, { id, signal }) => conn.command(['SET', `k${id}`, String(id)], { signal }),
 * }
 */
export interface ScenarioTarget<S = WireSession> {
  /** Your request handler, run by the runner's wire server (which `ctx.server` controls). */
  readonly handler?: (payload: unknown, ctx: WireRequestContext) => unknown;
  /** Your server, hosted in-process (both modes); called again for each `ctx.server.start()`. */
  readonly server?: (env: ScenarioServerEnv) => ScenarioTargetServer;
  /** Your system, already listening (real sockets only): one chaos proxy in front of each. */
  readonly endpoints?: readonly Endpoint[];
  /**
   * The clients' protocol with your options. Default `wire({ requestTimeoutMs: workload.timeoutMs })`.
   * A connect-mode protocol (`custom({ connect })`, a library that dials by itself) runs on
   * real sockets only: it dials the endpoint it is given, the chaos proxy's.
   */
  readonly protocol?: AnyProtocol<S>;
  /** More options for the runner's pool (`acquireTimeoutMs`, `validateAfterIdleMs`…). */
  readonly pool?: ScenarioPoolOptions;
  /** Your own pool, built on `env.runtime` towards `env.endpoints` with `env.transport`; its `min` connections are watched. */
  readonly createPool?: (env: ScenarioPoolEnv) => Pool<S>;
  /**
   * What each workload request does on a leased connection. Default (wire): sends `{ id }`
   * and checks the reply carries the same id. Required with `protocol`.
   */
  readonly request?: (conn: S, request: WorkloadRequest) => unknown;
}

/** What a scenario file declares; `defineScenario` validates it and fills defaults. */
export interface ScenarioDefinition<D = unknown, S = WireSession> {
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
  /** The system under test, when it is yours (see `ScenarioTarget`). Default: the runner's echo wire server and a `wire()` pool. */
  readonly target?: ScenarioTarget<S>;
  /** Runs once the server, link and pool are up (all connections ready); its result is `ctx.data`. */
  readonly setup?: (ctx: ScenarioContext<undefined, S>) => D | Promise<D>;
  readonly timeline?: readonly TimelineStep<D, S>[];
  /** Built-in invariants read only `ctx.observed` and fit any session type; `any` lets them sit beside yours. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly invariants?: readonly Invariant<D, any>[];
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
export interface Scenario<D = unknown, S = WireSession> {
  readonly name: string;
  readonly description: string | undefined;
  readonly durationMs: number;
  readonly connections: number;
  readonly heartbeat: ResolvedHeartbeat;
  readonly backoff: BackoffPolicy;
  readonly workload: Required<WorkloadOptions> | false;
  readonly target: ScenarioTarget<S> | undefined;
  readonly setup: ((ctx: ScenarioContext<undefined, S>) => D | Promise<D>) | undefined;
  readonly timeline: readonly TimelineStep<D, S>[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly invariants: readonly Invariant<D, any>[];
  readonly warmupTimeoutMs: number;
  readonly checkEveryMs: number;
  readonly faultGraceMs: number;
  /**
   * The heartbeat's detection bound (`detectionBoundMs(heartbeat, workload.timeoutMs)`):
   * a harmful fault lasting longer must kill a connection (`detectedWithin`).
   */
  readonly detectionBoundMs: number;
}

/** A scenario's settings, as its actions and invariants see them (no timeline, setup, invariants or target). */
export type ScenarioSettings = Omit<Scenario, 'setup' | 'timeline' | 'invariants' | 'target'>;

/**
 * `ctx.server`: the server under test, hosted in-process — the runner's wire server
 * (echo, or `target.handler`) or `target.server`. Every request id it executes is
 * recorded. With `target.endpoints` (a system running elsewhere) there is nothing to
 * host: `running` is true and every control throws (fault the link instead).
 */
export interface ScenarioServer {
  /** `host:port` it listens on (the proxy's upstream on real sockets); the endpoints, for an external target. */
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
  /** First time a connection was up while the episode lasted (its start, if one was up then); undefined if none ever was. */
  readonly reachedAt: number | undefined;
  /** Deaths while a fault of the episode was active (the grace period after it excluded). */
  readonly detections: number;
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
  /**
   * Whether the server side reported executions (the runner's wire server always does;
   * `target.server` when it calls `executed(id)`): without them, `lost` and `duplicated`
   * cannot be known and stay 0.
   */
  readonly executionsObserved: boolean;
}

/**
 * The workload's outcomes for the requests issued during one phase of the timeline: from
 * the start (`before the first step`) or a step (its label) to the next step or the end.
 */
export interface PhaseOutcome {
  /** `before the first step`, or the label of the step that began it. */
  readonly label: string;
  readonly startedAt: number;
  /** Undefined for the phase running now. */
  readonly endedAt: number | undefined;
  readonly issued: number;
  readonly ok: number;
  readonly failed: number;
  /** Failures that were timeouts (`WW_REQUEST_TIMEOUT`, `WW_POOL_TIMEOUT`). */
  readonly timedOut: number;
  readonly failuresByCode: Readonly<Record<string, number>>;
  /** Issued, no outcome yet. */
  readonly inFlight: number;
  /** Time from issue to acknowledgement of the `ok` requests (nearest-rank percentiles, whole ms). */
  readonly latency: { readonly samples: number; readonly p50Ms: number | undefined; readonly p99Ms: number | undefined; readonly maxMs: number | undefined };
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
  /** Totals over the run. */
  requests(): RequestCounts;
  /** The same outcomes per phase of the timeline (requests counted in the phase that issued them). */
  phases(): readonly PhaseOutcome[];
  /**
   * The detection bound of the pool's heartbeat (`detectionBoundMs`): a harmful fault
   * lasting longer while a connection was up must kill one.
   */
  readonly detectionBoundMs: number;
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
export interface ScenarioContext<D = unknown, S = WireSession> {
  readonly scenario: ScenarioSettings;
  readonly mode: RunMode;
  readonly seed: number;
  readonly runtime: Runtime;
  /** The runtime's scheduler: `asyncScheduler` on real sockets, a `SimulatedScheduler` (virtual time) when simulated. */
  readonly scheduler: SchedulerLike;
  /** Seeded, independent of the runtime's and the network's draws. */
  readonly random: () => number;
  readonly server: ScenarioServer;
  /** The faults between the pool and the server: every endpoint's link at once. */
  readonly link: ScenarioLink;
  /** One link per endpoint, in `target.endpoints` order (one for an in-process server): fault one endpoint alone. */
  readonly links: readonly ScenarioLink[];
  /** The pool under test (`connections` connections to the server, through the link). */
  readonly pool: Pool<S>;
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
