/**
 * `rt.createPool` over a connect-mode protocol (`custom({ connect, … })`: a library that
 * dials by itself), with the real supervisor and connection actors, in virtual time. The
 * fake client (test/actors/helpers/fake-db-client.ts) stands for node-postgres.
 */
import { describe, expect, it } from 'vitest';
import { hasCode, LeaseLostError } from '../../src/errors.js';
import type { Pool } from '../../src/pool/pool.js';
import type { CreatePoolOptions } from '../../src/pool/create-pool.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { constantBackoff, exponentialBackoff } from '../../src/supervisor/backoff.js';
import { FakeDbError, FakeDbServer, fakeDbProtocol, type FakeDbClient, type FakeDbProtocolOptions } from '../actors/helpers/fake-db-client.js';
import { VirtualClock } from './helpers/virtual-clock.js';

interface DbPool {
  rt: Runtime;
  pool: Pool<FakeDbClient>;
  server: FakeDbServer;
  clock: VirtualClock;
  connects: unknown[];
}

function dbPool(options: Partial<CreatePoolOptions<FakeDbClient>> = {}, protocolOptions: FakeDbProtocolOptions = {}): DbPool {
  const clock = new VirtualClock();
  const server = new FakeDbServer({ scheduler: clock.scheduler });
  const { protocol, connects } = fakeDbProtocol(server, protocolOptions);
  const rt = createRuntime({ scheduler: clock.scheduler, random: () => 0.5, loadSource: () => 0 });
  const pool = rt.createPool<FakeDbClient>({
    endpoints: [{ host: '127.0.0.1', port: 5432 }],
    protocol,
    min: 1,
    max: 2,
    heartbeat: { intervalMs: 1000, maxTimeoutMs: 200, suspectProbes: 1 },
    backoff: constantBackoff({ delayMs: 100 }),
    housekeepingIntervalMs: 100,
    ...options,
  });
  return { rt, pool, server, clock, connects };
}

async function shutdown(t: DbPool): Promise<void> {
  const done = t.rt.shutdown();
  let settled = false;
  void done.then(() => (settled = true), () => (settled = true));
  for (let i = 0; i < 400 && !settled; i++) await t.clock.advance(50);
  await done;
}

const selects = (server: FakeDbServer) => server.queries.filter((q) => q.sql === 'SELECT 1').map((q) => q.at);

