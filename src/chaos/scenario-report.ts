/**
 * The structured result of a scenario run: plain data, the same for the same seed on
 * the simulated network — except `wall`, which holds every wall-clock figure (so a test
 * comparing two runs drops that one field).
 *
 * Percentiles are nearest-rank (`p99` of 4 samples is the largest), computed over
 * whole milliseconds: a report is read by people, and exact ranks keep it reproducible.
 */
import type { FaultRecord, PhaseOutcome, RecoveryEpisode, RequestCounts, RunMode, ScenarioObservations, InvariantPhase } from './scenario-types.js';

/** An invariant that broke: the first time it did. */
export interface Violation {
  /** The invariant's name, or `setup`, `timeline`, `runner`, `teardown` for failures of the run itself. */
  readonly invariant: string;
  readonly phase: InvariantPhase;
  /** Scenario time of the check that failed. */
  readonly atMs: number;
  readonly message: string;
}

export interface LatencySummary {
  readonly samples: number;
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
  readonly maxMs: number | undefined;
}

export interface ScenarioReport {
  readonly scenario: string;
  readonly description: string | undefined;
  readonly mode: RunMode;
  readonly seed: number;
  /** Scenario time covered by the timeline. */
  readonly durationMs: number;
  readonly connections: number;
  readonly faults: readonly FaultRecord[];
  /** Time from a harmful fault reaching a connection to its death, across connections. */
  readonly detection: LatencySummary;
  /** Time from the end of each harmful fault episode to every connection up again. */
  readonly recovery: LatencySummary & { readonly episodes: readonly RecoveryEpisode[] };
  readonly requests: RequestCounts;
  /** The workload's outcomes per phase of the timeline (the requests each phase issued). */
  readonly phases: readonly PhaseOutcome[];
  readonly deaths: number;
  readonly falseDeaths: number;
  readonly falseSuspicions: number;
  readonly restarts: number;
  /** Names of the invariants checked. */
  readonly invariants: readonly string[];
  readonly violations: readonly Violation[];
  readonly log: readonly { readonly atMs: number; readonly message: string }[];
  readonly passed: boolean;
  /** Wall-clock figures: how long the run took and how much faster than real time the timeline ran. */
  readonly wall: { readonly totalMs: number; readonly timelineMs: number; readonly speedup: number };
}

/** Nearest-rank percentile of sorted samples. */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1];
}

export function summarize(samples: readonly number[]): LatencySummary {
  const sorted = samples.map((x) => Math.round(x)).sort((a, b) => a - b);
  return { samples: sorted.length, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), maxMs: sorted.at(-1) };
}

export interface ReportInput {
  readonly scenario: { readonly name: string; readonly description: string | undefined; readonly durationMs: number; readonly connections: number };
  readonly mode: RunMode;
  readonly seed: number;
  readonly observed: ScenarioObservations;
  readonly invariants: readonly string[];
  readonly violations: readonly Violation[];
  readonly log: readonly { readonly atMs: number; readonly message: string }[];
  readonly wall: ScenarioReport['wall'];
}

/** @internal */
export function buildReport(input: ReportInput): ScenarioReport {
  const { observed } = input;
  const episodes = observed.episodes();
  const recoveries = episodes.flatMap((e) => (e.endedAt !== undefined && e.recoveredAt !== undefined ? [e.recoveredAt - e.endedAt] : []));
  return {
    scenario: input.scenario.name,
    description: input.scenario.description,
    mode: input.mode,
    seed: input.seed,
    durationMs: input.scenario.durationMs,
    connections: input.scenario.connections,
    faults: observed.faults(),
    detection: summarize(observed.detections().map((s) => s.latencyMs)),
    recovery: { ...summarize(recoveries), episodes },
    requests: observed.requests(),
    phases: observed.phases(),
    deaths: observed.deaths().length,
    falseDeaths: observed.falseDeaths().length,
    falseSuspicions: observed.falseSuspicions(),
    restarts: observed.restarts(),
    invariants: input.invariants,
    violations: input.violations,
    log: input.log,
    passed: input.violations.length === 0,
    wall: input.wall,
  };
}
