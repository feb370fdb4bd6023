/**
 * The mysql2 recipe (examples/mysql2-pool.ts) against a real MariaDB (a throwaway
 * instance: test/helpers/mariadb-server.ts): queries through leases, the session reset
 * between leases (COM_RESET_CONNECTION), a killed connection reported at once and
 * replaced, a frozen server detected by the heartbeat, a wrong password refused fast with
 * no secret in any output, and the example itself run as a user runs it. Real time with
 * bounded polling; no socket, timer or server connection left after each test.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { mysqlConnections, type MysqlClientSettings } from '../../examples/mysql2-pool.js';
import {
  createRuntime, exponentialBackoff, hasCode,
  type CreatePoolOptions, type Pool, type PoolConnectionClosedEvent, type PoolEvent, type RuntimeEvent,
} from '../../src/index.js';
import { startMariaDb, type MariaDbServer } from '../helpers/mariadb-server.js';
import { expectHandlesBackTo, handleCounts, rejection, waitFor } from '../transport/helpers.js';

let db: MariaDbServer | undefined;
let baseline: Record<string, number> = {};
beforeAll(async () => {
  db = await startMariaDb();
}, 60_000);
afterAll(async () => {
  await db?.stop();
}, 60_000);
beforeEach(() => {
  baseline = handleCounts();
});
afterEach(async () => {
  server().thaw();
  await expectHandlesBackTo(baseline);
  expect(await threadsAfterClose()).toEqual([]);
});

function server(): MariaDbServer {
  if (db === undefined) throw new Error('MariaDB did not start (see beforeAll)');
  return db;
}

/** Polls until the test user has no connection left on the server; resolves with what is left. */
async function threadsAfterClose(timeoutMs = 3000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let ids = await server().threadIds();
  while (ids.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    ids = await server().threadIds();
  }
  return ids;
}

interface Under {
  readonly pool: Pool<Connection>;
  readonly events: PoolEvent[];
  readonly runtimeEvents: RuntimeEvent[];
  deaths(): PoolConnectionClosedEvent[];
}

/** A pool of mysql2 connections on the test database; runs `body`, always shuts down. */
async function withPool(
  options: Omit<CreatePoolOptions<Connection>, 'endpoints' | 'protocol'> & { settings?: MysqlClientSettings },
  body: (t: Under) => Promise<void>,
): Promise<void> {
  const rt = createRuntime();
  try {
    const runtimeEvents: RuntimeEvent[] = [];
    rt.events$.subscribe((e) => runtimeEvents.push(e));
    const { settings, ...rest } = options;
    const { user, password, database } = server().config;
    const pool = rt.createPool<Connection>({
      backoff: exponentialBackoff({ initialMs: 50, maxMs: 400, multiplier: 2, jitter: 'none' }),
      ...rest,
      protocol: mysqlConnections({ user, password, database, ...settings }),
      endpoints: [server().endpoint],
    });
    const events: PoolEvent[] = [];
    pool.events$.subscribe((e) => events.push(e));
    await body({
      pool, events, runtimeEvents,
      deaths: () => events.filter((e): e is PoolConnectionClosedEvent => e.type === 'connection-closed' && e.reason === 'dead'),
    });
  } finally {
    await rt.shutdown();
  }
}

async function one<R = Record<string, unknown>>(conn: Connection, sql: string, params: unknown[] = []): Promise<R> {
  const [rows] = await conn.query<RowDataPacket[]>(sql, params);
  return rows[0] as R;
}

it('queries through leases: 30 concurrent callers on at most max connections', async () => {
  await withPool({ min: 1, max: 3 }, async ({ pool }) => {
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) =>
      pool.use((conn) => one<{ n: number }>(conn, 'SELECT ? * 2 AS n', [i])).then((r) => Number(r.n))));
    expect(results).toEqual(Array.from({ length: 30 }, (_, i) => i * 2));
    const ids = await server().threadIds();
    expect(ids.length).toBeGreaterThanOrEqual(1);
    expect(ids.length).toBeLessThanOrEqual(3);
  });
});

