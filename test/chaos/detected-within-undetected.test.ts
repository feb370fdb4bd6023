/**
 * `detectedWithin(ms)` can fail when nothing was detected: a harmful fault that outlasted
 * the heartbeat's detection bound while connections were up must have killed one, even
 * when `ms` is longer than the fault (the reported case: `detectedWithin(6500)` passing
 * with "detection none (no death)" after a 4 s fault). Virtual time, simulated network.
 */
import { describe, expect, it } from 'vitest';
import { defineScenario, detectedWithin, detectionBoundMs, runScenario } from '../../src/chaos/index.js';

/** A 100 ms latency leaves every connection alive; classified harmful, its deaths are expected. */
function undetectableFault(faultMs: number, heartbeat?: { intervalMs: number }) {
  return defineScenario({
    name: `undetected-${faultMs}`,
    durationMs: faultMs + 1000,
    ...(heartbeat ? { heartbeat } : {}),
    timeline: [
      {
        atMs: 500,
        label: 'a fault the detector cannot see',
        harmful: true,
        action: (ctx) => void ctx.link.addToxic({ name: 'slow', type: 'latency', attributes: { latency: 100 } }),
      },
      { atMs: 500 + faultMs, label: 'heal', action: (ctx) => ctx.link.removeToxic('slow') },
    ],
    invariants: [detectedWithin(6500)],
  });
}

describe('detectedWithin when no connection died', () => {
  it('fails once a harmful fault outlasted the detection bound without a death, naming the fault and the bound', async () => {
    const bound = detectionBoundMs({}, 1000); // the scenario defaults, with the workload's 1000 ms timeout
    expect(bound).toBe(3400);
    const result = await runScenario(undetectableFault(4000), { seed: 1 });
    expect(result.report.deaths).toBe(0);
    expect(result.passed).toBe(false);
    expect(result.violations).toHaveLength(1);
    const v = result.violations[0]!;
    expect(v.invariant).toBe('detectedWithin(6500 ms)');
    expect(v.message).toBe(
      'no connection died during toxic slow (latency downstream: latency 100, jitter 0) (since 500 ms): up connections were exposed to it for 3400 ms, ' +
        "longer than the heartbeat's detection bound of 3400 ms, and the failure went undetected",
    );
    // Found while the fault lasted (continuous check), not only at the end.
    expect(v.phase).toBe('continuous');
  });

  it('holds when the fault was shorter than the bound: no death was required', async () => {
    const result = await runScenario(undetectableFault(3000), { seed: 1 });
    expect(result.report.deaths).toBe(0);
    expect(result.violations).toEqual([]);
  });

  it('holds when the fault killed connections in time (a blackhole)', async () => {
    const scenario = defineScenario({
      name: 'blackhole',
      durationMs: 5000,
      timeline: [
        { atMs: 500, label: 'blackhole', action: (ctx) => void ctx.link.addToxic({ name: 'bh', type: 'timeout', attributes: { timeout: 0 } }) },
        { atMs: 4500, label: 'heal', action: (ctx) => ctx.link.removeToxic('bh') },
      ],
      invariants: [detectedWithin(6500)],
    });
    const result = await runScenario(scenario, { seed: 1 });
    expect(result.report.deaths).toBeGreaterThan(0);
    expect(result.violations).toEqual([]);
    expect(result.report.recovery.episodes[0]).toMatchObject({ startedAt: 500, reachedAt: 500, endedAt: 4500 });
    expect(result.report.recovery.episodes[0]!.detections).toBeGreaterThan(0);
  });
});
