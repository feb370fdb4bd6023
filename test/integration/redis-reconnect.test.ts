/**
 * Reconnect pacing against a real redis-server (DESIGN.md, "Supervisors"): a
 * connection's backoff starts over once a new incarnation has been `ready` for the
 * stability period, so repeated short outages are each recovered within about the
 * initial backoff; retirements that are not failures (`lease.destroy()`) never grow it;
 * and a peer that accepts and drops at once (never `ready`) is still paced by growing
 * delays.
 */
import { createServer, type Socket } from 'node:net';
import { expect, it } from 'vitest';
import { exponentialBackoff, type Lease, type RespSession } from '../../src/index.js';
import { freePort } from '../helpers/redis-server.js';
import { rejection, waitFor } from '../transport/helpers.js';
import { sleep, useRedis, withPool } from './redis-fixture.js';

const redis = useRedis();

it('serves again within about the initial backoff after each of several short outages', async () => {
  const server = await redis.start();
  const backoff = exponentialBackoff({ initialMs: 100, maxMs: 5000, jitter: 'none' });
  await withPool(server.endpoint, { min: 2, max: 2, backoff, acquireTimeoutMs: 10_000 }, async ({ pool }) => {
    await pool.use((conn) => conn.command(['PING']));
    const servedAfterMs: number[] = [];
    for (let outage = 0; outage < 4; outage++) {
      await waitFor(() => pool.stats().open === 2, 'both connections ready', 5000);
      await sleep(1500); // up for longer than the stability period (default ~1 s)
      await server.kill();
      await sleep(400); // the outage
      await server.restart(); // resolves once the new process answers
      const back = Date.now();
      expect(await pool.use((conn) => conn.command(['GET', 'k']))).toBeNull();
      servedAfterMs.push(Date.now() - back);
    }
    // Without the reset the 3rd and 4th outages wait 1.6 s and 3.2 s for their first redial.
    for (const ms of servedAfterMs) expect(ms, `served after ${servedAfterMs.join(', ')} ms`).toBeLessThan(1000);
  });
});

it('paces redials to a peer that accepts and drops every connection with growing delays', async () => {
  const sockets = new Set<Socket>();
  let accepts = 0;
  const dropper = createServer((socket) => {
    accepts++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.destroy();
  });
  const port = await freePort();
  await new Promise<void>((resolve) => dropper.listen(port, '127.0.0.1', resolve));
  try {
    const backoff = exponentialBackoff({ initialMs: 20, maxMs: 5000, jitter: 'none' });
    await withPool({ host: '127.0.0.1', port }, { max: 1, backoff }, async ({ pool }) => {
      // Dials start at 0, 20, 60, 140, 300, 620, 1260 ms: 7 in 2 s (a constant 20 ms: ~100).
      const err = await rejection(pool.acquire({ timeoutMs: 2000 }));
      expect((err as { code?: string }).code).toBe('WW_POOL_TIMEOUT');
      expect(accepts).toBeGreaterThanOrEqual(3);
      expect(accepts).toBeLessThanOrEqual(8);
    });
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => dropper.close(() => resolve()));
  }
});

it('does not grow the backoff when leases destroy healthy connections', async () => {
  const server = await redis.start();
  const initialMs = 50;
  const backoff = exponentialBackoff({ initialMs, maxMs: 5000, jitter: 'none' });
  // Each replacement waits at most the initial delay (plus a dial); grown, the 11th
  // would wait 50 × 2¹⁰ ms capped at 5 s (the 4th already 400 ms).
  const boundMs = initialMs + 200;
  await withPool(server.endpoint, { max: 1, backoff, acquireTimeoutMs: 10_000 }, async ({ pool, restarts }) => {
    const timedAcquire = async (i: number): Promise<Lease<RespSession>> => {
      const t0 = Date.now();
      const lease = await pool.acquire({ timeoutMs: boundMs + 1000 });
      const ms = Date.now() - t0;
      if (ms >= boundMs) lease.release(); // not left to rt.shutdown(), which would wait for it
      expect(ms, `acquire after ${i} destroys`).toBeLessThan(boundMs);
      return lease;
    };
    await pool.use((conn) => conn.command(['PING']));
    for (let i = 0; i < 10; i++) {
      const lease = await timedAcquire(i);
      expect(await lease.conn.command(['PING'])).toBe('PONG');
      lease.destroy(new Error(`destroyed by the test (${i + 1})`));
    }
    const last = await timedAcquire(10);
    try {
      expect(await last.conn.command(['PING'])).toBe('PONG');
    } finally {
      last.release();
    }
    for (const r of restarts()) expect(r.delayMs, `restart delays ${restarts().map((x) => x.delayMs).join(', ')}`).toBeLessThanOrEqual(initialMs);
  });
});
