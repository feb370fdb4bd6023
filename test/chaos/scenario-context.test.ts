/**
 * What a scenario's actions and invariants see: `ctx.data` from `setup`, `ctx.log`,
 * `ctx.sleep` in scenario time, and server and link faults recorded with their spans —
 * the same context on the simulated network and on real sockets.
 */
import { describe, expect, it } from 'vitest';
import { defineScenario } from '../../src/chaos/define-scenario.js';
import { allReadyWithin, detectedWithin, invariant, noFalseDeath, noLostOrDuplicatedRequests, nothingLeftRunning } from '../../src/chaos/invariants.js';
import { runScenario } from '../../src/chaos/run-scenario.js';
import { expectPassed, expectRealRunPasses, expectSeedsPass } from './scenario-helpers.js';

const frozenServer = defineScenario({
  name: 'frozen-server',
  durationMs: 4000,
  connections: 3,
  heartbeat: { intervalMs: 200, minTimeoutMs: 50, maxTimeoutMs: 300, suspectProbes: 1 },
  timeline: [
    { atMs: 300, label: 'freeze', action: (ctx) => ctx.server.freeze() },
    // Long enough for a busy connection too: its request's 1000 ms, then the window (× load).
    { atMs: 2500, label: 'thaw', action: (ctx) => ctx.server.thaw() },
  ],
  // A connection with a request out at the freeze is not probed: its request times out
  // (1000 ms), then the 600 ms window; idle ones are dead within 2 × 200 + 600.
  invariants: [detectedWithin(1800), allReadyWithin(1200), noFalseDeath(), noLostOrDuplicatedRequests(), nothingLeftRunning()],
});

describe('scenario context', () => {
  it('hands setup data, log lines and scenario-time sleeps to steps and invariants', async () => {
    const seen: unknown[] = [];
    const scenario = defineScenario<{ startedIn: string; label: string }>({
      name: 'context',
      durationMs: 1000,
      connections: 2,
      workload: false,
      setup: (ctx) => ({ startedIn: ctx.mode, label: 'from setup' }),
      timeline: [{
        atMs: 100,
        label: 'sleep then log',
        action: async (ctx) => {
          await ctx.sleep(250);
          ctx.log(`${ctx.data.label} at ${ctx.now()} ms`);
          seen.push(ctx.data.startedIn, ctx.seed, ctx.server.address, ctx.link.connections, ctx.pool.connections().length);
        },
      }],
      // A typed invariant and the built-in ones mix in a scenario with data.
      invariants: [invariant<{ label: string }>('sees data', (ctx) => (ctx.data.label === 'from setup' ? undefined : 'no data')), noFalseDeath()],
    });
    const result = await runScenario(scenario, { mode: 'simulated', seed: 8 });
    expectPassed(result);
    expect(result.report.log).toEqual([{ atMs: 100, message: '▶ sleep then log' }, { atMs: 350, message: 'from setup at 350 ms' }]);
    expect(seen).toEqual(['simulated', 8, '10.0.0.1:7000', 2, 2]);
    expect(result.report.requests.issued).toBe(0);
  });

  it('records link disable/enable and cuts as harmful faults with their spans', async () => {
    const scenario = defineScenario({
      name: 'link-faults',
      durationMs: 2500,
      connections: 2,
      timeline: [
        { atMs: 200, label: 'cut', action: (ctx) => void ctx.link.cut() },
        { atMs: 800, label: 'disable', action: (ctx) => ctx.link.disable() },
        { atMs: 1100, label: 'enable', action: (ctx) => ctx.link.enable() },
      ],
      invariants: [allReadyWithin(1000), noFalseDeath(), noLostOrDuplicatedRequests()],
    });
    const [result] = await expectSeedsPass(scenario, 1, 3);
    expect(result!.report.faults.map((f) => [f.label, f.startedAt, f.endedAt, f.harmful])).toEqual([
      ['link 10.0.0.1:7000 cut', 200, 200, true],
      ['link 10.0.0.1:7000 disabled', 800, 1100, true],
    ]);
    expect(result!.report.deaths).toBe(4);
    // A cut ends when it starts, but its connections die just after: recovery waits for them.
    expect(result!.report.recovery.episodes).toEqual([
      expect.objectContaining({ startedAt: 200, endedAt: 200, recoveredAt: expect.any(Number) }),
      expect.objectContaining({ startedAt: 800, endedAt: 1100, recoveredAt: expect.any(Number) }),
    ]);
    expect(result!.report.recovery.episodes[0]!.recoveredAt).toBeGreaterThan(200);
  });

  it('a frozen server: every connection detected dead by its heartbeat, all back after the thaw (simulated)', async () => {
    for (const { report } of await expectSeedsPass(frozenServer, 1, 10)) {
      expect(report.faults).toEqual([expect.objectContaining({ label: 'server frozen', startedAt: 300, endedAt: 2500 })]);
      expect(report.detection.samples).toBeGreaterThanOrEqual(3);
      expect(report.recovery.samples).toBe(1);
    }
  });

  it('a frozen server on real sockets', async () => {
    const { report } = await expectRealRunPasses(frozenServer);
    expect(report.detection.samples).toBeGreaterThanOrEqual(3);
  });
});
