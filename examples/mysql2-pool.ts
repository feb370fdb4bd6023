/**
 * mysql2 under supervision: a pool of mysql2 connections (MySQL, MariaDB) whose
 * connections wirewarden heartbeats with COM_PING, replaces when they die, and resets
 * between leases with COM_RESET_CONNECTION.
 *
 *   MYSQL_URL=mysql://user:password@127.0.0.1:3306/db npx tsx examples/mysql2-pool.ts
 *
 * mysql2's `createConnection` dials by itself, so this is `custom()`'s connect mode:
 * `connect` creates the connection and waits for its handshake, the connection's
 * `'error'` and its socket's `'close'` report its death through `lost`, and every inbound
 * chunk counts as liveness (`markAlive`). Leases hand out mysql2's promise API
 * (`conn.query`, `conn.execute`). Recipe, and what mysql2's own pool does versus what
 * this adds: docs/custom-clients.md, "mysql2".
 *
 * The module also exports the protocol (`mysqlConnections(settings)`): the tests pool it
 * against a real MariaDB (test/integration/custom-mysql2.test.ts).
 */
import type { Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import mysql from 'mysql2';
import type { Connection } from 'mysql2/promise';
import { createRuntime, custom, type ConnectProtocol } from 'wirewarden';

/** The connection settings besides where to connect (the pool's endpoint says that). */
export type MysqlClientSettings = Omit<mysql.ConnectionOptions, 'host' | 'port' | 'socketPath' | 'stream' | 'uri'>;

/**
 * Errors a reconnect cannot fix: a wrong password or unknown user (1045, 1698), no access
 * to the database (1044), an unknown database (1049). The pool then fails callers at once
 * (`WW_ENDPOINT_REFUSED`) and redials only at its slowest pace.
 */
const REFUSED_CODES = new Set(['ER_ACCESS_DENIED_ERROR', 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR', 'ER_DBACCESS_DENIED_ERROR', 'ER_BAD_DB_ERROR']);

/** Bit of the server status every OK packet carries: a transaction is open. */
const SERVER_STATUS_IN_TRANS = 1;

/**
 * mysql2's internals the recipe reads, not in its typings: the socket (`stream`), the
 * status of the last OK packet (`serverStatus`) and the error the connection died of.
 */
interface CoreConnection extends mysql.Connection {
  readonly stream: Socket;
  readonly serverStatus: number;
  readonly _fatalError?: Error | null;
  readonly _protocolError?: Error | null;
}

/** What the recipe keeps per connection beside mysql2's own state. */
interface ConnectionWatch {
  readonly core: CoreConnection;
  /** Probes waiting for a reply: their own reply is not "other traffic". */
  probesWaiting: number;
  /** The ping on the wire, if any: mysql2 cannot cancel a command, so a later probe waits for it. */
  pending: Promise<void> | undefined;
}
const watches = new WeakMap<Connection, ConnectionWatch>();

/**
 * `SET NAMES` for the connection's charset. COM_RESET_CONNECTION reports the handshake's
 * character set afterwards, but MariaDB keeps converting with whatever `SET NAMES` a
 * holder chose: set it again so the next holder's strings arrive intact.
 */
function setNamesFor(charset: string | undefined): string {
  const name = (charset ?? 'UTF8MB4_UNICODE_CI').toLowerCase();
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`unexpected mysql2 charset ${JSON.stringify(charset)}`);
  const cs = name.split('_')[0]!;
  return cs === name ? `SET NAMES ${cs}` : `SET NAMES ${cs} COLLATE ${name}`;
}

/** A `custom()` connect-mode protocol whose sessions are connected mysql2 promise connections. */
export function mysqlConnections(settings: MysqlClientSettings): ConnectProtocol<Connection> {
  const setNames = setNamesFor(settings.charset);
  return custom<Connection>({
    async connect({ endpoint, signal, lost, markAlive }) {
      // The callback API's createConnection returns the connection at once, so that a
      // timed-out connect can destroy its socket.
      const core = mysql.createConnection({ ...settings, host: endpoint.host, port: endpoint.port }) as CoreConnection;
      // mysql2 emits 'error' on the connection for a fatal error no command is waiting
      // for (unhandled, it would crash the process); a command that is waiting gets the
      // error itself, and the socket's 'close' is then the only word of the death.
      core.on('error', lost);
      core.stream.once('close', () => lost(core._fatalError ?? core._protocolError ?? undefined));
      // Timed out or closed while connecting: the socket goes, so the handshake fails at once.
      const abort = (): void => void core.stream.destroy();
      signal.addEventListener('abort', abort, { once: true });
      try {
        await new Promise<void>((resolve, reject) => {
          core.once('connect', () => resolve());
          core.once('error', reject);
        });
      } catch (err) {
        throw signal.aborted ? signal.reason : err;
      } finally {
        signal.removeEventListener('abort', abort);
      }
      const watch: ConnectionWatch = { core, probesWaiting: 0, pending: undefined };
      // After mysql2's own 'data' listener: the chunk has been parsed. A ping's reply
      // settles the probe a tick later, so that chunk is left to the probe.
      core.stream.on('data', () => {
        if (watch.probesWaiting === 0) markAlive();
      });
      const conn = core.promise();
      watches.set(conn, watch);
      return conn;
    },

    // COM_PING: no statement, no effect on the session. Never sent into a leased
    // connection (it would queue behind the holder's query): the pool's hold stops the
    // heartbeat for as long as the lease lasts.
    probe: (conn, signal) =>
      new Promise<void>((resolve, reject) => {
        const watch = watches.get(conn)!;
        // A timed-out ping may still be on the wire (a frozen server): wait for it.
        const reply = (watch.pending ??= new Promise<void>((done, fail) => {
          watch.core.ping((err) => (err ? fail(err) : done()));
        }).finally(() => (watch.pending = undefined)));
        watch.probesWaiting++;
        let settled = false;
        const settle = (): boolean => {
          if (settled) return false;
          settled = true;
          watch.probesWaiting--;
          signal.removeEventListener('abort', onAbort);
          return true;
        };
        const onAbort = (): void => {
          if (settle()) reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort);
        reply.then(() => settle() && resolve(), (err: unknown) => settle() && reject(err));
      }),

    // An open transaction must not reach the next holder: the pool resets such a session
    // on release even without `resetOnRelease`. User variables, temporary tables and
    // session settings leave no trace in the protocol: use `resetOnRelease: true` for those.
    needsReset: (conn) => (watches.get(conn)!.core.serverStatus & SERVER_STATUS_IN_TRANS) !== 0,

    // COM_RESET_CONNECTION: rolls back, drops temporary tables, clears user variables
    // and prepared statements, restores session variables and releases GET_LOCK locks —
    // without re-authenticating. Then the charset again (see setNamesFor).
    async reset(conn) {
      await conn.reset();
      await conn.query(setNames);
    },

    // COM_QUIT after whatever is queued; the server closes the socket. A connection
    // that already died settles at once; past closeTimeoutMs the signal destroys it.
    async close(conn, signal) {
      const { core } = watches.get(conn)!;
      if (core.stream.destroyed) return;
      const closed = new Promise<void>((resolve) => core.stream.once('close', () => resolve()));
      const destroy = (): void => void core.stream.destroy();
      signal?.addEventListener('abort', destroy, { once: true });
      try {
        core.end();
        await closed;
      } finally {
        signal?.removeEventListener('abort', destroy);
      }
    },

    refused: (err) => REFUSED_CODES.has((err as { code?: unknown } | null)?.code as string),
  });
}

/** `mysql://user:password@host:port/db` → the endpoint and the connection's settings. */
export function parseMysqlUrl(url: string): { endpoint: { host: string; port: number }; settings: MysqlClientSettings } {
  const u = new URL(url);
  return {
    endpoint: { host: u.hostname, port: Number(u.port || 3306) },
    settings: {
      user: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password),
      database: decodeURIComponent(u.pathname.slice(1)) || undefined,
    },
  };
}

async function main(): Promise<void> {
  const url = process.env.MYSQL_URL;
  if (url === undefined) {
    console.error('set MYSQL_URL=mysql://user:password@127.0.0.1:3306/db (the tests start a throwaway MariaDB)');
    process.exitCode = 2;
    return;
  }
  const { endpoint, settings } = parseMysqlUrl(url);
  const rt = createRuntime();
  const pool = rt.createPool({
    endpoints: [endpoint],
    protocol: mysqlConnections(settings),
    min: 2,
    max: 4,
    resetOnRelease: true, // COM_RESET_CONNECTION (and SET NAMES) before every next lease
    heartbeat: { intervalMs: 1000 }, // an idle connection is pinged after 1 s without traffic
    acquireTimeoutMs: 5000,
  });
  try {
    const [[server]] = await pool.use((conn) => conn.query<mysql.RowDataPacket[]>('SELECT VERSION() AS version'));
    console.log('connected:', server!.version);

    // A lease changes its session and forgets to clean up…
    await pool.use(async (conn) => {
      await conn.query('SET @scratch = 42, SESSION sql_mode = ?', ['ANSI']);
      await conn.query('CREATE TEMPORARY TABLE scratch (n INT)');
      await conn.query('START TRANSACTION');
      await conn.query('INSERT INTO scratch VALUES (1)');
    });
    // …and the next holder sees none of it, whichever connection it gets: every release
    // reset its session (test/integration/custom-mysql2.test.ts checks it on one connection).
    const after = await pool.use(async (conn) => {
      const [[row]] = await conn.query<mysql.RowDataPacket[]>(
        "SELECT @scratch AS scratch, @@in_transaction AS inTransaction, @@sql_mode = 'ANSI' AS ansi",
      );
      const table = await conn.query('SELECT n FROM scratch').then(() => 'still there', (err: { code?: string }) => err.code);
      return { ...row, table };
    });
    console.log('next lease:', after); // { scratch: null, inTransaction: 0, ansi: 0, table: 'ER_NO_SUCH_TABLE' }

    const results = await Promise.all(Array.from({ length: 8 }, (_, i) =>
      pool.use((conn) => conn.execute<mysql.RowDataPacket[]>('SELECT ? * 2 AS n', [i])).then(([rows]) => rows[0]!.n as number)));
    console.log('8 concurrent queries:', results.join(' '));
    console.log('stats:', JSON.stringify({ acquired: pool.stats().acquired, closed: pool.stats().closed }));
  } finally {
    await rt.shutdown(); // closes every connection (COM_QUIT), no socket or timer left
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
