/**
 * What one lease leaves for the next, and what it can push through one connection,
 * against a real redis-server: a lease released inside MULTI or WATCH is reset (or its
 * connection retired) even without `resetOnRelease`, and a burst of large writes waits
 * for the socket to drain instead of failing with `WW_WRITE_QUEUE_FULL`.
 */
import { expect, it } from 'vitest';
import { useRedis, withPool } from './redis-fixture.js';

const redis = useRedis();

it('writes 20 concurrent 1 MiB SETs on one lease (past maxQueuedBytes) and reads them back intact', async () => {
  const server = await redis.start();
  await withPool(server.endpoint, { max: 1 }, async ({ pool, deaths }) => {
    const values = Array.from({ length: 20 }, (_, i) => `${i}:`.padEnd(1 << 20, String.fromCharCode(97 + i)));
    await pool.use(async (conn) => {
      const replies = await Promise.all(values.map((v, i) => conn.command(['SET', `big:${i}`, v])));
      expect(replies).toEqual(values.map(() => 'OK'));
      const read = await Promise.all(values.map((_, i) => conn.command<string>(['GET', `big:${i}`])));
      // Compared without printing 20 MiB on a failure.
      expect(read.map((r, i) => r === values[i])).toEqual(values.map(() => true));
    });
    expect(deaths()).toEqual([]);
  });
});

it('does not hand the next lease a connection still inside MULTI (no resetOnRelease)', async () => {
  const server = await redis.start();
  await server.command(['SET', 'k', 'v']);
  await withPool(server.endpoint, { max: 1 }, async ({ pool }) => {
    const first = await pool.acquire();
    expect(await first.conn.command(['MULTI'])).toBe('OK');
    expect(await first.conn.command(['SET', 'leaked', 'x'])).toBe('QUEUED');
    first.release();

    const next = await pool.acquire();
    try {
      expect(await next.conn.command(['GET', 'k'])).toBe('v');
      await expect(next.conn.command(['EXEC'])).rejects.toThrow(/EXEC without MULTI/);
    } finally {
      next.release();
    }
    expect(await server.command(['EXISTS', 'leaked'])).toBe(0);
  });
});

it('does not hand the next lease a connection still WATCHing keys (no resetOnRelease)', async () => {
  const server = await redis.start();
  await server.command(['SET', 'k', 'v0']);
  await withPool(server.endpoint, { max: 1 }, async ({ pool }) => {
    const first = await pool.acquire();
    expect(await first.conn.command(['WATCH', 'k'])).toBe('OK');
    first.release();
    await server.command(['SET', 'k', 'changed-by-another-client']);

    // A stale WATCH would abort this transaction (EXEC → null).
    const replies = await pool.use(async (conn) => {
      expect(await conn.command(['MULTI'])).toBe('OK');
      expect(await conn.command(['SET', 'k', 'mine'])).toBe('QUEUED');
      return conn.command(['EXEC']);
    });
    expect(replies).toEqual(['OK']);
    expect(await server.command(['GET', 'k'])).toBe('mine');
  });
});
