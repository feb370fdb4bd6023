/**
 * A pool of node-postgres clients (custom() connect mode, the recipe of
 * examples/postgres-pool.ts) against a real PostgreSQL: queries through leases, a lease
 * inside a failed transaction is never probed (a SELECT 1 sent into it would fail and
 * kill a healthy connection), and a release leaves nothing to the next holder.
 */
import type pg from 'pg';
import { expect, it } from 'vitest';
import { postgres } from '../../examples/postgres-pool.js';
import { waitFor } from '../transport/helpers.js';
import { backendPid, backendsAfterClose, settingsOf, sleep, usePostgres, withPgPool } from './postgres-fixture.js';

const server = usePostgres();

it('serves concurrent queries through leases of at most max pg.Clients, each a backend of the test role, and ends them on shutdown', async () => {
  const pids = new Set<number>();
  await withPgPool(server(), { max: 3 }, async ({ pool }) => {
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => pool.use(async (client) => {
      const { rows } = await client.query<{ pid: number; n: number }>('SELECT pg_backend_pid() AS pid, $1::int * 2 AS n', [i]);
      pids.add(rows[0]!.pid);
      return rows[0]!.n;
    })));
    expect(results).toEqual(Array.from({ length: 30 }, (_, i) => i * 2));
    expect(pids.size).toBeGreaterThanOrEqual(1);
    expect(pids.size).toBeLessThanOrEqual(3);
    expect(pool.stats()).toMatchObject({ acquired: 30, leased: 0, waiting: 0 });
    const live = await server().backendPids();
    for (const pid of pids) expect(live).toContain(pid);
  });
  // rt.shutdown() closed every client (Terminate): their backends are gone.
  expect(await backendsAfterClose(server())).toEqual([]);
});

it('never probes a lease inside a failed transaction: after an idle gap of many heartbeats, ROLLBACK works on the same backend', async () => {
  // Window (1 + 1) × 100 = 200 ms: a probe into the failed transaction would have killed
  // the connection about 300 ms into the gap (first probe on the second tick, then the window).
  const heartbeat = { intervalMs: 50, maxTimeoutMs: 100, suspectProbes: 1 };
  const base = postgres(settingsOf(server()));
  const probed: pg.Client[] = [];
  const protocol = { ...base, probe: (client: pg.Client, signal: AbortSignal) => (probed.push(client), base.probe(client, signal)) };
  await withPgPool(server(), { max: 1, heartbeat, protocol }, async ({ pool, deaths, deadStates }) => {
    const lease = await pool.acquire();
    const client = lease.conn;
    const pid = await backendPid(client);
    await client.query('BEGIN');
    await expect(client.query('SELECT 1 / 0')).rejects.toMatchObject({ code: '22012' }); // division_by_zero
    // Inside the failed transaction the probe's own query would be refused:
    await expect(client.query('SELECT 1')).rejects.toMatchObject({ code: '25P02' }); // in_failed_sql_transaction
    // (pg rejects at the ErrorResponse; the status comes with the ReadyForQuery after it,
    // so it is read one round trip later.)
    expect(client.getTransactionStatus()).toBe('E');

    const probesBefore = probed.length;
    await sleep(12 * heartbeat.intervalMs);
    expect(probed.length - probesBefore, 'probes sent into the leased connection').toBe(0);
    expect(lease.conn).toBe(client); // not lost
    await client.query('ROLLBACK');
    expect(await backendPid(client)).toBe(pid);
    lease.release();

    // The same connection serves the next lease; idle, it is heartbeated again (the
    // counter above would have seen a probe).
    expect(await pool.use(backendPid)).toBe(pid);
    await waitFor(() => probed.length > probesBefore, 'a probe of the idle connection', 2000);
    expect(await pool.use(backendPid)).toBe(pid);
    expect(deaths()).toEqual([]);
    expect(deadStates()).toEqual([]);
  });
});

