/**
 * Seed sweeps on worker threads (issue 16): `chaos run --simulated --seeds k` runs its
 * seeds on a Piscina pool. Outcomes come back in seed order, each report is the one a
 * serial run gives for its seed, a failing seed is printed with its replay command, and
 * a run that cannot happen on its worker is a failure in its place, not a hang.
 */
import { describe, expect, it } from 'vitest';
import slowServer from '../../examples/chaos/slow-server.js';
import { runChaosCommand } from '../../src/chaos/chaos-command.js';
import { runScenario } from '../../src/chaos/run-scenario.js';
import { sweepSeeds, type SweepResult } from '../../src/chaos/seed-sweep.js';
import { deterministicPart } from './scenario-helpers.js';

const FIXTURES = 'test/chaos/scenario-fixtures';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t) }, out: () => out.join(''), err: () => err.join('') };
}

/** A printed report without its wall-clock line. */
const withoutWall = (text: string) => text.split('\n').filter((line) => !line.startsWith('  timeline ')).join('\n');

describe('seed sweeps on worker threads', () => {
  it('delivers outcomes in task order, each the report a serial run gives for its seed', async () => {
    const seeds = [11, 12, 13, 14, 15];
    const tasks = seeds.map((seed) => ({ file: 'examples/chaos/slow-server.ts', scenario: 'slow-server', namedInFile: false, seed }));
    const results: SweepResult[] = [];
    await sweepSeeds(tasks, 2, (r) => results.push(r));
    expect(results.map((r) => r.task.seed)).toEqual(seeds);
    for (const r of results) {
      if ('error' in r) throw r.error;
      const serial = await runScenario(slowServer, { mode: 'simulated', seed: r.task.seed, file: 'examples/chaos/slow-server.ts' });
      expect(deterministicPart(r.outcome.report)).toEqual(deterministicPart(serial.report));
      expect(r.outcome.replay).toBe(`npx wirewarden chaos run examples/chaos/slow-server.ts --simulated --seed ${r.task.seed}`);
    }
  });

  it('holds back a run that finished early until every run before it has been delivered', async () => {
    const long = { file: 'examples/chaos/flapping-network.ts', scenario: 'flapping-network', namedInFile: false, seed: 1 };
    const short = (seed: number) => ({ file: `${FIXTURES}/two-scenarios.ts`, scenario: 'calm', namedInFile: true, seed });
    const finished: string[] = [];
    const delivered: string[] = [];
    const tasks = [long, short(1), short(2), short(3), short(4)];
    await sweepSeeds(tasks, 2, (r) => {
      delivered.push(`${r.task.scenario}#${r.task.seed}`);
      if ('outcome' in r) finished.push(String(r.outcome.report.wall.totalMs));
    });
    expect(delivered).toEqual(['flapping-network#1', 'calm#1', 'calm#2', 'calm#3', 'calm#4']);
    expect(finished).toHaveLength(5);
  });

  it('prints what a serial sweep prints, in the same order (wall-clock figures aside)', async () => {
    const argv = ['run', `${FIXTURES}/two-scenarios.ts`, '--simulated', '--seed', '5', '--seeds', '3'];
    const serial = capture();
    const parallel = capture();
    expect(await runChaosCommand([...argv, '--workers', '1'], serial.io)).toBe(1);
    expect(await runChaosCommand([...argv, '--workers', '2'], parallel.io)).toBe(1);
    expect(withoutWall(parallel.out())).toBe(withoutWall(serial.out()));
    expect(parallel.err()).toBe(serial.err());
    expect(parallel.out()).toContain('6 runs: 3 passed, 3 failed');
    // Each failing seed, with the command that replays it alone.
    for (const seed of [5, 6, 7]) {
      expect(parallel.err()).toContain(`FAILED too-tight seed=${seed}: allReadyWithin(1 ms)`);
      expect(parallel.err()).toContain(`  replay: npx wirewarden chaos run ${FIXTURES}/two-scenarios.ts --simulated --seed ${seed} --scenario "too-tight"\n`);
    }
  });

  it('a run its worker cannot do is a failure in its place, and the sweep goes on', async () => {
    const tasks = [
      { file: 'examples/chaos/slow-server.ts', scenario: 'slow-server', namedInFile: false, seed: 1 },
      { file: 'examples/chaos/slow-server.ts', scenario: 'gone', namedInFile: true, seed: 2 },
      { file: 'examples/chaos/slow-server.ts', scenario: 'slow-server', namedInFile: false, seed: 3 },
    ];
    const results: SweepResult[] = [];
    await sweepSeeds(tasks, 2, (r) => results.push(r));
    expect(results.map((r) => ('error' in r ? `error ${r.task.seed}` : `ok ${r.task.seed}`))).toEqual(['ok 1', 'error 2', 'ok 3']);
    expect((results[1] as { error: Error }).error.message).toContain('no longer holds a scenario named "gone"');
  });

  it('refuses a bad --workers', async () => {
    const c = capture();
    expect(await runChaosCommand(['run', 'x.ts', '--workers', '0'], c.io)).toBe(2);
    expect(c.err()).toContain('wirewarden chaos: --workers must be an integer in [1, 1024], got "0"');
  });
});
