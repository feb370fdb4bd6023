/**
 * A pool of node-postgres clients under real PostgreSQL faults: a frozen server (SIGSTOP
 * of the postmaster and every backend) is detected by the heartbeat within its bound and
 * callers then fail at their own deadline; `pg_terminate_backend` of a leased and an idle
 * connection is reported by the client at once (`lost`), the lease fails with the
 * server's reason and both are replaced; after `pg_ctl restart` the pool serves again
 * within about its first backoff delay.
 */
import { expect, it } from 'vitest';
import { detectionBoundMs } from '../../src/chaos/index.js';
import { exponentialBackoff, hasCode } from '../../src/index.js';
import { rejection, waitFor } from '../transport/helpers.js';
import { backendPid, usePostgres, withPgPool } from './postgres-fixture.js';

const server = usePostgres();

/** Every message down an error's cause chain, outermost first. */
function causeMessages(err: unknown): string[] {
  const out: string[] = [];
  for (let e: unknown = err; e instanceof Error; e = e.cause) out.push(`${(e as { code?: string }).code ?? e.name}: ${e.message}`);
  return out;
}

it('a frozen server: every idle connection dead within the detection bound, then callers fail at their own deadline; served again after the thaw', async () => {
  const heartbeat = { intervalMs: 100, minTimeoutMs: 50, maxTimeoutMs: 200, suspectProbes: 2 };
  // 2 × interval + window (1 + 2) × 200 ms stretched by the ELU allowance: 1100 ms.
  const boundMs = detectionBoundMs(heartbeat);
  await withPgPool(server(), { min: 3, max: 3, heartbeat, connectTimeoutMs: 300, handshakeTimeoutMs: 300 }, async ({ pool, deaths, deadStates }) => {
    await waitFor(
      () => pool.stats().open === 3 && pool.stats().leased === 0 && pool.connections().every((c) => c.rttMs !== undefined),
      'three idle, heartbeated connections',
    );
    const frozenAt = Date.now();
    server().freezeServer();
    await waitFor(() => deaths().length >= 3, 'every connection to die', 4 * boundMs);
    const latencies = deaths().map((d) => d.at - frozenAt);
    expect(Math.max(...latencies), `death latencies ${latencies.join(', ')} ms`).toBeLessThanOrEqual(boundMs);
    expect(deadStates().map((s) => s.reason)).toEqual(['heartbeat-timeout', 'heartbeat-timeout', 'heartbeat-timeout']);

    // Nothing open, every redial hangs in the frozen server's backlog until its connect
    // timeout: a caller gets its own deadline, not a hang on a dead socket.
    const t0 = Date.now();
    const err = await rejection(pool.use(backendPid, { timeoutMs: 400 }));
    const waitedMs = Date.now() - t0;
    expect(hasCode(err, 'WW_POOL_TIMEOUT'), causeMessages(err).join('\n')).toBe(true);
    expect(waitedMs).toBeGreaterThanOrEqual(400);
    expect(waitedMs).toBeLessThan(1500); // its own 400 ms, plus a loaded machine's late timer
    expect(pool.health()).toMatchObject({ ready: false });

    server().thaw();
    await waitFor(() => pool.stats().open > 0, 'a connection after the thaw', 5000);
    expect(await pool.use(backendPid)).toBeGreaterThan(0);
  });
});

