/**
 * `detectionBoundMs` takes a scenario's heartbeat option as written (public API), not a
 * resolved heartbeat that only internal parsers can build.
 */
import { describe, expect, it } from 'vitest';
import { defineScenario, detectionBoundMs } from '../../src/chaos/index.js';
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
});