it('resetOnRelease: a SET, a temp table, a prepared statement and an open transaction do not reach the next holder of the same connection', async () => {
  await server().query('CREATE TABLE IF NOT EXISTS ledger (n int)');
  await server().query(`GRANT ALL ON ledger TO ${server().user}`);
  await withPgPool(server(), { max: 1, resetOnRelease: true }, async ({ pool }) => {
    const pid = await pool.use(async (client) => {
      await client.query("SET statement_timeout = '7s'");
      await client.query("SET application_name = 'dirty'");
      await client.query('CREATE TEMP TABLE scratch (n int)');
      await client.query('PREPARE two AS SELECT 2');
      await client.query('BEGIN');
      await client.query('INSERT INTO ledger VALUES (42)');
      expect(client.getTransactionStatus()).toBe('T');
      return backendPid(client);
    });
    await pool.use(async (client) => {
      expect(await backendPid(client)).toBe(pid); // the same session, reset (not replaced)
      expect(client.getTransactionStatus()).toBe('I');
      const { rows } = await client.query<Record<string, unknown>>(
        `SELECT current_setting('statement_timeout') AS timeout, current_setting('application_name') AS app,
                to_regclass('pg_temp.scratch') AS scratch, (SELECT count(*)::int FROM pg_prepared_statements) AS prepared,
                (SELECT count(*)::int FROM ledger WHERE n = 42) AS rows`,
      );
      expect(rows[0]).toEqual({ timeout: '0', app: '', scratch: null, prepared: 0, rows: 0 });
    });
  });
});

it('without resetOnRelease, a transaction left open or failed is still rolled back on release (needsReset), other session state stays as in pg-pool', async () => {
  await server().query('CREATE TABLE IF NOT EXISTS ledger (n int)');
  await server().query(`GRANT ALL ON ledger TO ${server().user}`);
  await withPgPool(server(), { max: 1 }, async ({ pool }) => {
    const pid = await pool.use(async (client) => {
      await client.query("SET application_name = 'kept'");
      await client.query('BEGIN');
      await client.query('INSERT INTO ledger VALUES (7)');
      return backendPid(client);
    });
    await pool.use(async (client) => {
      expect(await backendPid(client)).toBe(pid);
      expect(client.getTransactionStatus()).toBe('I');
      expect((await server().query('SELECT count(*)::int AS n FROM ledger WHERE n = 7'))[0]).toEqual({ n: 0 });
      // DISCARD ALL ran too (the recipe's reset); a session that is clean on release is not reset:
      expect((await client.query('SHOW application_name')).rows[0]).toEqual({ application_name: '' });
      await client.query("SET application_name = 'kept'");
      await client.query('BEGIN');
      await expect(client.query('SELECT 1 / 0')).rejects.toMatchObject({ code: '22012' });
      await expect(client.query('SELECT 1')).rejects.toMatchObject({ code: '25P02' });
      expect(client.getTransactionStatus()).toBe('E');
    });
    await pool.use(async (client) => {
      expect(await backendPid(client)).toBe(pid);
      expect(client.getTransactionStatus()).toBe('I'); // the failed transaction was rolled back
      expect((await client.query('SHOW application_name')).rows[0]).toEqual({ application_name: '' });
      await client.query("SET application_name = 'kept'");
    });
    // One string that opens a transaction and fails in it: pg rejects at the ErrorResponse,
    // and the status ('E') comes with the ReadyForQuery after it — in a later chunk about
    // one time in twenty, so the release reads the old 'I'. Repeated until that happened
    // a few times: each time the next holder must still get a connection outside any transaction.
    let staleReleases = 0;
    for (let i = 0; i < 2000 && staleReleases < 5; i++) {
      await pool.use(async (client) => {
        await expect(client.query('BEGIN; SELECT 1 / 0')).rejects.toMatchObject({ code: '22012' });
        if (client.getTransactionStatus() === 'I') staleReleases++;
      });
      await pool.use(async (client) => {
        expect(client.getTransactionStatus()).toBe('I');
        expect((await client.query<{ n: number }>('SELECT 1 AS n')).rows).toEqual([{ n: 1 }]);
      });
    }
    expect(staleReleases).toBe(5);
    await pool.use(async (client) => {
      expect(await backendPid(client)).toBe(pid);
      await client.query("SET application_name = 'kept'");
    });
    // Clean on release (no transaction): nothing runs, as with pg-pool.
    await pool.use(async (client) => {
      expect((await client.query('SHOW application_name')).rows[0]).toEqual({ application_name: 'kept' });
    });
  });
});
