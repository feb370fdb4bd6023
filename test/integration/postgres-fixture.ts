/**
 * Shared set-up of the `postgres-*.test.ts` acceptance tests: one throwaway PostgreSQL
 * cluster per test file (initdb costs about a second; test/helpers/postgres-server.ts),
 * a pool of `pg.Client`s built through the public API with the recipe of
 * examples/postgres-pool.ts, every pool and runtime event recorded, and a check after
 * each test that no socket or timer is left behind.
 *
 *   const server = usePostgres();   // registers beforeAll/afterAll and the handle check
 *   it('…', () => withPgPool(server(), { max: 2 }, async ({ pool, deaths }) => { … }));
 */
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { postgres, type PostgresClientSettings } from '../../examples/postgres-pool.js';
import { exponentialBackoff, type CreatePoolOptions } from '../../src/index.js';
import { withPoolUnderTest, type PoolUnderTest } from '../helpers/pool-under-test.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres-server.js';
import { expectHandlesBackTo, handleCounts } from '../transport/helpers.js';

/** One cluster for the file (started before its first test, removed after its last). */
export function usePostgres(): () => PostgresServer {
  let server: PostgresServer | undefined;
  let baseline: Record<string, number> = {};
  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  }, 60_000);
  beforeEach(() => {
    baseline = handleCounts();
  });
  afterEach(async () => {
    server?.thaw();
    await expectHandlesBackTo(baseline);
  });
  return () => {
    if (server === undefined) throw new Error('the PostgreSQL cluster did not start (see beforeAll)');
    return server;
  };
}

export type PgPoolOptions = Omit<CreatePoolOptions<pg.Client>, 'endpoints' | 'protocol'> & {
  /** Overrides of the client settings (a wrong password…). */
  readonly settings?: PostgresClientSettings;
  /** Replaces the recipe's protocol (e.g. one that counts probes). */
  readonly protocol?: CreatePoolOptions<pg.Client>['protocol'];
};

export type PgPoolUnderTest = PoolUnderTest<pg.Client>;

/** The test role's client settings of `server` (password authentication over TCP). */
export function settingsOf(server: PostgresServer): PostgresClientSettings {
  return { user: server.user, password: server.password, database: server.database };
}

/**
 * A pool of `pg.Client`s on `server` (recipe: examples/postgres-pool.ts), quick backoff
 * unless given; runs `body` and always shuts the runtime down.
 */
export async function withPgPool(
  server: PostgresServer,
  options: PgPoolOptions,
  body: (t: PgPoolUnderTest) => Promise<void>,
): Promise<void> {
  const { settings, protocol, ...rest } = options;
  await withPoolUnderTest((rt) => rt.createPool<pg.Client>({
    backoff: exponentialBackoff({ initialMs: 50, maxMs: 400, multiplier: 2, jitter: 'none' }),
    ...rest,
    protocol: protocol ?? postgres({ ...settingsOf(server), ...settings }),
    endpoints: [server.endpoint],
  }), body);
}

/** The backend pid serving `client` (one round trip). */
export async function backendPid(client: pg.Client): Promise<number> {
  return (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
}

/** Polls until the test role has no backend left (a closed client's backend exits just after); resolves with what is left. */
export async function backendsAfterClose(server: PostgresServer, timeoutMs = 3000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let pids = await server.backendPids();
  while (pids.length > 0 && Date.now() < deadline) {
    await sleep(20);
    pids = await server.backendPids();
  }
  return pids;
}

/** A deliberate pause: the length of an idle gap or a fault, never a wait for a condition. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
