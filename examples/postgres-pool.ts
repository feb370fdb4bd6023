/**
 * node-postgres under supervision: a pool of `pg.Client`s whose connections wirewarden
 * heartbeats, replaces when they die, and resets between leases.
 *
 *   npm install pg   # node-postgres (pg-pool comes with it)
 *   DATABASE_URL=postgres://user:password@127.0.0.1:5432/db npx tsx examples/postgres-pool.ts
 *
 * `pg.Client` dials by itself (given a stream, it would still call `stream.connect()`), so
 * this is `custom()`'s connect mode: `connect` creates and connects the client, the
 * client's `'error'`/`'end'` events report its death through `lost`, and every inbound
 * chunk counts as liveness (`markAlive`). Recipe and what pg-pool does on its own versus
 * what this adds: docs/custom-clients.md, "node-postgres".
 *
 * The module also exports the protocol (`postgres(settings)`): the tests pool it against
 * a real PostgreSQL (test/integration/postgres-*.test.ts).
 */
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { createRuntime, custom, type ConnectProtocol } from 'wirewarden';

/** The client settings besides where to connect (the pool's endpoint says that). */
export type PostgresClientSettings = Omit<pg.ClientConfig, 'host' | 'port' | 'connectionString' | 'stream'>;

/**
 * SQLSTATEs a reconnect cannot fix: a wrong password (28P01), an unknown role or a refused
 * login (28000), an unknown database (3D000). The pool then fails callers at once
 * (`WW_ENDPOINT_REFUSED`) and redials only at its slowest pace.
 */
const REFUSED_SQLSTATES = new Set(['28P01', '28000', '3D000']);

/** What the recipe keeps per client beside pg's own state. */
interface ClientWatch {
  /** Probes waiting for a reply: their SELECT's own reply is not "other traffic". */
  probesWaiting: number;
  /** The probe query on the wire, if any: pg cannot cancel a query, so a later probe waits for it instead of queueing another. */
  pending: Promise<unknown> | undefined;
}
const watches = new WeakMap<pg.Client, ClientWatch>();

/**
 * False between a query's send and the ReadyForQuery that ends it. `Client#readyForQuery`
 * is not in pg's typings (pg-pool reads `_queryable` the same way); absent, assume ready.
 */
const readyForQuery = (client: pg.Client): boolean => (client as { readyForQuery?: boolean }).readyForQuery !== false;

/**
 * Resolves at the client's next ReadyForQuery (pg's own listener, added at connect, has
 * handled it by then), rejects if the connection ends first (a backend terminated during
 * a query never sends one): a reset must not wait out `validationTimeoutMs` for a client
 * that is already gone.
 */
function settledQuery(client: pg.Client): Promise<void> {
  const connection = client.connection;
  return new Promise<void>((resolve, reject) => {
    const onReady = (): void => {
      connection.off('end', onEnd);
      resolve();
    };
    const onEnd = (): void => {
      connection.off('readyForQuery', onReady);
      reject(new Error('the connection ended while a query was still running'));
    };
    connection.once('readyForQuery', onReady);
    connection.once('end', onEnd);
    if (!connection.stream.readable) onEnd();
  });
}

