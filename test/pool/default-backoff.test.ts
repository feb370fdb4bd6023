/**
 * A pool given no `backoff` redials its slots on exponential backoff with phased jitter
 * (100 ms .. 30 s, ×2): one phase per slot, attempt k at that phase of the k-th window,
 * so the slots of every pool on an endpoint come back at a flat rate after an outage.
 */
import { describe, expect, it } from 'vitest';
import { exponentialBackoff } from '../../src/supervisor/backoff.js';
import { track } from './helpers/make-pool.js';
import { shutdown, supervisedPool } from './helpers/supervised-pool.js';

describe('the pool default backoff', () => {
  it('is exponential, 100 ms .. 30 s, ×2, with phased jitter', async () => {
    // Every endpoint down; the runtime's random is 0.5, so the slot's phase is 0.5.
    const t = supervisedPool({ backoff: undefined, max: 1, acquireTimeoutMs: 5000 }, []);
    const w = track(t.pool.acquire());
    await t.clock.advance(5000, 10);
    expect(w.error).toBeDefined();
    const delays = t.events.flatMap((e) => (e.type === 'restart' && e.path.startsWith(`${t.pool.path}/`) ? [e.delayMs] : []));
    // Attempt k fires at S(k−1) + φ·cap(k): 50, 200, 500, 1100, 2300 ms after the first refusal.
    expect(delays.slice(0, 5)).toEqual([50, 150, 300, 600, 1200]);
    const phased = exponentialBackoff({ jitter: 'phased' });
    expect(delays).toEqual(delays.map((_, i) => phased.delayMs(i + 1, undefined, () => 0, 0.5)));
    await shutdown(t);
  });
});
