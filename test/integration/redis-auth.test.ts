/**
 * Authentication against a real redis-server: a handshake the server refuses for a
 * reason retrying cannot fix (a wrong password) fails callers at once with
 * `WW_ENDPOINT_REFUSED` instead of after `acquireTimeoutMs`, the password shows up
 * nowhere, and the pool recovers by itself once the server accepts it; a RESP2 password
 * sent to a server that has none is not fatal (one warning).
 */
import { inspect } from 'node:util';
import { expect, it } from 'vitest';
import { exponentialBackoff, resp } from '../../src/index.js';
import { rejection, turn, waitFor } from '../transport/helpers.js';
import { captureWarnings, useRedis, withPool } from './redis-fixture.js';

const redis = useRedis();

const codeOf = (err: unknown): unknown => (err as { code?: unknown } | undefined)?.code;
const deep = (value: unknown): string => inspect(value, { showHidden: true, depth: null });

it('fails acquires at once on a wrong password, leaks it nowhere, and recovers once the server accepts it', async () => {
  const POOL_PASSWORD = 'pool-S3cret-Xq7';
  const server = await redis.start({ password: 'server-0ther-Pw9' });
  const captured = captureWarnings();
  const maxMs = 400;
  const backoff = exponentialBackoff({ initialMs: 50, maxMs, jitter: 'none' });
  try {
    await withPool(
      server.endpoint,
      { max: 2, acquireTimeoutMs: 10_000, backoff, protocol: resp({ password: POOL_PASSWORD }) },
      async ({ pool, events, runtimeEvents }) => {
        let t0 = Date.now();
        const err = await rejection(pool.acquire());
        expect(Date.now() - t0).toBeLessThan(1000);
        expect(codeOf(err)).toBe('WW_ENDPOINT_REFUSED');
        expect(codeOf(err.cause)).toBe('WW_HANDSHAKE_REFUSED');
        // The endpoint is known to be refused: the next caller fails at once.
        t0 = Date.now();
        expect(codeOf(await rejection(pool.use((conn) => conn.command(['PING']))))).toBe('WW_ENDPOINT_REFUSED');
        expect(Date.now() - t0).toBeLessThan(1000); // at once, against acquireTimeoutMs 10000 (slack for a loaded CI)

        await turn(2); // warnings are emitted on the next tick
        const surfaces: [string, string][] = [
          ['error message', err.message],
          ['cause message', String((err.cause as Error | undefined)?.message)],
          ['JSON.stringify(error)', JSON.stringify(err)],
          ['inspect(error)', deep(err)],
          ['pool.connections()', JSON.stringify(pool.connections()) + deep(pool.connections())],
          ['pool.stats()', JSON.stringify(pool.stats())],
          ...events.map((e, i): [string, string] => [`pool event ${i} (${e.type})`, deep(e)]),
          ...runtimeEvents.map((e, i): [string, string] => [`runtime event ${i} (${e.type})`, deep(e)]),
          ...captured.warnings.map((w, i): [string, string] => [`warning ${i}`, `${w.message} ${w.stack ?? ''} ${deep(w)}`]),
        ];
        for (const [where, text] of surfaces) expect(text.includes(POOL_PASSWORD), `password in ${where}`).toBe(false);

        // The operator fixes the server; the pool finds out by itself within its backoff max.
        await server.command(['CONFIG', 'SET', 'requirepass', POOL_PASSWORD]);
        const fixedAt = Date.now();
        await waitFor(() => events.some((e) => e.type === 'connection-ready'), 'the pool to recover', maxMs + 1500);
        expect(Date.now() - fixedAt).toBeLessThanOrEqual(maxMs + 1000);
        expect(await pool.use((conn) => conn.command(['PING']))).toBe('PONG');
      },
    );
  } finally {
    captured.stop();
  }
  for (const w of captured.warnings) expect(`${w.message} ${w.stack ?? ''}`).not.toContain(POOL_PASSWORD);
});

it('connects with a RESP2 password to a server that has none, with one warning', async () => {
  const PASSWORD = 'unneeded-Pw-42';
  const server = await redis.start();
  const captured = captureWarnings();
  try {
    await withPool(server.endpoint, { max: 1, acquireTimeoutMs: 3000, protocol: resp({ password: PASSWORD }) }, async ({ pool, events }) => {
      await pool.use((conn) => conn.command(['SET', 'k', 'v']));
      expect(await pool.use((conn) => conn.command(['GET', 'k']))).toBe('v');
      expect(events.filter((e) => e.type === 'dial-failed')).toEqual([]);
      expect(pool.stats().closed.dead).toBe(0);
    });
    await turn(2);
  } finally {
    captured.stop();
  }
  const aboutAuth = captured.warnings.filter((w) => /auth|password/i.test(w.message));
  expect(aboutAuth.map((w) => w.message)).toHaveLength(1);
  for (const w of captured.warnings) expect(`${w.message} ${w.stack ?? ''}`).not.toContain(PASSWORD);
});
