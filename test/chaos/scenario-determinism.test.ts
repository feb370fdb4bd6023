/**
 * The simulated network is a pure function of the seed: the same seed gives the same
 * report (every field but the wall-clock ones), a different seed a different run, and
 * virtual time runs the timeline at least 100× faster than real time.
 */
import { describe, expect, it } from 'vitest';
import blackholed from '../../examples/chaos/blackholed-server.js';
import storm from '../../examples/chaos/server-restart-storm.js';
import { runScenario } from '../../src/chaos/run-scenario.js';
import { deterministicPart, expectPassed, handleCounts } from './scenario-helpers.js';

describe('simulated runs replay from their seed', () => {
  it('gives the identical report for the same seed, twice', async () => {
    for (const scenario of [storm, blackholed]) {
      const a = await runScenario(scenario, { mode: 'simulated', seed: 4242 });
      const b = await runScenario(scenario, { mode: 'simulated', seed: 4242 });
      expectPassed(a);
      expect(deterministicPart(b.report)).toEqual(deterministicPart(a.report));
      expect(a.report.seed).toBe(4242);
      expect(a.replay).toBe(`runScenario(${scenario.name}, { mode: 'simulated', seed: 4242 })`);
    }
  });

  it('gives different runs for different seeds (jitter is seeded, not fixed)', async () => {
    const reports = await Promise.all([1, 2, 3, 4].map(async (seed) =>
      JSON.stringify(deterministicPart({ ...(await runScenario(storm, { mode: 'simulated', seed })).report, seed: 0 }))));
    expect(new Set(reports).size).toBeGreaterThan(1);
  });

  it('runs the timeline at least 100× faster than real time, and leaves no handle behind', async () => {
    for (let seed = 1; seed <= 5; seed++) await runScenario(storm, { mode: 'simulated', seed }); // warm the JIT
    const before = handleCounts();
    const speedups: number[] = [];
    for (let seed = 10; seed < 20; seed++) {
      const { report } = await runScenario(storm, { mode: 'simulated', seed });
      const measured = report.durationMs / report.wall.timelineMs;
      expect(Math.abs(report.wall.speedup - measured) / measured).toBeLessThan(0.02);
      speedups.push(report.wall.speedup);
    }
    // Best of ten: on a shared 2-core machine other processes steal wall time from some
    // runs; the fastest one shows what the simulation itself costs.
    expect(Math.max(...speedups)).toBeGreaterThanOrEqual(100);
    const after = handleCounts();
    for (const kind of Object.keys(before)) expect(after[kind]).toBeLessThanOrEqual(before[kind]!);
  });
});
