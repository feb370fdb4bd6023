/**
 * Shared checks for the scenario tests: run a scenario on real sockets or on many
 * simulated seeds, strip the wall-clock fields of a report, and count this process's
 * handles so a test can assert that a run left nothing behind.
 */
import { expect } from 'vitest';
import { formatReport } from '../../src/chaos/format-report.js';
import { runScenario, type ScenarioResult } from '../../src/chaos/run-scenario.js';
import type { ScenarioReport } from '../../src/chaos/scenario-report.js';
import type { Scenario } from '../../src/chaos/scenario-types.js';

/** Sockets, listeners and timers of this process now. */
export function handleCounts(): Record<string, number> {
  const counts: Record<string, number> = { TCPSocketWrap: 0, TCPServerWrap: 0, Timeout: 0 };
  for (const kind of process.getActiveResourcesInfo()) if (kind in counts) counts[kind]!++;
  return counts;
}

/** The report without its wall-clock figures: what must be identical for one seed. */
export function deterministicPart(report: ScenarioReport): Omit<ScenarioReport, 'wall'> {
  const { wall: _wall, ...rest } = report;
  return rest;
}

/** Fails with the printed report, so a red test shows what happened. */
export function expectPassed(result: ScenarioResult): void {
  if (!result.passed) expect.fail(`scenario failed:\n${formatReport(result.report, result.replay)}`);
}

/** Runs `count` simulated seeds from `first`; every run must pass. Returns the results. */
export async function expectSeedsPass(scenario: Scenario<never> | Scenario, first: number, count: number): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  for (let seed = first; seed < first + count; seed++) {
    const result = await runScenario(scenario as Scenario, { mode: 'simulated', seed });
    expectPassed(result);
    results.push(result);
  }
  return results;
}

/** Runs on real sockets, checks it passed and that the process's handles are back to where they were. */
export async function expectRealRunPasses(scenario: Scenario): Promise<ScenarioResult> {
  const before = handleCounts();
  const result = await runScenario(scenario, { mode: 'real', seed: 1 });
  expectPassed(result);
  expect(result.report.mode).toBe('real');
  expect(result.replay).toBeUndefined();
  const after = handleCounts();
  expect(after.TCPSocketWrap).toBeLessThanOrEqual(before.TCPSocketWrap!);
  expect(after.TCPServerWrap).toBeLessThanOrEqual(before.TCPServerWrap!);
  expect(after.Timeout).toBeLessThanOrEqual(before.Timeout!);
  return result;
}
