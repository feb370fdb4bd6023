/**
 * The seed sweep's worker (loaded by Piscina, one module instance per thread): runs one
 * simulated scenario run per task and sends back what the command prints.
 *
 *   { file, scenario, seed } ──loadScenarios(file), once per thread──▶ runScenario(simulated, seed)
 *                            ◀── { passed, seed, report, replay, violations } (plain data)
 *
 * Trade-offs:
 * - The worker loads the scenario file itself (a scenario holds functions, which cannot
 *   cross threads), by the same path the command was given, so its replay command is the
 *   serial run's. A `.ts` file loads as it does on the main thread (tsx, when the main
 *   thread could).
 * - A run is a pure function of its seed (same file, same code): which thread runs it,
 *   and what ran on that thread before, changes nothing in its report but `wall`.
 * - `ScenarioResult.error` is not sent: an Error loses its class and `code` on the way,
 *   and the command prints the first violation, which it rebuilds from `violations`.
 */
import { loadScenarios } from './load-scenarios.js';
import { runScenario } from './run-scenario.js';
import type { ScenarioReport, Violation } from './scenario-report.js';
import type { Scenario } from './scenario-types.js';

/** One run: which scenario of which file, with which seed. */
export interface SeedTask {
  /** The file as the command was given it (it names the replay command too). */
  readonly file: string;
  /** The scenario's name (unique within its file). */
  readonly scenario: string;
  readonly namedInFile: boolean;
  readonly seed: number;
}

/** What a run sends back: the parts of a `ScenarioResult` the command prints. */
export interface SeedOutcome {
  readonly passed: boolean;
  readonly seed: number;
  readonly report: ScenarioReport;
  readonly replay: string | undefined;
  readonly violations: readonly Violation[];
}

const files = new Map<string, Promise<Scenario[] | string>>();

/** Runs one task (Piscina's `name: 'runSeed'`). Rejects if the file no longer loads. */
export async function runSeed(task: SeedTask): Promise<SeedOutcome> {
  let loading = files.get(task.file);
  if (loading === undefined) files.set(task.file, (loading = loadScenarios(task.file)));
  const scenarios = await loading;
  if (typeof scenarios === 'string') throw new Error(scenarios);
  const scenario = scenarios.find((s) => s.name === task.scenario);
  if (scenario === undefined) throw new Error(`${task.file} no longer holds a scenario named ${JSON.stringify(task.scenario)}`);
  const result = await runScenario(scenario, { mode: 'simulated', seed: task.seed, file: task.file, namedInFile: task.namedInFile });
  return { passed: result.passed, seed: result.seed, report: result.report, replay: result.replay, violations: result.violations };
}