describe('a pool of self-dialing clients (virtual time)', () => {
  it('leases the clients connect resolved with; queries go through leases', async () => {
    const t = dbPool();
    await t.clock.advance(1);
    expect(t.pool.stats()).toMatchObject({ open: 1, idle: 1 });
    const lease = await t.pool.acquire();
    expect(lease.conn).toBe(t.server.clients[0]);
    const reply = lease.conn.query('SELECT 42');
    await t.clock.advance(1);
    expect(await reply).toBe('ok SELECT 42');
    lease.release();
    expect(await t.pool.use(async (client) => {
      const r = client.query('SELECT 7');
      await t.clock.advance(1);
      return r;
    })).toBe('ok SELECT 7');
    await shutdown(t);
  });

  it('a client the server kills: its lease is lost with the library error as cause, and the slot redials after the backoff', async () => {
    const t = dbPool({ min: 1, max: 1 });
    await t.clock.advance(1);
    const lease = await t.pool.acquire();
    const killed = t.server.clients[0]!;
    t.server.kill(killed);
    await t.clock.advance(1);
    expect(() => lease.conn).toThrow(LeaseLostError);
    let cause: unknown;
    try {
      void lease.conn;
    } catch (err) {
      cause = (err as Error).cause;
    }
    expect(hasCode(cause, 'WW_CONNECTION_CLOSED')).toBe(true);
    expect((cause as Error).cause).toBeInstanceOf(FakeDbError);
    lease.release();
    expect(t.pool.stats()).toMatchObject({ open: 0, pending: 1 });
    expect(t.connects).toHaveLength(1);
    await t.clock.advance(98); // died at 1
    expect(t.connects).toHaveLength(1);
    await t.clock.advance(1);
    expect(t.connects).toHaveLength(2); // the backoff's 100 ms
    expect(t.pool.stats()).toMatchObject({ open: 1, idle: 1 });
    const next = await t.pool.acquire();
    expect(next.conn).toBe(t.server.clients[1]);
    expect(next.conn).not.toBe(killed);
    next.release();
    await shutdown(t);
  });

  it('never probes a leased client, however long the lease; probes it once it is idle again', async () => {
    const t = dbPool({ min: 1, max: 1 });
    await t.clock.advance(1);
    const lease = await t.pool.acquire();
    await t.clock.advance(5000, 100); // five heartbeat intervals inside the lease
    expect(selects(t.server)).toEqual([]);
    expect(t.pool.connections()[0]!.state).toBe('ready');
    lease.release();
    await t.clock.advance(2000, 100);
    expect(selects(t.server).length).toBeGreaterThan(0);
    await shutdown(t);
  });

  it('a frozen server: idle clients are dead within the heartbeat bound and acquires stop getting them', async () => {
    const t = dbPool({ min: 2, max: 2, acquireTimeoutMs: 300 });
    await t.clock.advance(1);
    t.server.frozen = true;
    t.server.connectHangs = true; // redials get nowhere either
    // Bound: intervalMs (1000) + suspicion window ((1 + 1) × 200).
    await t.clock.advance(1400, 50);
    expect(t.pool.stats()).toMatchObject({ open: 0 });
    const err = t.pool.acquire().catch((e: unknown) => e);
    await t.clock.advance(400, 50);
    expect(hasCode(await err, 'WW_POOL_TIMEOUT')).toBe(true);
    t.server.frozen = false;
    t.server.connectHangs = false;
    await shutdown(t);
  });

  it('resetOnRelease runs reset(client) on every release, before the next lease', async () => {
    const t = dbPool({ min: 1, max: 1, resetOnRelease: true }, { withReset: true });
    await t.clock.advance(1);
    const lease = await t.pool.acquire();
    lease.release();
    const next = t.pool.acquire();
    await t.clock.advance(5);
    expect(t.server.queries.map((q) => q.sql)).toEqual(['DISCARD ALL']);
    (await next).release();
    await t.clock.advance(5);
    expect(t.server.queries.map((q) => q.sql)).toEqual(['DISCARD ALL', 'DISCARD ALL']);
    await shutdown(t);
  });

  it('a reset still running when the pool closes is aborted: its validationTimeoutMs timer does not outlive shutdown', async () => {
    const clock = new VirtualClock();
    const server = new FakeDbServer({ scheduler: clock.scheduler });
    const { protocol } = fakeDbProtocol(server);
    const signals: AbortSignal[] = [];
    const rt = createRuntime({ scheduler: clock.scheduler, random: () => 0.5, loadSource: () => 0 });
    const pool = rt.createPool<FakeDbClient>({
      endpoints: [{ host: '127.0.0.1', port: 5432 }],
      // A reset that never settles by itself (a library call with no timeout of its own).
      protocol: { ...protocol, reset: (_client, signal) => new Promise<void>(() => void (signal && signals.push(signal))) },
      min: 1, max: 1, resetOnRelease: true, validationTimeoutMs: 600_000,
      heartbeat: { intervalMs: 1000, maxTimeoutMs: 200, suspectProbes: 1 },
      backoff: constantBackoff({ delayMs: 100 }),
      housekeepingIntervalMs: 100,
    });
    await clock.advance(1);
    (await pool.acquire()).release();
    await clock.advance(5);
    expect(signals).toHaveLength(1);
    expect(signals[0]!.aborted).toBe(false);
    await shutdown({ rt, pool, server, clock, connects: [] });
    expect(signals[0]!.aborted).toBe(true);
    expect(clock.pendingActions).toBe(0);
  });

  it('a permanent refusal (refused(err)) fails acquires at once with the library error as the cause of the cause', async () => {
    const auth = new FakeDbError('password authentication failed for user "app"', '28P01');
    const t = dbPool({ acquireTimeoutMs: 10_000, backoff: exponentialBackoff({ initialMs: 100, maxMs: 2000, jitter: 'none' }) },
      { refused: (e) => (e as FakeDbError).code === '28P01' });
    t.server.connectError = auth;
    const queued = t.pool.acquire().catch((e: unknown) => e);
    await t.clock.advance(1);
    const err = (await queued) as Error;
    expect(hasCode(err, 'WW_ENDPOINT_REFUSED')).toBe(true);
    expect(hasCode(err.cause, 'WW_HANDSHAKE_REFUSED')).toBe(true);
    expect((err.cause as Error).cause).toBe(auth);
    expect(err.message).toContain('password authentication failed for user "app"');
    // Recovers by itself once the server accepts (at the slowest pace).
    t.server.connectError = undefined;
    await t.clock.advance(2100, 100);
    const lease = await t.pool.acquire({ timeoutMs: 1 });
    lease.release();
    await shutdown(t);
  });

  it('pool.close() and rt.shutdown() end every client and leave no timer behind', async () => {
    const t = dbPool({ min: 2, max: 2 });
    await t.clock.advance(1);
    const lease = await t.pool.acquire();
    lease.release();
    const closing = t.pool.close();
    await t.clock.advance(10);
    await closing;
    expect(t.server.clients).toHaveLength(2);
    expect(t.server.clients.every((c) => c.ended)).toBe(true);
    expect(t.server.clients.every((c) => c.endSignals.length === 1)).toBe(true);
    await shutdown(t);
    expect(t.clock.pendingActions).toBe(0);

    // Shutdown alone (the pool still open, a lease out) ends them too.
    const u = dbPool({ min: 2, max: 2 });
    await u.clock.advance(1);
    const held = await u.pool.acquire();
    await shutdown(u);
    expect(() => held.conn).toThrow();
    expect(u.server.clients.every((c) => c.ended)).toBe(true);
    expect(u.clock.pendingActions).toBe(0);
  });
});