it('resetOnRelease: the next lease of the same connection inherits no variable, temporary table, transaction, setting or charset', async () => {
  await server().query('CREATE TABLE IF NOT EXISTS wirewarden.orders (n INT)');
  await server().query('DELETE FROM wirewarden.orders');
  await withPool({ min: 1, max: 1, resetOnRelease: true }, async ({ pool }) => {
    const first = await pool.use(async (conn) => {
      await conn.query("SET @scratch = 42, SESSION sql_mode = 'ANSI', NAMES latin1");
      await conn.query('CREATE TEMPORARY TABLE scratch (n INT)');
      await conn.query('START TRANSACTION');
      await conn.query('INSERT INTO orders VALUES (1)');
      return conn.threadId;
    });
    const next = await pool.use(async (conn) => ({
      thread: conn.threadId,
      ...(await one(conn, "SELECT @scratch AS scratch, @@in_transaction AS tx, @@sql_mode = 'ANSI' AS ansi, ? AS text", ['ü€ ok'])),
      table: await conn.query('SELECT n FROM scratch').then(() => 'still there', (err: { code?: string }) => err.code),
    }));
    expect(next).toEqual({ thread: first, scratch: null, tx: 0, ansi: 0, text: 'ü€ ok', table: 'ER_NO_SUCH_TABLE' });
    // The transaction was rolled back, not committed.
    expect(await server().query('SELECT COUNT(*) AS c FROM wirewarden.orders')).toEqual([{ c: 0 }]);
  });
});

it('without resetOnRelease: an open transaction is still rolled back before the next lease (needsReset); a user variable is not', async () => {
  await server().query('CREATE TABLE IF NOT EXISTS wirewarden.orders (n INT)');
  await server().query('DELETE FROM wirewarden.orders');
  await withPool({ min: 1, max: 1 }, async ({ pool }) => {
    const first = await pool.use(async (conn) => {
      await conn.query('SET @kept = 7');
      await conn.query('START TRANSACTION');
      await conn.query('INSERT INTO orders VALUES (1)');
      return conn.threadId;
    });
    const next = await pool.use(async (conn) => ({
      thread: conn.threadId, ...(await one<{ tx: number; kept: unknown }>(conn, 'SELECT @@in_transaction AS tx, @kept AS kept')),
    }));
    expect(next.thread).toBe(first);
    expect(next.tx).toBe(0);
    expect(await server().query('SELECT COUNT(*) AS c FROM wirewarden.orders')).toEqual([{ c: 0 }]);
    // The reset ran (COM_RESET_CONNECTION clears variables too) only because of the transaction:
    expect(next.kept).toBeNull();
    // A session with nothing the protocol can see is handed on as it is.
    await pool.use((conn) => conn.query('SET @kept = 8'));
    expect(await pool.use((conn) => one(conn, 'SELECT @kept AS kept'))).toEqual({ kept: 8 });
  });
});