it('pg_terminate_backend of a leased and an idle connection: reported at once, the lease fails with the server reason, both replaced by new backends', async () => {
  // The default 5 s heartbeat: detection below comes from the client's own 'error'/'end'.
  await withPgPool(server(), { min: 2, max: 2 }, async ({ pool, deaths, events }) => {
    await waitFor(() => pool.stats().open === 2, 'two connections');
    const lease = await pool.acquire();
    const client = lease.conn;
    const leasedPid = await backendPid(client);
    const idlePid = (await server().backendPids()).find((pid) => pid !== leasedPid)!;
    expect(idlePid).toBeGreaterThan(0);

    const running = client.query('SELECT pg_sleep(30)');
    running.catch(() => {});
    const t0 = Date.now();
    await server().terminate(leasedPid);
    await server().terminate(idlePid);

    // The query in flight fails with the server's own reason…
    const queryErr = await rejection(running);
    expect(queryErr.message).toBe('terminating connection due to administrator command');
    expect((queryErr as { code?: string }).code).toBe('57P01'); // admin_shutdown
    await waitFor(() => deaths().length >= 2, 'both connections to die', 2000);
    expect(Date.now() - t0).toBeLessThan(1000); // far below the 5 s heartbeat interval
    // …and the lease is lost, its cause chain naming it.
    let leaseErr: unknown;
    try {
      void lease.conn;
    } catch (e) {
      leaseErr = e;
    }
    expect(hasCode(leaseErr, 'WW_LEASE_LOST')).toBe(true);
    expect(causeMessages(leaseErr).join('\n')).toContain('terminating connection due to administrator command');
    expect(events.filter((e) => e.type === 'lease-lost')).toHaveLength(1);
    lease.release(); // acknowledges the loss

    await waitFor(() => pool.stats().open === 2, 'two replacements', 3000);
    const pids = await Promise.all([pool.use(backendPid), pool.use(backendPid)]);
    const now = await server().backendPids();
    expect(now).toHaveLength(2);
    expect(now).not.toContain(leasedPid);
    expect(now).not.toContain(idlePid);
    for (const pid of pids) expect(now).toContain(pid);
  });
});

it('pg_ctl restart: the pool serves again within about its first backoff delay after the server is back', async () => {
  const initialMs = 100;
  const backoff = exponentialBackoff({ initialMs, maxMs: 2000, multiplier: 2, jitter: 'none' });
  await withPgPool(server(), { min: 2, max: 2, backoff, acquireTimeoutMs: 10_000 }, async ({ pool, deaths }) => {
    await waitFor(() => pool.stats().open === 2, 'two connections');
    const before = await server().backendPids();
    let backAt = 0;
    let firstServedAt = 0;
    let served = 0;
    // Callers keep querying through the restart; each call waits for a connection.
    let stop = false;
    const callers = Array.from({ length: 4 }, async () => {
      while (!stop) {
        try {
          await pool.use((client) => client.query('SELECT 1'));
          served++;
          if (backAt > 0 && firstServedAt === 0) firstServedAt = Date.now();
        } catch {
          // a query on a connection the restart closed: the next call gets another
        }
      }
    });
    const t0 = Date.now();
    await server().restart();
    backAt = Date.now();
    await waitFor(() => firstServedAt > 0, 'a query served after the restart', 10_000);
    stop = true;
    await Promise.all(callers);
    const downMs = backAt - t0;
    const recoveryMs = firstServedAt - backAt;
    expect(deaths().length).toBeGreaterThanOrEqual(2);
    expect(served).toBeGreaterThan(0);
    // The slot's redials while the server was down: initialMs, 2×, 4×… A recovery no later
    // than the next redial after the server is back, plus a connect.
    expect(recoveryMs, `restart took ${downMs} ms; first query ${recoveryMs} ms after the server was back`)
      .toBeLessThanOrEqual(Math.max(4 * initialMs, downMs) + 200);
    expect((await server().backendPids()).every((pid) => !before.includes(pid))).toBe(true);
  });
});

it("a leased connection to a frozen backend is never probed: pg's query_timeout fails the caller, the release retires the connection, a new backend serves", async () => {
  await withPgPool(server(), { max: 1, validationTimeoutMs: 300, settings: { query_timeout: 300 } }, async ({ pool, events }) => {
    const lease = await pool.acquire();
    const pid = await backendPid(lease.conn);
    await server().freezeBackends();
    const t0 = Date.now();
    await expect(lease.conn.query('SELECT 1')).rejects.toThrow('Query read timeout');
    expect(Date.now() - t0).toBeLessThan(1000);
    lease.release(); // a query still outstanding: reset, which waits for it, times out
    await waitFor(() => events.some((e) => e.type === 'connection-closed' && e.reason === 'reset-failed'), 'the connection retired', 3000);
    const next = await pool.use(backendPid, { timeoutMs: 3000 });
    expect(next).not.toBe(pid);
    server().thaw();
  });
});
