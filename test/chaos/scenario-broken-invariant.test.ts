/**
 * A broken invariant fails the run with a clear message: which invariant, when, why,
 * the seed, and the command that replays it — through the API (a result, never a throw)
 * and through `wirewarden chaos run` (exit status 1).
 */
import { describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors.js';
import { runChaosCommand } from '../../src/chaos/chaos-command.js';
import { defineScenario } from '../../src/chaos/define-scenario.js';
import { formatReport } from '../../src/chaos/format-report.js';
import { allReadyWithin, everyRequestSucceeds, noFalseDeath, nothingLeftRunning } from '../../src/chaos/invariants.js';
import { runScenario } from '../../src/chaos/run-scenario.js';
import alwaysBroken from './scenario-fixtures/always-broken.js';
import { deterministicPart } from './scenario-helpers.js';

const FIXTURES = 'test/chaos/scenario-fixtures';

function captureIo() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t) }, out, err };
}

describe('a broken invariant', () => {
  it('fails the run with the invariant, the time, the message, the seed and a replay command', async () => {
    const result = await runScenario(alwaysBroken, { mode: 'simulated', seed: 77, file: `${FIXTURES}/always-broken.ts` });
    expect(result.passed).toBe(false);
    expect(result.violations).toEqual([
      { invariant: 'never holds', phase: 'final', atMs: expect.any(Number), message: expect.stringMatching(/^broken on purpose after \d+ requests$/) },
    ]);
    expect(result.replay).toBe(`npx wirewarden chaos run ${FIXTURES}/always-broken.ts --simulated --seed 77`);
    expect(hasCode(result.error, 'WW_INVARIANT_BROKEN')).toBe(true);
    expect(result.error!.message).toContain('chaos scenario "always-broken": never holds broke at');
    expect(result.error!.message).toContain(`seed=77; replay: npx wirewarden chaos run ${FIXTURES}/always-broken.ts --simulated --seed 77`);
    const text = formatReport(result.report, result.replay);
    expect(text).toContain('✗ never holds — final check at');
    expect(text).toContain('FAILED: 1 invariant broke (seed=77)');
    expect(text).toContain(`replay: ${result.replay}`);
  });

  it('a bound that is too tight breaks during the run, and the replayed seed breaks identically', async () => {
    const tight = defineScenario({
      name: 'tight-recovery',
      durationMs: 1500,
      connections: 3,
      timeline: [{ atMs: 300, label: 'crash', action: (ctx) => ctx.server.restart(50) }],
      invariants: [allReadyWithin(5), nothingLeftRunning()],
    });
    const first = await runScenario(tight, { mode: 'simulated', seed: 5 });
    expect(first.passed).toBe(false);
    const v = first.violations[0]!;
    expect(v.invariant).toBe('allReadyWithin(5 ms)');
    expect(v.phase).toBe('continuous');
    expect(v.message).toMatch(/^connections (not all up \d+ ms|took \d+ ms to be all up) after server killed ended at 350 ms/);
    expect(first.violations.map((x) => x.invariant)).toEqual(['allReadyWithin(5 ms)']); // teardown was clean
    const replay = await runScenario(tight, { mode: 'simulated', seed: 5 });
    expect(deterministicPart(replay.report)).toEqual(deterministicPart(first.report));
  });

  it('a death under a fault declared benign is a false death', async () => {
    const scenario = defineScenario({
      name: 'mislabelled-blackhole',
      durationMs: 5000,
      connections: 2,
      timeline: [{
        atMs: 200, label: 'blackhole called benign', harmful: false,
        action: (ctx) => void ctx.link.addToxic({ type: 'timeout', stream: 'downstream', attributes: { timeout: 0 } }),
      }],
      invariants: [noFalseDeath()],
    });
    const result = await runScenario(scenario, { mode: 'simulated', seed: 3 });
    expect(result.passed).toBe(false);
    expect(result.violations[0]!.message).toMatch(
      /^conn-\d died \(heartbeat-timeout, from suspect\) at \d+ ms while only benign faults were active: toxic timeout_downstream \(timeout downstream: timeout 0\) — classified benign by the scenario/,
    );
    expect(result.report.faults).toEqual([expect.objectContaining({ harmful: false, startedAt: 200 })]);
  });

  it('a step that throws is reported as a timeline violation, and the run still tears down', async () => {
    const scenario = defineScenario({
      name: 'bad-step',
      durationMs: 400,
      connections: 1,
      timeline: [{ atMs: 100, label: 'typo in a toxic', action: (ctx) => void ctx.link.addToxic({ type: 'latency', attributes: { latecy: 5 } }) }],
      invariants: [nothingLeftRunning()],
    });
    const result = await runScenario(scenario, { mode: 'simulated', seed: 1 });
    expect(result.violations).toEqual([
      expect.objectContaining({ invariant: 'timeline', message: expect.stringContaining('step "typo in a toxic" at 100 ms failed: toxic.attributes.latecy is not a known option') }),
    ]);
  });

  it('makes `wirewarden chaos run` exit 1 and print the seed and the replay command', async () => {
    const { io, out, err } = captureIo();
    const file = `${FIXTURES}/always-broken.ts`;
    expect(await runChaosCommand(['run', file, '--simulated', '--seed', '9'], io)).toBe(1);
    expect(out.join('')).toContain('━━ always-broken · simulated network · seed 9 ━━');
    expect(err.join('')).toContain('FAILED always-broken seed=9: never holds at');
    expect(err.join('')).toContain(`replay: npx wirewarden chaos run ${file} --simulated --seed 9`);
  });

  it('names the scenario in the replay command when the file holds several', async () => {
    const { io, out, err } = captureIo();
    const file = `${FIXTURES}/two-scenarios.ts`;
    expect(await runChaosCommand(['run', file, '--simulated', '--seed', '3'], io)).toBe(1);
    expect(out.join('')).toContain('2 runs: 1 passed, 1 failed');
    expect(err.join('')).toContain(`replay: npx wirewarden chaos run ${file} --simulated --seed 3 --scenario "too-tight"`);
    const again = captureIo();
    expect(await runChaosCommand(['run', file, '--simulated', '--seed', '3', '--scenario', 'calm'], again.io)).toBe(0);
    expect(again.out.join('')).toContain('result        PASSED');
  });
});

describe('everyRequestSucceeds()', () => {
  it('breaks when a fault makes requests fail, naming the failure codes', async () => {
    const blackhole = defineScenario({
      name: 'requests-fail',
      durationMs: 2500,
      connections: 2,
      timeline: [
        { atMs: 300, label: 'blackhole', action: (ctx) => ctx.link.addToxic({ name: 'bh', type: 'timeout', stream: 'downstream', attributes: { timeout: 0 } }) },
        { atMs: 1800, label: 'heal', action: (ctx) => ctx.link.removeToxic('bh') },
      ],
      invariants: [everyRequestSucceeds()],
    });
    const result = await runScenario(blackhole, { mode: 'simulated', seed: 3 });
    expect(result.passed).toBe(false);
    expect(result.violations[0]).toMatchObject({ invariant: 'everyRequestSucceeds' });
    expect(result.violations[0]!.message).toMatch(/^\d+ request\(s\) failed \(\{"WW_/);
  });
});
