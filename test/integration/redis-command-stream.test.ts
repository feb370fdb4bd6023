/**
 * A leased connection's command stream belongs to its holder (DESIGN.md, "The connection
 * actor"): the heartbeat's PING never enters it — not inside a MULTI, not behind a
 * blocking command — and a blocking command's deadline is its block time plus
 * `requestTimeoutMs`. Against a real redis-server, through the public pool API.
 */
import { expect, it } from 'vitest';
import { resp } from '../../src/index.js';
import { blockedClients, eventually, sleep, useRedis, withPool } from './redis-fixture.js';

const redis = useRedis();

it('never queues a heartbeat PING inside a leased MULTI: EXEC returns only the user\'s replies', async () => {
  const server = await redis.start();
  await withPool(server.endpoint, { max: 1, heartbeat: { intervalMs: 100 } }, async ({ pool, deaths }) => {
    const lease = await pool.acquire();
    try {
      expect(await lease.conn.command(['MULTI'])).toBe('OK');
      expect(await lease.conn.command(['INCR', 'n'])).toBe('QUEUED');
      await sleep(350); // the holder thinks for ~3 heartbeat intervals inside the transaction
      expect(await lease.conn.command(['EXEC'])).toEqual([1]);
    } finally {
      lease.release();
    }
    expect(await server.command(['GET', 'n'])).toBe('1');
    expect(deaths()).toEqual([]);
  });
});

it('lets BLPOP block longer than the heartbeat\'s detection window, and an RPUSH wakes it', async () => {
  const server = await redis.start();
  // Detection window (1 + 1) × 100 ms = 200 ms: a PING behind the BLPOP would kill it 10× over.
  const heartbeat = { intervalMs: 100, maxTimeoutMs: 100, suspectProbes: 1 };
  await withPool(server.endpoint, { max: 1, heartbeat }, async ({ pool, deaths, deadStates }) => {
    const lease = await pool.acquire();
    try {
      const t0 = Date.now();
      expect(await lease.conn.command(['BLPOP', 'jobs', '2'])).toBeNull();
      const blockedMs = Date.now() - t0;
      expect(blockedMs).toBeGreaterThanOrEqual(1900);
      expect(blockedMs).toBeLessThan(3000);

      const woken = lease.conn.command(['BLPOP', 'jobs', '2']);
      await eventually(() => blockedClients(server, 1), 'the BLPOP to block');
      const t1 = Date.now();
      expect(await server.command(['RPUSH', 'jobs', 'job-1'])).toBe(1);
      expect(await woken).toEqual(['jobs', 'job-1']);
      expect(Date.now() - t1).toBeLessThan(1000);
      expect(await lease.conn.command(['PING'])).toBe('PONG');
    } finally {
      lease.release();
    }
    expect(deaths()).toEqual([]);
    expect(deadStates()).toEqual([]);
    expect(pool.stats().closed.dead).toBe(0);
  });
});

it('gives blocking commands their block time on top of requestTimeoutMs', async () => {
  const server = await redis.start();
  const protocol = resp({ requestTimeoutMs: 300 });
  await withPool(server.endpoint, { max: 1, protocol }, async ({ pool, deaths }) => {
    await pool.use(async (conn) => {
      let t0 = Date.now();
      expect(await conn.command(['BLPOP', 'jobs', '1'])).toBeNull();
      expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
      t0 = Date.now();
      expect(await conn.command(['XREAD', 'BLOCK', '800', 'STREAMS', 'events', '$'])).toBeNull();
      expect(Date.now() - t0).toBeGreaterThanOrEqual(700);
      // An ordinary command on the same connection still has the plain deadline and works.
      expect(await conn.command(['PING'])).toBe('PONG');
    });
    expect(deaths()).toEqual([]);
  });
});
