/**
 * `detectionBoundMs` takes a scenario's heartbeat option as written (public API), not a
 * resolved heartbeat that only internal parsers can build.
 */
import { describe, expect, it } from 'vitest';
import { allReadyWithin, defineScenario, detectedWithin, detectionBoundMs } from '../../src/chaos/index.js';
import { MAX_DURATION_MS } from '../../src/options.js';
import { InvalidOptionError } from '../../src/errors.js';

describe('detectionBoundMs', () => {
  it('resolves a partial heartbeat: two intervals, then the suspicion window × (1 + eluWeight)', () => {
    // window (1 + 3) × 400 = 1600, × 1.5 (default eluWeight) = 2400
    expect(detectionBoundMs({ intervalMs: 200, maxTimeoutMs: 400, suspectProbes: 3 })).toBe(400 + 2400);
    expect(detectionBoundMs({ intervalMs: 200, maxTimeoutMs: 400, suspectProbes: 3 }, 1000)).toBe(1000 + 2400);
  });

  it('merges over the scenario defaults, as defineScenario does', () => {
    const heartbeat = { intervalMs: 300 };
    const scenario = defineScenario({ name: 's', durationMs: 1000, heartbeat, workload: false });
    expect(detectionBoundMs(heartbeat)).toBe(scenario.faultGraceMs);
    expect(detectionBoundMs()).toBe(defineScenario({ name: 'd', durationMs: 1000, workload: false }).faultGraceMs);
  });

  it('refuses a bad heartbeat with the option path', () => {
    expect(() => detectionBoundMs({ intervalMs: -5 })).toThrow(InvalidOptionError);
    expect(() => detectionBoundMs({ intervalMs: -5 })).toThrow(/detectionBoundMs\.heartbeat\.intervalMs/);
  });

  it('refuses a bad requestTimeoutMs with the option path', () => {
    expect(() => detectionBoundMs({}, -1)).toThrow(InvalidOptionError);
    expect(() => detectionBoundMs({}, Number.NaN)).toThrow('detectionBoundMs.requestTimeoutMs must be an integer in [0, 2147483647] (ms), got NaN');
  });

  it('stays a valid detectedWithin(ms) bound for the longest heartbeat: at most 2^31 − 1 ms', () => {
    const longest = { intervalMs: MAX_DURATION_MS, minTimeoutMs: 1, maxTimeoutMs: MAX_DURATION_MS, suspectProbes: 100, eluWeight: 100 };
    expect(detectionBoundMs(longest, MAX_DURATION_MS)).toBe(MAX_DURATION_MS);
    expect(detectedWithin(detectionBoundMs(longest)).name).toBe(`detectedWithin(${MAX_DURATION_MS} ms)`);
  });
});

describe('the bounds invariant factories take', () => {
  it.each([
    ['detectedWithin', detectedWithin],
    ['allReadyWithin', allReadyWithin],
  ] as const)('%s(ms) takes a duration by the one rule and refuses anything else with WW_INVALID_OPTION', (name, factory) => {
    for (const bad of [0, 1.5, -1, 2 ** 31, Number.NaN, Number.POSITIVE_INFINITY, '100' as unknown as number]) {
      let thrown: unknown;
      try {
        factory(bad);
      } catch (err) {
        thrown = err;
      }
      expect(thrown, String(bad)).toBeInstanceOf(InvalidOptionError);
      expect((thrown as InvalidOptionError).code).toBe('WW_INVALID_OPTION');
      expect((thrown as Error).message).toMatch(new RegExp(`^${name}\\(ms\\) must be an integer in \\[1, 2147483647\\] \\(ms\\), got `));
    }
    expect(factory(1).name).toBe(`${name}(1 ms)`);
    expect(factory(MAX_DURATION_MS).name).toBe(`${name}(${MAX_DURATION_MS} ms)`);
  });
});
