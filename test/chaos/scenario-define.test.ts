/**
 * `defineScenario` validates a scenario where it is written (messages name the path and
 * the bound), fills the defaults, and brands the result; the fault classifier draws the
 * line between benign and harmful toxics at the detector's threshold.
 */
import { describe, expect, it } from 'vitest';
import { parseHeartbeat } from '../../src/actors/connection-input.js';
import { defineScenario, detectionBoundMs, isScenario, scenarioHeartbeat } from '../../src/chaos/define-scenario.js';
import { classifyToxics, describeToxic } from '../../src/chaos/fault-classifier.js';
import { allReadyWithin, invariant, noFalseDeath } from '../../src/chaos/invariants.js';
import { percentile, summarize } from '../../src/chaos/scenario-report.js';
import { deriveSeed, seededRandom } from '../../src/chaos/seeded-random.js';
import type { ToxicJson } from '../../src/chaos/toxic-types.js';
import { InvalidOptionError } from '../../src/errors.js';

const noop = () => {};

describe('defineScenario', () => {
  it('fills defaults, sorts the timeline stably and brands the result', () => {
    const s = defineScenario({
      name: 'x', durationMs: 1000,
      timeline: [{ atMs: 500, label: 'b', action: noop }, { atMs: 100, label: 'a', action: noop }, { atMs: 500, label: 'c', action: noop }],
    });
    expect(s.timeline.map((t) => t.label)).toEqual(['a', 'b', 'c']);
    expect(s).toMatchObject({ connections: 4, warmupTimeoutMs: 5000, checkEveryMs: 50, workload: { concurrency: 2, intervalMs: 50, timeoutMs: 1000 } });
    expect(s.heartbeat).toMatchObject(scenarioHeartbeat);
    expect(s.backoff.options).toMatchObject({ initialMs: 50, maxMs: 500, jitter: 'full' });
    expect(s.faultGraceMs).toBe(detectionBoundMs(s.heartbeat, 1000)); // the workload's request timeout
    expect(isScenario(s)).toBe(true);
    expect(isScenario({ ...s })).toBe(false);
    expect(Object.isFrozen(s)).toBe(true);
    expect(defineScenario({ name: 'y', durationMs: 10, workload: false }).workload).toBe(false);
  });

  it.each([
    [{ name: '', durationMs: 10 }, 'scenario.name must be a non-empty string, got ""'],
    [{ name: 'x', durationMs: 0 }, 'scenario.durationMs must be an integer in [1, 2147483647] (ms), got 0'],
    [{ name: 'x', durationMs: 10, speed: 2 }, 'scenario.speed is not a known option'],
    [{ name: 'x', durationMs: 4000, timeline: [{ atMs: 5000, label: 'late', action: noop }] }, 'scenario.timeline[0].atMs must be an integer in [0, 4000] (scenario.durationMs), got 5000'],
    [{ name: 'x', durationMs: 10, timeline: [{ atMs: 1, label: 'no action' }] }, 'scenario.timeline[0].action must be a function, got undefined'],
    [{ name: 'x', durationMs: 10, heartbeat: { intervalMs: -5 } }, 'scenario.heartbeat.intervalMs must be an integer in [1, 2147483647] (ms), got -5'],
    [{ name: 'x', durationMs: 10, backoff: { initialMs: 0 } }, 'scenario.backoff.initialMs must be an integer in [1, 2147483647] (ms), got 0'],
    [{ name: 'x', durationMs: 10, workload: { concurrency: 0 } }, 'scenario.workload.concurrency must be an integer in [1, 1000], got 0'],
    [{ name: 'x', durationMs: 10, invariants: [{ name: 'no check' }] }, 'scenario.invariants[0] must be an invariant ({ name, check(ctx, phase) }), got an object'],
    [{ name: 'x', durationMs: 10, invariants: [noFalseDeath(), noFalseDeath()] }, 'scenario.invariants[1].name "noFalseDeath" is used twice'],
  ])('refuses %j', (definition, message) => {
    expect(() => defineScenario(definition as never)).toThrow(InvalidOptionError);
    expect(() => defineScenario(definition as never)).toThrow(message);
  });

  it('checks the arguments of built-in invariants', () => {
    expect(() => allReadyWithin(-1)).toThrow('allReadyWithin(ms) must be an integer in [1, 2147483647] (ms), got -1');
    expect(invariant('mine', () => undefined).name).toBe('mine');
  });

  it('bounds detection by two intervals plus every probe at its longest, widened by the load factor', () => {
    expect(detectionBoundMs(parseHeartbeat({ intervalMs: 200, maxTimeoutMs: 400, suspectProbes: 2, eluWeight: 0.5 }))).toBe(400 + 3 * 600);
    expect(detectionBoundMs(parseHeartbeat({ intervalMs: 1000, maxTimeoutMs: 500, suspectProbes: 0, eluWeight: 0 }))).toBe(2500);
    // In use, a connection's evidence is its request timing out, then the window.
    expect(detectionBoundMs(parseHeartbeat({ intervalMs: 200, maxTimeoutMs: 400, suspectProbes: 2, eluWeight: 0.5 }), 1000)).toBe(1000 + 1800);
    expect(detectionBoundMs(parseHeartbeat({ intervalMs: 200, maxTimeoutMs: 400, suspicionWindowMs: 5000, eluWeight: 0 }))).toBe(400 + 5000);
  });
});