/** A `custom()` connect-mode protocol whose sessions are connected `pg.Client`s. */
export function postgres(settings: PostgresClientSettings): ConnectProtocol<pg.Client> {
  return custom<pg.Client>({
    async connect({ endpoint, signal, lost, markAlive }) {
      const client = new pg.Client({ ...settings, host: endpoint.host, port: endpoint.port });
      // pg emits 'error' for a connection that broke (an unhandled 'error' would crash the
      // process), then 'end'. A FATAL the server sends while a query runs (a terminated
      // backend: 57P01) goes to that query, and 'error' says only "Connection terminated
      // unexpectedly": kept here, it becomes the death's cause instead.
      let fatal: unknown;
      client.connection.on('errorMessage', (msg: { severity?: string }) => {
        if (msg.severity === 'FATAL' || msg.severity === 'PANIC') fatal ??= msg;
      });
      client.on('error', (err) => lost(fatal ?? err));
      client.on('end', () => lost(fatal));
      // Timed out or closed while connecting: the socket goes, so connect() rejects at once.
      const abort = (): void => void client.connection.stream.destroy();
      signal.addEventListener('abort', abort, { once: true });
      try {
        await client.connect();
      } catch (err) {
        throw signal.aborted ? signal.reason : err;
      } finally {
        signal.removeEventListener('abort', abort);
      }
      // After connect(): the stream is final (a TLS socket replaces the plain one during it).
      // This listener runs after pg's parser, so the chunk has been handled; a probe's reply
      // settles the probe a few promise hops later, so that chunk is left to the probe.
      const watch: ClientWatch = { probesWaiting: 0, pending: undefined };
      watches.set(client, watch);
      client.connection.stream.on('data', () => {
        if (watch.probesWaiting === 0) markAlive();
      });
      return client;
    },

    // Never sent into a leased connection (the holder may be inside a failed transaction,
    // where SELECT 1 fails): the pool's hold stops the heartbeat for as long as it lasts.
    probe: (client, signal) =>
      new Promise<void>((resolve, reject) => {
        const watch = watches.get(client)!;
        // A timed-out probe's SELECT may still be on the wire (a frozen backend): wait for it.
        const reply = (watch.pending ??= client.query('SELECT 1').finally(() => (watch.pending = undefined)));
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
        reply.then(
          () => settle() && resolve(),
          (err: unknown) => settle() && reject(err),
        );
      }),

    // A transaction left open (or failed: 'E') must not reach the next holder: the pool
    // resets such a session on release even without `resetOnRelease`. pg rejects a query
    // at its ErrorResponse, before the ReadyForQuery that carries the new status, and a
    // query may still run (its caller gave up: pg's query_timeout): a client waiting for
    // a ReadyForQuery is reset too.
    needsReset: (client) => client.getTransactionStatus() !== 'I' || !readyForQuery(client),

    // First the ReadyForQuery still due, if any (the status is then exact; a query that
    // never ends makes the reset time out after validationTimeoutMs, retiring the
    // connection). DISCARD ALL refuses to run inside a transaction block, hence the
    // ROLLBACK before it. It drops temp tables, prepared statements, LISTENs, advisory
    // locks and SET values.
    async reset(client) {
      if (!readyForQuery(client)) await settledQuery(client);
      if (client.getTransactionStatus() !== 'I') await client.query('ROLLBACK');
      await client.query('DISCARD ALL');
    },

    // Terminate politely; if the server does not answer within closeTimeoutMs, drop the socket.
    async close(client, signal) {
      const destroy = (): void => void client.connection.stream.destroy();
      signal?.addEventListener('abort', destroy, { once: true });
      try {
        await client.end();
      } finally {
        signal?.removeEventListener('abort', destroy);
      }
    },

    refused: (err) => REFUSED_SQLSTATES.has((err as { code?: unknown } | null)?.code as string),
  });
}

/** `postgres://user:password@host:port/db` → the endpoint and the client's settings. */
export function parseDatabaseUrl(url: string): { endpoint: { host: string; port: number }; settings: PostgresClientSettings } {
  const u = new URL(url);
  return {
    endpoint: { host: u.hostname, port: Number(u.port || 5432) },
    settings: {
      user: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password),
      database: decodeURIComponent(u.pathname.slice(1)) || undefined,
    },
  };
}

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (url === undefined) {
    console.error('set DATABASE_URL=postgres://user:password@127.0.0.1:5432/db (the examples test starts a throwaway cluster)');
    process.exitCode = 2;
    return;
  }
  const { endpoint, settings } = parseDatabaseUrl(url);
  const rt = createRuntime();
  const pool = rt.createPool({
    endpoints: [endpoint],
    protocol: postgres({ ...settings, application_name: 'wirewarden-example' }),
    min: 2,
    max: 4,
    resetOnRelease: true, // ROLLBACK if needed, then DISCARD ALL, before every next lease
    heartbeat: { intervalMs: 1000 }, // an idle connection is probed after 1 s without traffic
    acquireTimeoutMs: 5000,
  });
  try {
    const { rows } = await pool.use((client) => client.query<{ version: string }>('SELECT version()'));
    console.log('connected:', rows[0]!.version.split(',')[0]);

    // A lease changes its session and forgets to clean up…
    await pool.use(async (client) => {
      await client.query("SET statement_timeout = '1s'");
      await client.query('CREATE TEMP TABLE scratch (n int)');
      await client.query('BEGIN');
      await client.query('INSERT INTO scratch VALUES (1)');
    });
    // …and the next holder of the same connection sees none of it.
    const after = await pool.use(async (client) => ({
      tx: client.getTransactionStatus(),
      statementTimeout: (await client.query<{ statement_timeout: string }>('SHOW statement_timeout')).rows[0]!.statement_timeout,
      scratch: (await client.query<{ t: string | null }>("SELECT to_regclass('pg_temp.scratch') AS t")).rows[0]!.t,
    }));
    console.log('next lease:', after); // { tx: 'I', statementTimeout: '0', scratch: null }

    const results = await Promise.all(Array.from({ length: 8 }, (_, i) =>
      pool.use((client) => client.query<{ n: number }>('SELECT $1::int * 2 AS n', [i])).then((r) => r.rows[0]!.n)));
    console.log('8 concurrent queries:', results.join(' '));
    console.log('stats:', JSON.stringify({ acquired: pool.stats().acquired, closed: pool.stats().closed }));
  } finally {
    await rt.shutdown(); // closes every client (client.end()), no socket or timer left
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
