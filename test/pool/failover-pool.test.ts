/**
 * Priority-group failover and failback through `rt.createPool` (issue 14), in virtual time
 * over the in-memory network: traffic moves to the backup group when the primary cannot
 * serve, returns only after `failbackAfterMs` of unbroken health, and a primary that fails
 * again must stay healthy twice as long next time.
 */
import { describe, expect, it } from 'vitest';
import type { PoolEvent } from '../../src/pool/pool-events.js';
import { A, B, shutdown, supervisedPool } from './helpers/supervised-pool.js';

const endpoints = [{ host: '10.0.0.1', port: 7000, priority: 0 }, { host: '10.0.0.2', port: 7000, priority: 1 }];

function moves(events: readonly { type: string }[]): PoolEvent[] {
  return events.flatMap((e) => {
    const ev = (e as { event?: PoolEvent }).event;
    return ev !== undefined && (ev.type === 'priority-failover' || ev.type === 'priority-failback') ? [ev] : [];
  });
}

const where = (t: ReturnType<typeof supervisedPool>) => t.pool.connections().filter((c) => c.state === 'ready').map((c) => c.endpoint).sort();

describe('failover and failback between priority groups', () => {
  it('fails over at once, finds the primary back with a scout, and fails back only after failbackAfterMs of health', async () => {
    const t = supervisedPool({ endpoints, min: 2, max: 3, failover: { failbackAfterMs: 2000, maxFailbackAfterMs: 16_000 } }, [A, B]);
    await t.clock.advance(50);
    expect(where(t)).toEqual([A, A]);

    t.net.setDown(A);
    await t.clock.advance(300, 10);
    expect(moves(t.events).map((m) => `${m.type} ${(m as { from: number }).from}->${(m as { to: number }).to}`)).toEqual(['priority-failover 0->1']);
    expect(where(t)).toEqual([B, B]);
    expect(t.pool.health().activePriority).toBe(1);
    // A scout keeps dialing the primary on the backoff, beside the two serving connections.
    expect(t.pool.connections().filter((c) => c.endpoint === A)).toHaveLength(1);
    const dialsBefore = t.net.dialsTo(A);
    await t.clock.advance(1000, 10);
    expect(t.net.dialsTo(A)).toBeGreaterThan(dialsBefore);

    t.net.setUp(A);
    await t.clock.advance(200, 10); // the scout connects: the primary can serve again, but traffic stays
    expect(moves(t.events)).toHaveLength(1);
    expect(t.pool.connections().filter((c) => c.endpoint === A && c.state === 'ready')).toHaveLength(1);
    for (let i = 0; i < 5; i++) expect(await t.pool.use((c) => c.endpoint)).toBe(B); // the scout's connection is standby
    const upAt = t.clock.now();
    await t.clock.advance(1500, 10);
    expect(moves(t.events)).toHaveLength(1); // not stable for 2000 ms yet
    await t.clock.advance(800, 10);
    const back = moves(t.events)[1]!;
    expect(back).toMatchObject({ type: 'priority-failback', from: 1, to: 0, reason: 'stable', requiredStableMs: 2000 });
    expect((back as { stableForMs: number }).stableForMs).toBeGreaterThanOrEqual(2000);
    expect(back.at - upAt).toBeLessThanOrEqual(2200);
    await t.clock.advance(300, 10);
    expect(where(t)).toEqual([A, A]); // the backup's connections retired; min refilled on the primary
    expect(await t.pool.use((c) => c.endpoint)).toBe(A);
    expect(t.pool.stats().endpoints[B]).toMatchObject({ open: 0, pending: 0 });
    expect(t.pool.stats().closed.lifetime).toBeGreaterThanOrEqual(2);

    // The primary fails again: the next failback needs twice the stable time.
    t.net.setDown(A);
    await t.clock.advance(300, 10);
    t.net.setUp(A);
    await t.clock.advance(3000, 10);
    expect(moves(t.events).map((m) => m.type)).toEqual(['priority-failover', 'priority-failback', 'priority-failover']);
    await t.clock.advance(1500, 10);
    expect(moves(t.events).at(-1)).toMatchObject({ type: 'priority-failback', requiredStableMs: 4000 });
    await shutdown(t);
    expect(t.clock.pendingActions).toBe(0);
  });

  it('with breakers: the primary\'s open breaker moves traffic, its half-open trial dial finds it back, and trials close it', async () => {
    const t = supervisedPool({
      endpoints, min: 2, max: 2, failover: { failbackAfterMs: 1000 },
      breaker: { waitDurationInOpenStateMs: 1000, randomizationFactor: 0 },
    }, [A, B]);
    await t.clock.advance(50);
    t.net.setDown(A);
    await t.clock.advance(500, 10);
    const breaker = () => t.pool.stats().endpoints[A]!.breaker;
    expect(breaker()).toBe('open');
    expect(where(t)).toEqual([B, B]);
    t.net.setUp(A);
    await t.clock.advance(1000, 10); // half-open: a trial dial (room made by closing an idle backup connection)
    expect(breaker()).toBe('half-open');
    expect(where(t)).toContain(A);
    for (let i = 0; i < 4; i++) await t.pool.use((c) => c.request(i)); // the freshest idle connection: the trial's
    expect(breaker()).toBe('closed');
    await t.clock.advance(1200, 10);
    expect(moves(t.events).map((m) => m.type)).toEqual(['priority-failover', 'priority-failback']);
    await t.clock.advance(300, 10);
    expect(where(t)).toEqual([A, A]);
    await shutdown(t);
  });
});