it('KILL of a leased and an idle connection: the running query fails with the server reason, the lease is lost, both are replaced at once', async () => {
  // The default 5 s heartbeat: detection below comes from mysql2's own events.
  await withPool({ min: 2, max: 2 }, async ({ pool, deaths, events }) => {
    await waitFor(() => pool.stats().open === 2, 'two connections');
    const lease = await pool.acquire();
    const leasedId = lease.conn.threadId;
    const idleId = (await server().threadIds()).find((id) => id !== leasedId)!;
    expect(idleId).toBeGreaterThan(0);

    const running = lease.conn.query('SELECT SLEEP(30)');
    running.catch(() => {});
    // The query is running on the server before the KILL (not still in mysql2's queue).
    for (let i = 0; i < 100; i++) {
      const rows = await server().query<{ n: number }>("SELECT COUNT(*) AS n FROM information_schema.processlist WHERE id = ? AND info LIKE 'SELECT SLEEP%'", [leasedId]);
      if (Number(rows[0]!.n) === 1) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const t0 = Date.now();
    await server().kill(leasedId);
    await server().kill(idleId);

    const queryErr = await rejection(running);
    expect(`${(queryErr as { code?: string }).code}: ${queryErr.message}`).toMatch(/^(ER_CONNECTION_KILLED: Connection was killed|PROTOCOL_CONNECTION_LOST: Connection lost: The server closed the connection\.)$/);
    await waitFor(() => deaths().length >= 2, 'both connections to die', 2000);
    expect(Date.now() - t0).toBeLessThan(1000); // far below the 5 s heartbeat interval
    let leaseErr: unknown;
    try {
      void lease.conn;
    } catch (e) {
      leaseErr = e;
    }
    expect(hasCode(leaseErr, 'WW_LEASE_LOST')).toBe(true);
    // The death's cause is mysql2's own error, the connection's end as mysql2 saw it.
    const cause = (leaseErr as Error).cause as Error;
    expect(hasCode(cause, 'WW_CONNECTION_CLOSED')).toBe(true);
    expect(cause.message).toMatch(/^connection to 127\.0\.0\.1:\d+ failed: (Connection was killed|Connection lost: The server closed the connection\.)$/);
    expect(events.filter((e) => e.type === 'lease-lost')).toHaveLength(1);
    lease.release();

    await waitFor(() => pool.stats().open === 2, 'two replacements', 3000);
    const ids = await Promise.all([pool.use((c) => c.threadId), pool.use((c) => c.threadId)]);
    expect(ids).not.toContain(leasedId);
    expect(ids).not.toContain(idleId);
    expect(await pool.use((c) => one(c, 'SELECT 1 AS ok'))).toEqual({ ok: 1 });
  });
});

it('a frozen server (SIGSTOP): idle connections are declared dead within the detection bound, and the pool serves again after the thaw', async () => {
  const heartbeat = { intervalMs: 100, minTimeoutMs: 50, maxTimeoutMs: 200, suspectProbes: 2 };
  await withPool({ min: 2, max: 2, heartbeat, connectTimeoutMs: 500, handshakeTimeoutMs: 500, closeTimeoutMs: 200 }, async ({ pool, deaths, runtimeEvents }) => {
    await waitFor(() => pool.stats().open === 2, 'two connections');
    server().freeze();
    const t0 = Date.now();
    await waitFor(() => deaths().length >= 2, 'both connections declared dead', 5000);
    // Bound: interval + suspicion window (3 × 200 ms) = 700 ms, with slack for a loaded machine.
    expect(Date.now() - t0).toBeLessThan(2500);
    const heartbeatDeaths = runtimeEvents.filter((e) => e.type === 'state' && e.to === 'dead' && e.reason === 'heartbeat-timeout');
    expect(heartbeatDeaths.length).toBeGreaterThanOrEqual(2); // the probes found it, not a socket event
    server().thaw();
    await waitFor(() => pool.stats().open === 2, 'two connections after the thaw', 5000);
    expect(await pool.use((c) => one(c, 'SELECT 1 AS ok'))).toEqual({ ok: 1 });
  });
});

it('a wrong password fails callers at once with the server message; the password is in no output', async () => {
  const wrong = 'Wq9-ue-Xr4#Lp2!Zk7%Vb8&Tc3*Hn6+Yd5';
  const warnings: string[] = [];
  const logger = { warn: (message: string) => void warnings.push(message) };
  await withPool({ min: 1, max: 2, acquireTimeoutMs: 10_000, logger, settings: { password: wrong } }, async ({ pool, events, runtimeEvents }) => {
    const t0 = Date.now();
    const err = await rejection(pool.use((c) => c.threadId));
    expect(Date.now() - t0).toBeLessThan(3000); // not acquireTimeoutMs
    expect(hasCode(err, 'WW_ENDPOINT_REFUSED')).toBe(true);
    const refusal = err.cause as Error;
    expect(hasCode(refusal, 'WW_HANDSHAKE_REFUSED')).toBe(true);
    expect(refusal.message).toBe(`connect to 127.0.0.1:${server().port} refused: Access denied for user 'ww_app'@'127.0.0.1' (using password: YES)`);
    expect((refusal.cause as { code?: string }).code).toBe('ER_ACCESS_DENIED_ERROR');
    const outputs = [
      inspect(err, { depth: null, showHidden: true }), JSON.stringify(pool.stats()), JSON.stringify(pool.health()),
      JSON.stringify(pool.connections()), inspect(events, { depth: 8 }), inspect(runtimeEvents, { depth: 8 }), ...warnings,
    ].join('\n');
    expect(warnings.join('\n')).toContain("Access denied for user 'ww_app'@'127.0.0.1'");
    for (let i = 0; i + 8 <= wrong.length; i++) expect(outputs).not.toContain(wrong.slice(i, i + 8));
  });
});

it('shutdown closes every connection with COM_QUIT: the server has none left, no socket or timer either', async () => {
  await withPool({ min: 3, max: 3 }, async ({ pool }) => {
    await waitFor(() => pool.stats().open === 3, 'three connections');
    expect(await server().threadIds()).toHaveLength(3);
  });
  expect(await threadsAfterClose()).toEqual([]);
});

const example = fileURLToPath(new URL('../../examples/mysql2-pool.ts', import.meta.url));

function runExample(env: Record<string, string | undefined>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', example], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

it('examples/mysql2-pool.ts pools connections on MYSQL_URL, shows the reset session and exits 0 by itself', async () => {
  const { code, output } = await runExample({ MYSQL_URL: server().url });
  expect(code, output).toBe(0);
  expect(output).toMatch(/^connected: \d+\.\d+\.\d+-MariaDB/m);
  expect(output).toContain("next lease: { scratch: null, inTransaction: 0, ansi: 0, table: 'ER_NO_SUCH_TABLE' }");
  expect(output).toContain('8 concurrent queries: 0 2 4 6 8 10 12 14');
  expect(output).not.toContain(server().password);
}, 30_000);

it('examples/mysql2-pool.ts without MYSQL_URL says what to set and exits 2', async () => {
  const { code, output } = await runExample({ MYSQL_URL: undefined });
  expect(code).toBe(2);
  expect(output).toContain('set MYSQL_URL=mysql://');
}, 30_000);
