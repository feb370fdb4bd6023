/**
 * Regression: the supervisor copied its whole intensity window into the snapshot on each
 * restart, quadratic under `maxRestarts: Infinity` (50k restarts in a reconnect storm
 * cost 6.6 s of CPU). The log now holds the newest RESTART_LOG_LIMIT entries, while the
 * intensity decision still counts every restart in the window.
 */
import { describe, expect, it } from 'vitest';
import { RESTART_LOG_LIMIT, RestartIntensity } from '../../src/supervisor/restart-intensity.js';

describe('restart log cap', () => {
  it('keeps the newest entries in the log but counts all of them', () => {
    const unbounded = new RestartIntensity(Number.POSITIVE_INFINITY, 60_000);
    for (let t = 0; t < 5000; t++) expect(unbounded.exceeds(unbounded.record(t))).toBe(false);
    const log = unbounded.window(5000);
    expect(log).toHaveLength(RESTART_LOG_LIMIT);
    expect(log[0]).toBe(5000 - RESTART_LOG_LIMIT);
    expect(log.at(-1)).toBe(4999);

    const bounded = new RestartIntensity(150, 60_000);
    for (let t = 0; t < 150; t++) expect(bounded.exceeds(bounded.record(t))).toBe(false);
    // The 151st within the window exceeds the limit, although the log shows only 100.
    expect(bounded.record(150)).toBe(151);
    expect(bounded.exceeds(151)).toBe(true);
    expect(bounded.window(150)).toHaveLength(RESTART_LOG_LIMIT);
  });

  it('recording 50k restarts stays linear', () => {
    const intensity = new RestartIntensity(Number.POSITIVE_INFINITY, 60_000);
    const started = performance.now();
    for (let t = 0; t < 50_000; t++) {
      intensity.record(t);
      intensity.window(t); // what the engine does on each restart
    }
    // Quadratic copying took seconds; linear work is a few ms even on a loaded machine.
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
