/**
 * Suspicion is fast, death is patient (DESIGN.md, "The connection actor"): a Redis that
 * stalls for less than the suspicion window (`DEBUG SLEEP`, as a fork or a slow script
 * does) loses no connection, and a frozen one (SIGSTOP) has every idle connection dead
 * within `intervalMs` + the window. Against a real redis-server, through the public API.
 */
import { expect, it } from 'vitest';
import { waitFor } from '../transport/helpers.js';
import { sleep, useRedis, withPool } from './redis-fixture.js';

const redis = useRedis();

it('loses no connection to a DEBUG SLEEP shorter than the suspicion window, and answers a GET sent during it', async () => {
  const server = await redis.start();
  // Window (1 + 2) × 400 = 1200 ms. A 0.9 s stall outlasts detection by probe timeouts
  // alone (100 ms adapted, then 200 and 400 ms suspect probes: dead ~0.7–0.8 s into the
  // stall) and is shorter than the window even counting the interval before it.
  const heartbeat = { intervalMs: 100, maxTimeoutMs: 400, suspectProbes: 2 };
  const windowMs = 1200;
  await withPool(server.endpoint, { min: 3, max: 4, heartbeat }, async ({ pool, deaths, deadStates }) => {
    await pool.use((conn) => conn.command(['SET', 'k', 'v']));
    // Heartbeated a while: probe timeouts have adapted to the loopback RTT (100 ms floor).
    await waitFor(() => pool.stats().open === 3 && pool.connections().every((c) => c.rttMs !== undefined), 'three heartbeated connections');
    const sleeping = server.command(['DEBUG', 'SLEEP', '0.9'], 5000);
    const sleepStart = Date.now();
    await sleep(100); // the server is asleep now
    const t0 = Date.now();
    expect(await pool.use((conn) => conn.command(['GET', 'k']))).toBe('v');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(500); // it was answered after the stall
    expect(await sleeping).toBe('OK');
    // A death would have come by the end of the window after the last reply before the
    // stall; by then every connection must be back to plain liveness.
    await waitFor(
      () => Date.now() - sleepStart > windowMs + 2 * heartbeat.intervalMs
        && pool.connections().every((c) => c.state === 'ready' || c.state === 'probing'),
      'the suspicion window to pass with every connection live', 5000,
    );
    expect(deaths()).toEqual([]);
    expect(deadStates()).toEqual([]);
    expect(pool.stats().closed.dead).toBe(0);
    expect(pool.stats().open).toBeGreaterThanOrEqual(3);
  });
});

it('declares every idle connection to a frozen Redis dead within intervalMs + the suspicion window', async () => {
  const server = await redis.start();
  // Window (1 + 2) × 200 = 600 ms; bound intervalMs + window = 700 ms.
  const heartbeat = { intervalMs: 100, maxTimeoutMs: 200, suspectProbes: 2 };
  const boundMs = heartbeat.intervalMs + 600;
  await withPool(server.endpoint, { min: 3, max: 3, heartbeat }, async ({ pool, deaths, deadStates }) => {
    await waitFor(
      () => pool.stats().open === 3 && pool.stats().leased === 0 && pool.connections().every((c) => c.rttMs !== undefined),
      'three idle, heartbeated connections',
    );
    const frozenAt = Date.now();
    server.freeze();
    try {
      await waitFor(() => deaths().length >= 3, 'every idle connection to die', 4 * boundMs);
      const latencies = deaths().map((d) => d.at - frozenAt);
      // Upper bound: 2× the contract's bound, for a 2-core machine shared with other jobs.
      expect(Math.max(...latencies)).toBeLessThanOrEqual(2 * boundMs);
      // Patient: silent for the whole window. The last reply before the freeze is at
      // most two intervals old (an idle connection is probed every other tick).
      expect(Math.min(...latencies)).toBeGreaterThanOrEqual(600 - 2 * heartbeat.intervalMs);
      expect(deadStates().map((s) => s.reason)).toEqual(['heartbeat-timeout', 'heartbeat-timeout', 'heartbeat-timeout']);
    } finally {
      server.thaw();
    }
  });
});