const toxic = (name: string, type: string, attributes: Record<string, unknown>, stream: 'upstream' | 'downstream' = 'downstream'): ToxicJson =>
  ({ name, type, stream, toxicity: 1, attributes });

describe('classifyToxics', () => {
  it('counts latency and stalls as benign while their round trip stays below the threshold, across both directions', () => {
    const one = classifyToxics([toxic('l', 'latency', { latency: 150, jitter: 50 })], 400);
    expect(one.get('l')).toEqual({ harmful: false, reason: "adds up to 200 ms, below the detector's 400 ms threshold (heartbeat.maxTimeoutMs)" });
    const stacked = classifyToxics([toxic('up', 'latency', { latency: 150, jitter: 0 }, 'upstream'), toxic('down', 'stall', { stall_ms: 250 })], 400);
    expect(stacked.get('up')!.harmful).toBe(true);
    expect(stacked.get('down')!.reason).toBe("adds up to 250 ms (400 ms with the other delays on the link), at or above the detector's 400 ms threshold (heartbeat.maxTimeoutMs)");
  });

  it('calls silencing and closing toxics harmful, and liveness-neutral ones benign', () => {
    const c = classifyToxics([
      toxic('t', 'timeout', { timeout: 0 }), toxic('r', 'reset_peer', { timeout: 0 }), toxic('p', 'wire_drop_pongs', {}),
      toxic('s', 'slicer', { average_size: 1 }), toxic('f', 'wire_fail_requests', { count: 1 }), toxic('d', 'wire_delay_responses', { latency: 5000 }),
    ], 400);
    expect([...c].map(([name, v]) => [name, v.harmful])).toEqual([['t', true], ['r', true], ['p', true], ['s', false], ['f', false], ['d', false]]);
  });

  it('labels a toxic with its attributes', () => {
    expect(describeToxic({ ...toxic('x', 'latency', { latency: 5, jitter: 1 }), toxicity: 0.5 })).toBe('toxic x (latency downstream: latency 5, jitter 1, toxicity 0.5)');
  });
});

describe('report helpers and seeds', () => {
  it('takes nearest-rank percentiles', () => {
    expect(percentile([], 50)).toBeUndefined();
    expect(percentile([10, 20, 30, 40], 50)).toBe(20);
    expect(percentile([10, 20, 30, 40], 99)).toBe(40);
    expect(summarize([3.4, 1, 2])).toEqual({ samples: 3, p50Ms: 2, p99Ms: 3, maxMs: 3 });
  });

  it('derives independent, stable streams from one seed', () => {
    expect(seededRandom(42)()).toBe(seededRandom(42)());
    expect(deriveSeed(42, 'network')).toBe(deriveSeed(42, 'network'));
    expect(deriveSeed(42, 'network')).not.toBe(deriveSeed(42, 'runtime'));
    expect(deriveSeed(42, 'network')).not.toBe(deriveSeed(43, 'network'));
  });
});
