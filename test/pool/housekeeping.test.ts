import { describe, expect, it } from 'vitest';
import { LeaseLostError, PoolTimeoutError } from '../../src/errors.js';
import type { Lease } from '../../src/pool/lease.js';
import type { PoolEvent } from '../../src/pool/pool-events.js';
import type { FakeConn } from './helpers/fake-source.js';
import { makePool, track } from './helpers/make-pool.js';
import { drain } from './helpers/virtual-clock.js';

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Opens `n` connections by queueing n acquires, readies them, returns the leases. */
async function grow(t: ReturnType<typeof makePool>, n: number): Promise<Lease<FakeConn>[]> {
  const ws = Array.from({ length: n }, () => t.pool.acquire());
  t.source.readyAll();
  return Promise.all(ws);
}

describe('housekeeping', () => {
  it('closes connections idle for idleTimeoutMs, coldest first, down to min', async () => {
    const t = makePool({ min: 1, max: 3, idleTimeoutMs: 10_000, housekeepingIntervalMs: 1000, maxLifetimeMs: 0 });
    t.source.readyAll();
    const leases = await grow(t, 3);
    for (const l of leases) l.release();
    // keep the hottest connection busy: LIFO hands out the top of the idle stack
    for (let i = 0; i < 20; i++) {
      await t.clock.advance(1000);
      (await t.pool.acquire()).release();
    }
    const closed = t.source.closes.map((c) => [c.slot.id, c.reason]);
    expect(closed).toHaveLength(2);
    expect(closed.every(([, r]) => r === 'idle')).toBe(true);
    const hot = leases.at(-1)!.connectionId;
    expect(closed.map(([id]) => id)).not.toContain(hot);
    expect(t.pool.stats()).toMatchObject({ open: 1, idle: 1, closed: { idle: 2 } });
  });

  it('idleTimeoutMs 0 keeps idle connections', async () => {
    const t = makePool({ max: 3, idleTimeoutMs: 0, maxLifetimeMs: 0 });
    for (const l of await grow(t, 3)) l.release();
    await t.clock.advance(3_600_000, 60_000);
    expect(t.pool.stats().open).toBe(3);
  });

  it('retires idle connections at maxLifetimeMs and refills min', async () => {
    const t = makePool({ min: 1, maxLifetimeMs: 60_000, lifetimeJitter: 0, idleTimeoutMs: 0 });
    t.source.readyAll();
    await t.clock.advance(59_000);
    expect(t.source.closes).toHaveLength(0);
    await t.clock.advance(1000);
    expect(t.source.closes.map((c) => c.reason)).toEqual(['lifetime']);
    expect(t.source.opened).toHaveLength(2); // min refilled at once
    expect(t.pool.stats()).toMatchObject({ pending: 1, closed: { lifetime: 1 } });
  });

  it('never retires mid-lease: the lifetime is enforced on release', async () => {
    const t = makePool({ min: 1, max: 1, maxLifetimeMs: 60_000, lifetimeJitter: 0 });
    t.source.readyAll();
    const lease = await t.pool.acquire();
    await t.clock.advance(120_000, 1000);
    expect(lease.active).toBe(true);
    expect(t.source.closes).toHaveLength(0);
    const waiter = track(t.pool.acquire());
    lease.release();
    expect(t.source.closes.map((c) => c.reason)).toEqual(['lifetime']);
    t.source.readyAll();
    await drain();
    expect(waiter.value?.connectionId).toBe('conn-2');
  });

  it('spreads lifetimes by lifetimeJitter so connections do not retire together', async () => {
    const maxLifetimeMs = 100_000;
    const t = makePool(
      { max: 50, maxLifetimeMs, lifetimeJitter: 0.2, idleTimeoutMs: 0, housekeepingIntervalMs: 1000 },
      {},
      { random: seeded(42) },
    );
    const retiredAt: number[] = [];
    t.pool.events$.subscribe((e) => {
      if (e.type === 'connection-closed' && e.reason === 'lifetime') retiredAt.push(e.at);
    });
    for (const l of await grow(t, 50)) l.release();
    const deadlines = t.source.opened.map((s) => s.lifetimeDeadline);
    for (const d of deadlines) {
      expect(d).toBeGreaterThan(maxLifetimeMs * 0.8);
      expect(d).toBeLessThanOrEqual(maxLifetimeMs);
    }
    expect(Math.max(...deadlines) - Math.min(...deadlines)).toBeGreaterThan(maxLifetimeMs * 0.15);
    await t.clock.advance(maxLifetimeMs + 1000, 1000);
    expect(retiredAt).toHaveLength(50);
    expect(Math.min(...retiredAt)).toBeGreaterThanOrEqual(80_000);
    expect(new Set(retiredAt).size).toBeGreaterThan(10); // staggered over many sweeps
  });

  describe('leak detection', () => {
    it('warns once after leakDetectionMs with the acquirer\'s stack, and notes the return', async () => {
      const t = makePool({ min: 1, leakDetectionMs: 5000, housekeepingIntervalMs: 1000 });
      t.source.readyAll();
      const events: PoolEvent[] = [];
      t.pool.events$.subscribe((e) => events.push(e));
      const lease = await t.pool.acquire();
      await t.clock.advance(4999, 1000);
      expect(events.filter((e) => e.type === 'leak')).toHaveLength(0);
      await t.clock.advance(1);
      const leaks = events.filter((e) => e.type === 'leak');
      expect(leaks).toHaveLength(1);
      expect(leaks[0]).toMatchObject({ id: 'conn-1', endpoint: '127.0.0.1:7000', leasedForMs: 5000 });
      expect((leaks[0] as { stack: string }).stack).toContain('housekeeping.test.ts');
      expect(t.warnings).toHaveLength(1);
      expect(t.warnings[0]).toMatch(/^connection conn-1 \(127\.0\.0\.1:7000\) leased for 5000 ms without release \(leakDetectionMs 5000\); acquired at:\n/);
      expect(t.warnings[0]).toContain('housekeeping.test.ts');
      await t.clock.advance(10_000, 1000);
      expect(t.warnings).toHaveLength(1); // once per lease
      expect(lease.active).toBe(true); // only a warning without reclaimLeaked
      await t.clock.advance(500);
      lease.release();
      expect(events.at(-1)).toMatchObject({ type: 'leak-returned', id: 'conn-1', leasedForMs: 15_500 });
    });

    it('captures no stack when leak detection is off', async () => {
      const t = makePool({ min: 1 });
      t.source.readyAll();
      await t.pool.acquire();
      expect(t.source.opened[0]!.acquireStack).toBeUndefined();
    });

    it('reclaimLeaked kills the connection after a further grace (default leakDetectionMs)', async () => {
      const t = makePool({ min: 1, max: 1, leakDetectionMs: 2000, reclaimLeaked: true, housekeepingIntervalMs: 500 });
      t.source.readyAll();
      const lease = await t.pool.acquire();
      await t.clock.advance(3500, 500);
      expect(lease.active).toBe(true);
      await t.clock.advance(500);
      expect(lease.active).toBe(false);
      expect(t.source.kills.map((k) => k.reason)).toEqual(['leak-reclaimed']);
      const err = (() => { try { return lease.conn; } catch (e) { return e as Error; } })() as Error;
      expect(err).toBeInstanceOf(LeaseLostError);
      expect(err.message).toBe(
        'cannot use lease of connection conn-1: the connection was reclaimed after being leased for 4000 ms (leakDetectionMs 2000, leakReclaimGraceMs 2000)',
      );
      expect(t.pool.stats()).toMatchObject({ leased: 0, pending: 1, closed: { leaked: 1 } });
    });

    it('honours leakReclaimGraceMs', async () => {
      const t = makePool({ min: 1, leakDetectionMs: 2000, reclaimLeaked: true, leakReclaimGraceMs: 500, housekeepingIntervalMs: 100 });
      t.source.readyAll();
      const lease = await t.pool.acquire();
      await t.clock.advance(2400, 100);
      expect(lease.active).toBe(true);
      await t.clock.advance(100);
      expect(lease.active).toBe(false);
    });
  });

  describe('validation', () => {
    it('probes only connections idle longer than validateAfterIdleMs', async () => {
      const t = makePool({ min: 1, validateAfterIdleMs: 1000 }, { probe: 'manual' });
      t.source.readyAll();
      await t.clock.advance(1000);
      (await t.pool.acquire()).release(); // idle exactly 1000 ms: no probe
      expect(t.source.probes).toHaveLength(0);
      await t.clock.advance(1001);
      const w = track(t.pool.acquire());
      await drain();
      expect(t.source.probes).toHaveLength(1);
      expect(w.settled).toBe(0);
      expect(t.pool.stats()).toMatchObject({ open: 1, idle: 0, leased: 0 });
      t.source.probes[0]!.resolve();
      await drain();
      expect(w.value?.connectionId).toBe('conn-1');
      w.value!.release();
      (await t.pool.acquire()).release(); // just validated and released: no probe
      expect(t.source.probes).toHaveLength(1);
    });

    it('a failed probe kills the connection and tries the next idle one', async () => {
      const t = makePool({ max: 2, validateAfterIdleMs: 100 }, { probe: 'manual' });
      for (const l of await grow(t, 2)) l.release();
      await t.clock.advance(200);
      const w = track(t.pool.acquire());
      await drain();
      t.source.probes[0]!.reject(new Error('no pong'));
      await drain();
      expect(t.source.kills.map((k) => [k.slot.id, k.reason])).toEqual([['conn-2', 'validation-failed']]);
      expect(t.source.probes).toHaveLength(2); // conn-1 is stale too
      t.source.probes[1]!.resolve();
      await drain();
      expect(w.value?.connectionId).toBe('conn-1');
      expect(t.pool.stats()).toMatchObject({ closed: { validation: 1 }, pending: 1 });
    });

    it('a failed probe with no other idle connection waits at the head of the queue', async () => {
      const t = makePool({ max: 1, validateAfterIdleMs: 100 }, { probe: 'manual' });
      t.source.readyAll();
      (await grow(t, 1))[0]!.release();
      await t.clock.advance(200);
      const first = track(t.pool.acquire());
      await drain();
      const second = track(t.pool.acquire()); // queues behind
      t.source.probes[0]!.reject(new Error('no pong'));
      await drain();
      t.source.readyAll(); // the replacement
      await drain();
      expect(first.value?.conn.serial).toBe(2);
      expect(second.settled).toBe(0);
    });

    it('abort or timeout during validation settles the acquirer; the probed connection returns to idle', async () => {
      const t = makePool({ min: 1, validateAfterIdleMs: 100 }, { probe: 'manual' });
      t.source.readyAll();
      await t.clock.advance(200);
      const ac = new AbortController();
      const aborted = track(t.pool.acquire({ signal: ac.signal }));
      ac.abort();
      await drain();
      expect(aborted.error).toMatchObject({ code: 'WW_ABORTED' });
      t.source.probes[0]!.resolve();
      await drain();
      expect(t.pool.stats()).toMatchObject({ idle: 1 });
      await t.clock.advance(200);
      const timed = track(t.pool.acquire({ timeoutMs: 50 }));
      await t.clock.advance(50);
      expect(timed.error).toBeInstanceOf(PoolTimeoutError);
      t.source.probes[1]!.resolve();
      await drain();
      expect(t.pool.stats()).toMatchObject({ idle: 1, timeouts: 1 });
    });
  });

  describe('resetOnRelease', () => {
    it('resets before the connection is idle again; a waiter gets it after the reset', async () => {
      const t = makePool({ max: 1, resetOnRelease: true }, { reset: 'manual' });
      const lease = (await grow(t, 1))[0]!;
      const w = track(t.pool.acquire());
      lease.release();
      await drain();
      expect(t.source.resets).toHaveLength(1);
      expect(w.settled).toBe(0);
      expect(t.pool.stats()).toMatchObject({ open: 1, idle: 0, leased: 0 });
      t.source.resets[0]!.resolve();
      await drain();
      expect(w.value?.connectionId).toBe('conn-1');
    });

    it('a failed reset kills the connection (reset-failed)', async () => {
      const t = makePool({ max: 1, resetOnRelease: true }, { reset: 'fail' });
      (await grow(t, 1))[0]!.release();
      await drain();
      expect(t.source.kills.map((k) => k.reason)).toEqual(['reset-failed']);
      expect(t.pool.stats()).toMatchObject({ open: 0, pending: 1, closed: { 'reset-failed': 1 } });
    });
  });

  it('keeps min warm when the source gives up on a connection', async () => {
    const t = makePool({ min: 2 });
    expect(t.source.opened).toHaveLength(2);
    t.source.readyAll();
    t.source.sink.onClosed(t.source.opened[0]!, new Error('restart intensity reached'));
    expect(t.source.opened).toHaveLength(3);
    expect(t.pool.stats()).toMatchObject({ open: 1, pending: 1, closed: { dead: 1 } });
  });

  it('stops sweeping when the pool is empty and min is 0', async () => {
    const t = makePool({ max: 2, idleTimeoutMs: 5000, housekeepingIntervalMs: 1000 });
    expect(t.clock.pendingActions).toBe(0); // unused pool: no timer
    for (const l of await grow(t, 2)) l.release();
    expect(t.clock.pendingActions).toBeGreaterThan(0);
    await t.clock.advance(7000, 1000);
    expect(t.pool.stats().open).toBe(0);
    expect(t.clock.pendingActions).toBe(0);
  });
});

describe('validation and maxWaiting', () => {
  it('a waiter whose validated connection failed does not overflow maxWaiting', async () => {
    const t = makePool({ min: 1, max: 1, maxWaiting: 0, validateAfterIdleMs: 50 }, { probe: 'fail' });
    t.source.readyAll();
    await t.clock.advance(100);
    const w = track(t.pool.acquire());
    await drain();
    expect(w.error).toMatchObject({
      code: 'WW_POOL_QUEUE_FULL',
      message: 'acquire failed: its connection failed validation and 0 waiters already queue (maxWaiting 0)',
    });
    expect(t.pool.stats()).toMatchObject({ waiting: 0, pending: 1, closed: { validation: 1 } });
  });
});
