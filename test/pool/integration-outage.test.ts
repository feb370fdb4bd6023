/**
 * Outages on 127.0.0.1: every endpoint down (a closed port), the server killed while 50
 * acquires queue and restarted on the same port, and failover between priority groups.
 * Real sockets and time; waits are bounded polls, and time assertions only check
 * "never early" and generous upper bounds (the machine is shared).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LeaseLostError, PoolTimeoutError, WirewardenError } from '../../src/errors.js';
import type { RuntimeEvent } from '../../src/observe/events.js';
import type { Lease } from '../../src/pool/lease.js';
import { constantBackoff, exponentialBackoff } from '../../src/supervisor/backoff.js';
import type { WireSession } from '../../src/transport/wire-session.js';
import { wire } from '../../src/transport/wire.js';
import { cleanup, closedPort, runtime, startServer, TOKEN, waitFor } from './helpers/loopback.js';

afterEach(cleanup);

const heartbeat = { intervalMs: 200, minTimeoutMs: 20, maxTimeoutMs: 500 };

describe('pool outages over loopback', () => {
  it('every endpoint down: acquires time out with the dial error as cause; dials are paced by the backoff', async () => {
    const port = await closedPort();
    const rt = runtime();
    const restarts: RuntimeEvent[] = [];
    rt.events$.subscribe((e) => e.type === 'restart' && restarts.push(e));
    const pool = rt.createPool({
      endpoints: [{ host: '127.0.0.1', port }], protocol: wire({ token: TOKEN }), max: 3, acquireTimeoutMs: 600,
      heartbeat, backoff: constantBackoff({ delayMs: 100 }),
    });
    const started = Date.now();
    const errors = await Promise.all([pool.acquire(), pool.acquire()].map((p) => p.catch((e: unknown) => e)));
    const elapsedMs = Date.now() - started;
    for (const err of errors) {
      expect(err).toBeInstanceOf(PoolTimeoutError);
      expect((err as Error).message).toMatch(/^acquire timed out after 600 ms \(size 2, leased 0, idle 0, pending 2, waiting \d, shared 0, in flight 0, dispatches waiting 0\)/);
      expect(((err as Error).cause as WirewardenError).code).toBe('WW_DIAL_REFUSED');
    }
    expect(elapsedMs).toBeGreaterThanOrEqual(590);
    // Two slots (one per waiter, never more), each redialing once per 100 ms: no create loop.
    expect(pool.stats()).toMatchObject({ open: 0, pending: 2, timeouts: 2 });
    const perSlotBound = Math.ceil(elapsedMs / 100) + 1;
    expect(restarts.length).toBeGreaterThanOrEqual(2);
    expect(restarts.length).toBeLessThanOrEqual(2 * perSlotBound);
    expect(new Set(restarts.map((e) => (e as { id: string }).id))).toEqual(new Set(['conn-1', 'conn-2']));
  });

  it('the server killed while 50 acquires queue, then restarted: every waiter gets a connection once', async () => {
    const first = await startServer();
    const { port } = first;
    const rt = runtime();
    const pool = rt.createPool({
      endpoints: [{ host: '127.0.0.1', port }], protocol: wire({ token: TOKEN }), min: 5, max: 5, acquireTimeoutMs: 8000,
      heartbeat, backoff: exponentialBackoff({ initialMs: 20, maxMs: 200, multiplier: 2, jitter: 'full' }),
    });
    await waitFor('warm', () => pool.stats().open === 5);
    const held: Lease<WireSession>[] = await Promise.all(Array.from({ length: 5 }, () => pool.acquire()));
    const settles = new Array<number>(50).fill(0);
    const grants = new Set<Lease<WireSession>>();
    const waiters = Array.from({ length: 50 }, (_, i) =>
      pool.acquire().then(
        async (lease) => {
          settles[i]!++;
          grants.add(lease);
          try {
            return await lease.conn.request(i);
          } finally {
            lease.release();
          }
        },
        (err: unknown) => {
          settles[i]!++;
          throw err;
        },
      ));
    expect(pool.stats().waiting).toBe(50);

    await first.server.close({ graceful: false }); // every connection reset, the port closed
    await waitFor('held leases lost', () => held.every((l) => !l.active));
    for (const lease of held) {
      expect(() => lease.conn).toThrow(LeaseLostError);
      lease.release();
    }
    const key = `127.0.0.1:${port}`;
    await waitFor('redials refused', () => pool.stats().endpoints[key]!.failures >= 10);
    expect(pool.stats()).toMatchObject({ open: 0, pending: 5, waiting: 50, max: 5 });

    const second = await startServer({ port });
    const replies = await Promise.all(waiters);
    expect(replies).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(settles.every((n) => n === 1)).toBe(true);
    expect(grants.size).toBe(50);
    let s = pool.stats();
    expect(s.open + s.pending).toBe(5); // the first connections back may serve everyone
    await waitFor('every slot reconnected', () => pool.stats().open === 5);
    s = pool.stats();
    expect(s).toMatchObject({ open: 5, leased: 0, pending: 0, waiting: 0, acquired: 55, timeouts: 0, closed: { dead: 5 } });
    expect(s.waitCount).toBeGreaterThanOrEqual(50);
    await waitFor('server sees the pool', () => second.server.connections === 5);
  }, 15_000);

  it('fails over to the backup group, and back when the backup dies and the primary returns', async () => {
    const primaryPort = await closedPort();
    const backup = await startServer();
    const rt = runtime();
    const failovers: RuntimeEvent[] = [];
    rt.events$.subscribe((e) => e.type === 'pool' && e.event.type === 'failover' && failovers.push(e));
    const pool = rt.createPool({
      endpoints: [{ host: '127.0.0.1', port: primaryPort, priority: 0 }, { host: '127.0.0.1', port: backup.port, priority: 1 }],
      protocol: wire({ token: TOKEN }), min: 2, max: 2, heartbeat, backoff: constantBackoff({ delayMs: 50 }),
    });
    const primaryKey = `127.0.0.1:${primaryPort}`;
    const backupKey = `127.0.0.1:${backup.port}`;
    await waitFor('both on the backup', () => pool.connections().filter((c) => c.state === 'ready' && c.endpoint === backupKey).length === 2);
    expect(failovers.length).toBeGreaterThanOrEqual(1);
    expect(await pool.use((conn) => conn.request('via backup'))).toBe('via backup');

    const primary = await startServer({ port: primaryPort });
    await backup.server.close({ graceful: false });
    await waitFor('both back on the primary', () => pool.connections().filter((c) => c.state === 'ready' && c.endpoint === primaryKey).length === 2);
    expect(primary.server.connections).toBe(2);
    expect(await pool.use((conn) => conn.request('via primary'))).toBe('via primary');
    expect(pool.stats().endpoints).toMatchObject({ [primaryKey]: { open: 2 }, [backupKey]: { open: 0, pending: 0 } });
  });
});
