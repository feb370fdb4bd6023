/**
 * A pool retires connections on its own (max lifetime: `maxLifetimeMs`, 30 minutes by
 * default, so every run longer than that sees it): the retired one reaches `closed` and a
 * replacement with a new id takes its place. The recorder forgets the retired one — it
 * is gone, not down — so `allReadyWithin`'s final check does not blame a healthy pool.
 * And when connections really are down, the message names ten of them, not a thousand.
 */
import { describe, expect, it } from 'vitest';
import { defineScenario } from '../../src/chaos/define-scenario.js';
import { allReadyWithin, invariant, nothingLeftRunning } from '../../src/chaos/invariants.js';
import { runScenario } from '../../src/chaos/run-scenario.js';
import { expectPassed } from './scenario-helpers.js';

describe('connections retired by their pool', () => {
  it('leave the observed connections: replaced by new ids, the final check passes', async () => {
    const seen: string[] = [];
    const scenario = defineScenario({
      name: 'short-lifetime',
      durationMs: 5000,
      connections: 3,
      target: { pool: { maxLifetimeMs: 1000 } },
      invariants: [
        allReadyWithin(1000),
        nothingLeftRunning(),
        invariant('live ids', (ctx, phase) => void (phase === 'final' && seen.push(...ctx.observed.connections().map((c) => `${c.id} ${c.state}`)))),
      ],
    });
    const result = await runScenario(scenario, { mode: 'simulated', seed: 3 });
    expectPassed(result);
    // Three live connections, none of them an original one (conn-1..3 were retired).
    expect(seen).toHaveLength(3);
    for (const entry of seen) expect(entry).toMatch(/^conn-([4-9]|\d\d+) (ready|probing)$/);
  });

  it('names at most ten connections that are down', async () => {
    const scenario = defineScenario({
      name: 'all-down',
      durationMs: 3000,
      connections: 30,
      workload: false,
      // Not counted as a fault: the connections are down "with no fault to explain it".
      timeline: [{ atMs: 1000, label: 'server gone for good', harmful: false, action: (ctx) => ctx.server.kill() }],
      invariants: [allReadyWithin(500)],
    });
    const result = await runScenario(scenario, { mode: 'simulated', seed: 1 });
    expect(result.passed).toBe(false);
    const message = result.violations[0]!.message;
    expect(message).toMatch(/\(0\/30 up: (conn-\d+ \w+, ){9}conn-\d+ \w+ and 20 more\)$/);
  });
});
