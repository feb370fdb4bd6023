/**
 * Shedding on a simulated pool (10 connections, 10 ms mean service: 1000 acquires/s) in
 * virtual time, with the default target and interval. Twice the load it can serve for 30 s:
 * with shedding the p99 queue wait stays within twice the target and the connections stay
 * busy; without, waits grow with the queue. Below capacity, and for a burst that drains
 * within the interval, nothing is shed.
 */
import { describe, expect, it } from 'vitest';
import { sheddingDefaults } from '../../../src/pool/health/queue-delay-shedder.js';
import { percentile, runQueue } from './simulated-queue.js';

const pool = { connections: 10, meanServiceMs: 10, durationMs: 30_000 };
const target = sheddingDefaults.queueTargetMs;

describe('shedding on a simulated pool', () => {
  it('at 2x load for 30 s: p99 wait <= 2x target with shedding; without, it grows with the queue', () => {
    for (const seed of [1, 2, 3]) {
      const shed = runQueue({ ...pool, load: 2, seed, shedding: sheddingDefaults });
      expect(percentile(shed.waits, 99), `seed ${seed}`).toBeLessThanOrEqual(2 * target);
      expect(shed.served).toBeGreaterThan(0.97 * 30_000); // the connections stay busy
      expect(shed.rejected).toBeGreaterThan(shed.dropped * 10); // mostly refused at once, not after waiting
    }
    const none = runQueue({ ...pool, load: 2, seed: 1 });
    const third = Math.floor(none.waits.length / 3);
    const early = percentile(none.waits.subarray(0, third), 99);
    const late = percentile(none.waits.subarray(2 * third), 99);
    expect(percentile(none.waits, 99)).toBeGreaterThan(100 * 2 * target);
    expect(late).toBeGreaterThan(2 * early);
    expect(none.maxQueue).toBeGreaterThan(20_000);
  });

  it('sheds nothing below capacity', () => {
    const r = runQueue({ ...pool, load: 0.9, seed: 4, shedding: sheddingDefaults });
    expect(r.rejected + r.dropped).toBe(0);
    expect(r.modeChanges).toBe(0);
  });

  it('sheds nothing for a burst of 20x the pool that drains within the interval', () => {
    // 200 acquires at once on 10 connections (10 ms each, no other load): drained in ~200 ms.
    const r = runQueue({ connections: 10, meanServiceMs: 10, load: 200, durationMs: 1, drainMs: 1000, seed: 5, shedding: sheddingDefaults });
    expect(r.offered).toBeGreaterThan(150);
    expect(r.rejected + r.dropped).toBe(0);
    expect(r.served).toBe(r.offered);
    expect(percentile(r.waits, 100)).toBeGreaterThan(target); // it did queue past the target
  });
});
