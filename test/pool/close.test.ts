import { describe, expect, it } from 'vitest';
import { LeaseLostError, PoolClosedError } from '../../src/errors.js';
import { makePool, track } from './helpers/make-pool.js';
import { drain } from './helpers/virtual-clock.js';

describe('close', () => {
  it('rejects waiters, closes idle and pending connections, waits for leases, leaves no timer', async () => {
    const t = makePool({ min: 2, max: 4, validateAfterIdleMs: 100 }, { probe: 'manual' });
    t.source.readyAll();
    let completed = false;
    const sub = t.pool.events$.subscribe({ complete: () => (completed = true) });
    const held = await t.pool.acquire();
    await t.clock.advance(200);
    const validating = track(t.pool.acquire()); // probing the stale idle one
    await drain();
    expect(t.source.probes).toHaveLength(1);
    const queued = [track(t.pool.acquire()), track(t.pool.acquire()), track(t.pool.acquire())];
    expect(t.pool.stats()).toMatchObject({ pending: 2, waiting: 3 });
    const closing = track(t.pool.close());
    expect(t.pool.close()).toBe(t.pool.close()); // idempotent
    await drain();
    for (const w of [validating, ...queued]) {
      expect(w.error).toBeInstanceOf(PoolClosedError);
      expect((w.error as Error).message).toBe('acquire failed: the pool closed while waiting');
    }
    expect(t.source.probes[0]!.signal!.aborted).toBe(true);
    expect(t.source.closes.map((c) => [c.slot.id, c.reason]).sort()).toEqual([
      ['conn-1', 'shutdown'], ['conn-3', 'shutdown'], ['conn-4', 'shutdown'],
    ]);
    expect(closing.settled).toBe(0); // the lease is still out
    expect(held.active).toBe(true);
    held.release();
    await drain();
    expect(t.source.closes.at(-1)).toMatchObject({ reason: 'shutdown' });
    expect(closing.settled).toBe(1);
    expect(t.clock.pendingActions).toBe(0);
    expect(completed).toBe(true);
    expect(sub.closed).toBe(true);
    expect(t.pool.stats()).toMatchObject({ open: 0, pending: 0, leased: 0, idle: 0, waiting: 0 });
  });

  it('after closeTimeoutMs, closes leased connections without draining; their leases are lost', async () => {
    const t = makePool({ min: 1, closeTimeoutMs: 5000 });
    t.source.readyAll();
    const lease = await t.pool.acquire();
    const closing = track(t.pool.close());
    await t.clock.advance(4999);
    expect(closing.settled).toBe(0);
    await t.clock.advance(1);
    expect(closing.settled).toBe(1);
    expect(t.source.closes.map((c) => c.reason)).toEqual(['shutdown-forced']);
    expect(() => lease.conn).toThrow(LeaseLostError);
    expect(() => lease.conn).toThrow('cannot use lease of connection conn-1: the connection was closed by the pool after closeTimeoutMs (5000)');
    expect(() => lease.release()).not.toThrow();
    expect(t.clock.pendingActions).toBe(0);
  });

  it('escalates graceful closes the source never confirms, then resolves', async () => {
    const t = makePool({ min: 2, closeTimeoutMs: 1000 }, { manualClose: true });
    t.source.readyAll();
    const closing = track(t.pool.close());
    t.source.confirmClose(t.source.opened[0]!);
    await t.clock.advance(1000);
    expect(closing.settled).toBe(1);
    expect(t.source.closes.map((c) => [c.slot.id, c.reason])).toEqual([
      ['conn-1', 'shutdown'], ['conn-2', 'shutdown'], ['conn-2', 'shutdown-forced'],
    ]);
    expect(t.clock.pendingActions).toBe(0);
  });

  it('a connection that dies or is destroyed while the pool closes is not replaced', async () => {
    const t = makePool({ min: 2, max: 2 });
    t.source.readyAll();
    const a = await t.pool.acquire();
    const b = await t.pool.acquire();
    const closing = track(t.pool.close());
    t.source.die(a.connectionId === 'conn-1' ? t.source.opened[0]! : t.source.opened[1]!);
    b.destroy(new Error('bad state'));
    await drain();
    expect(t.source.kills).toHaveLength(0);
    expect(t.source.closes.map((c) => c.reason)).toEqual(['shutdown-forced', 'shutdown-forced']);
    expect(closing.settled).toBe(1);
    expect(() => a.conn).toThrow(LeaseLostError);
  });

  it('a late onReady for a slot closed while dialing is ignored', async () => {
    const t = makePool({ min: 1 });
    const slot = t.source.opened[0]!;
    await t.pool.close();
    t.source.sink.onReady(slot, { slotId: slot.id, serial: 99 });
    expect(t.pool.stats()).toMatchObject({ open: 0, idle: 0, pending: 0 });
  });

  it('a pool with nothing open closes at once', async () => {
    const t = makePool();
    await t.pool.close();
    expect(t.clock.pendingActions).toBe(0);
  });
});
