/**
 * `rt.createPool` with the real supervisor and connection actors over an in-memory
 * network, in virtual time (a fresh VirtualTimeScheduler per test; nothing sleeps).
 */
import { describe, expect, it } from 'vitest';
import { ConnectionClosedError, DialRefusedError, LeaseLostError, PoolClosedError, PoolTimeoutError } from '../../src/errors.js';
import type { PoolEvent } from '../../src/pool/pool-events.js';
import { createSupervisorHandle } from '../../src/supervisor/supervisor-handle.js';
import { track } from './helpers/make-pool.js';
import { A, B, restartsOf, shutdown, supervisedPool } from './helpers/supervised-pool.js';

const poolEvents = (t: ReturnType<typeof supervisedPool>): PoolEvent[] =>
  t.events.flatMap((e) => (e.type === 'pool' && e.id === t.pool.id ? [e.event] : []));

describe('rt.createPool over the supervisor (virtual time)', () => {
  it('warms up min connections as children of the pool supervisor, and leases their sessions', async () => {
    const t = supervisedPool({ min: 2, max: 4 });
    await t.clock.advance(1);
    expect(t.pool.id).toBe('pool-1');
    expect(t.pool.path).toBe('root/pool-1');
    const sup = createSupervisorHandle('root', 'root', () => t.rt.root).supervisor('pool-1');
    expect(sup.children().map((c) => [c.id, c.state])).toEqual([['conn-1', 'ready'], ['conn-2', 'ready']]);
    expect(t.pool.stats()).toMatchObject({ open: 2, idle: 2, pending: 0 });
    expect(t.pool.connections().map((c) => [c.id, c.endpoint, c.state, c.leased])).toEqual([
      ['conn-1', A, 'ready', false], ['conn-2', A, 'ready', false],
    ]);

    const lease = await t.pool.acquire();
    expect(await lease.conn.request('ping')).toBe('ping');
    expect(lease.conn.endpoint).toBe(A);
    lease.release();
    expect(await t.pool.use((conn) => conn.request(42))).toBe(42);
    expect(t.pool.stats()).toMatchObject({ open: 2, leased: 0, acquired: 2 });
    expect(poolEvents(t).filter((e) => e.type === 'connection-ready')).toHaveLength(2);
    await shutdown(t);
  });

  it('a connection that dies while leased: the lease is lost with the cause, the supervisor replaces it', async () => {
    const t = supervisedPool({ min: 1, max: 1 });
    await t.clock.advance(1);
    const lease = await t.pool.acquire();
    lease.conn.stream.destroy(); // the peer goes away
    await t.clock.advance(1);
    expect(() => lease.conn).toThrow(LeaseLostError);
    try {
      void lease.conn;
    } catch (err) {
      expect((err as LeaseLostError).cause).toBeInstanceOf(ConnectionClosedError);
    }
    lease.release(); // acknowledges the loss silently
    expect(t.pool.stats()).toMatchObject({ open: 0, pending: 1, closed: { dead: 1 } });
    await t.clock.advance(100); // the supervisor's backoff
    expect(t.pool.stats()).toMatchObject({ open: 1, idle: 1, pending: 0 });
    expect(restartsOf(t)).toBe(1);
    const next = await t.pool.acquire();
    expect(next.connectionId).toBe(lease.connectionId); // same slot, new incarnation
    expect(await next.conn.request('x')).toBe('x');
    next.release();
    await shutdown(t);
  });

  it('destroy() and leak reclaim KILL the actor with the mapped reason; the slot is replaced', async () => {
    const warnings: string[] = [];
    const t = supervisedPool({
      min: 1, max: 1, leakDetectionMs: 200, reclaimLeaked: true, leakReclaimGraceMs: 100, logger: { warn: (m) => warnings.push(m) },
    });
    await t.clock.advance(1);
    (await t.pool.acquire()).destroy(new Error('session in an unknown state'));
    await t.clock.advance(1);
    const exits = () => t.events.flatMap((e) => (e.type === 'child-exit' && e.path.startsWith('root/pool-1/') ? [e.reason] : []));
    expect(exits()).toEqual(['protocol-error']);
    await t.clock.advance(100);
    const leaked = await t.pool.acquire();
    await t.clock.advance(400, 50);
    expect(exits()).toEqual(['protocol-error', 'leak-reclaimed']);
    expect(warnings).toEqual([expect.stringMatching(/^connection conn-1 \(10\.0\.0\.1:7000\) leased for \d+ ms without release/)]);
    expect(() => leaked.conn).toThrow(LeaseLostError);
    expect(t.pool.stats().closed).toMatchObject({ destroyed: 1, leaked: 1 });
    await t.clock.advance(100);
    expect(t.pool.stats()).toMatchObject({ open: 1, pending: 0 });
    await shutdown(t);
  });

  it('the lease fast path sends no XState event and leaves no scheduled action', async () => {
    const t = supervisedPool({ min: 2, max: 2 });
    await t.clock.advance(1);
    let xstateEvents = 0;
    const inspection = t.rt.inspect((e) => {
      if (e.type === '@xstate.event') xstateEvents++;
    });
    const actions = t.clock.pendingActions;
    for (let i = 0; i < 1000; i++) (await t.pool.acquire()).release();
    expect(t.clock.pendingActions).toBe(actions);
    const a = await t.pool.acquire();
    const b = await t.pool.acquire();
    const queued = t.pool.acquire(); // a plain waiter: no timer of its own
    a.release(); // handed straight to the waiter
    (await queued).release();
    b.release();
    expect(xstateEvents).toBe(0);
    // at most the waiters' shared tick (one per pool, not per waiter; the next sweep cancels it)
    expect(t.clock.pendingActions).toBeLessThanOrEqual(actions + 1);
    expect(t.pool.stats()).toMatchObject({ acquired: 1003, idle: 2 });
    inspection.unsubscribe();
    await shutdown(t);
  });

  it('every endpoint down: the acquire times out with the dial error as cause, dials paced by the backoff', async () => {
    const t = supervisedPool({ max: 3, acquireTimeoutMs: 1000 }, []);
    const w = track(t.pool.acquire());
    await t.clock.advance(1000, 10);
    expect(w.error).toBeInstanceOf(PoolTimeoutError);
    expect((w.error as Error).message).toMatch(/acquire timed out after 1000 ms \(size 1, leased 0, idle 0, pending 1, waiting 1\)/);
    expect((w.error as Error).cause).toBeInstanceOf(DialRefusedError);
    // one slot, one dial per 100 ms backoff delay: at most 11 in [0, 1000]; never a create loop
    expect(t.net.dials.length).toBeGreaterThanOrEqual(10);
    expect(t.net.dials.length).toBeLessThanOrEqual(11);
    expect(restartsOf(t)).toBe(t.net.dials.length);
    expect(t.pool.stats()).toMatchObject({ open: 0, pending: 1, timeouts: 1 });
    expect(t.pool.connections()).toEqual([expect.objectContaining({ id: 'conn-1', state: 'restarting' })]);
    t.net.setUp(A); // the endpoint comes back: the retrying slot connects
    await t.clock.advance(100);
    expect(t.pool.stats()).toMatchObject({ open: 1, idle: 1, pending: 0 });
    await shutdown(t);
  });

  it('fails over to the live priority group, and cycles through endpoints while all fail', async () => {
    const endpoints = [{ host: '10.0.0.1', port: 7000, priority: 0 }, { host: '10.0.0.2', port: 7000, priority: 1 }];
    const t = supervisedPool({ endpoints, min: 2, max: 2 }, [B]);
    await t.clock.advance(150, 10);
    // both slots started on the primary (nothing had failed yet), then moved
    expect(t.pool.connections().map((c) => [c.endpoint, c.state])).toEqual([[B, 'ready'], [B, 'ready']]);
    expect(poolEvents(t).filter((e) => e.type === 'failover')).toHaveLength(2);
    expect(t.net.dialsTo(A)).toBe(2);
    expect(await t.pool.use((c) => c.endpoint)).toBe(B);

    t.net.setDown(B); // the backup fails too; the primary is back
    t.net.setUp(A);
    await t.clock.advance(300, 10);
    expect(t.pool.connections().map((c) => [c.endpoint, c.state])).toEqual([[A, 'ready'], [A, 'ready']]);
    expect(t.pool.stats().endpoints).toMatchObject({ [A]: { open: 2 }, [B]: { open: 0, pending: 0 } });
    await shutdown(t);
  });

  it('bounds a validation probe by validationTimeoutMs; a stuck connection is replaced', async () => {
    const t = supervisedPool({ min: 1, max: 1, validateAfterIdleMs: 50, validationTimeoutMs: 200 });
    await t.clock.advance(1);
    await t.clock.advance(100);
    t.net.hangChecks = true;
    const w = track(t.pool.acquire());
    await t.clock.advance(199);
    expect(w.settled).toBe(0);
    t.net.hangChecks = false;
    await t.clock.advance(1);
    expect(t.pool.stats().closed.validation).toBe(1);
    await t.clock.advance(100, 10); // replaced after the backoff, fresh: no validation needed
    expect(w.value).toBeDefined();
    w.value!.release();
    await shutdown(t);
  });

  it('close(): forced after closeTimeoutMs for a held lease, then the supervisor leaves the tree', async () => {
    const t = supervisedPool({ min: 2, max: 2, closeTimeoutMs: 300 });
    await t.clock.advance(1);
    const held = await t.pool.acquire();
    const closing = track(t.pool.close());
    await t.clock.advance(299);
    expect(closing.settled).toBe(0);
    expect(t.net.open).toBe(1); // the idle one closed at once, the leased one still runs
    await t.clock.advance(1);
    expect(closing.settled).toBe(1);
    expect(() => held.conn).toThrow(LeaseLostError);
    expect(t.net.open).toBe(0);
    expect(createSupervisorHandle('root', 'root', () => t.rt.root).children()).toEqual([]);
    await expect(t.pool.acquire()).rejects.toBeInstanceOf(PoolClosedError);
    await shutdown(t);
    expect(t.clock.pendingActions).toBe(0);
  });

  it('closes itself when its supervisor goes away', async () => {
    const t = supervisedPool({ min: 1, max: 1, acquireTimeoutMs: 5000 });
    await t.clock.advance(1);
    const held = await t.pool.acquire();
    const w = track(t.pool.acquire());
    void createSupervisorHandle('root', 'root', () => t.rt.root).terminateChild('pool-1');
    await t.clock.advance(10);
    expect(t.pool.closed).toBe(true);
    expect(w.error).toBeInstanceOf(PoolClosedError);
    expect(() => held.conn).toThrow(LeaseLostError);
    await t.clock.advance(6000, 100);
    expect(t.pool.stats()).toMatchObject({ open: 0, pending: 0, leased: 0 });
    await shutdown(t);
    expect(t.clock.pendingActions).toBe(0);
  });

  it('rt.shutdown() closes the pool first and leaves no scheduled action', async () => {
    const t = supervisedPool({ min: 3, max: 3 });
    await t.clock.advance(1);
    const lease = await t.pool.acquire();
    const done = track(t.rt.shutdown());
    await t.clock.advance(1);
    expect(done.settled).toBe(0); // waiting for the lease
    lease.release();
    for (let i = 0; i < 10 && done.settled === 0; i++) await t.clock.advance(10);
    expect(done.settled).toBe(1);
    expect(t.pool.closed).toBe(true);
    expect(t.net.open).toBe(0);
    expect(t.clock.pendingActions).toBe(0);
    const types = t.events.map((e) => e.type);
    expect(types.lastIndexOf('pool')).toBeLessThan(types.indexOf('shutdown'));
  });
});
