/**
 * Fail fast on real sockets (issue 14): every endpoint refusing connections, a server that
 * accepts TCP and never answers the handshake (what a frozen server's backlog does), and a
 * real redis-server frozen with SIGSTOP. Once the breaker has opened, an acquire fails in
 * ≤ 50 ms with WW_CIRCUIT_OPEN (cause: the last failure) while `acquireTimeoutMs` is 5 s;
 * when the server is back, service resumes by itself. Waits are bounded polls.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { hasCode, WirewardenError } from '../../src/errors.js';
import type { Pool } from '../../src/pool/pool.js';
import { constantBackoff } from '../../src/supervisor/backoff.js';
import { resp } from '../../src/transport/resp.js';
import { wire } from '../../src/transport/wire.js';
import { startRedis } from '../helpers/redis-server.js';
import { cleanup, cleanups, closedPort, runtime, startServer, TOKEN, waitFor } from './helpers/loopback.js';

afterEach(cleanup);

const breaker = { waitDurationInOpenStateMs: 400, randomizationFactor: 0 };

/** Times `n` acquires after the breaker opened: each must fail fast with WW_CIRCUIT_OPEN. */
async function failFast(pool: Pool<unknown>, n = 20): Promise<{ maxMs: number; errors: unknown[] }> {
  let maxMs = 0;
  const errors: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    errors.push(await pool.acquire().then(() => undefined, (e: unknown) => e));
    maxMs = Math.max(maxMs, performance.now() - started);
  }
  return { maxMs, errors };
}

async function resumes(pool: Pool<unknown>, call: (pool: Pool<unknown>) => Promise<unknown>, limitMs = 10_000): Promise<void> {
  const start = Date.now();
  for (;;) {
    try {
      await call(pool);
      return;
    } catch (err) {
      if (Date.now() - start > limitMs) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** Accepts TCP and never writes a byte. */
async function frozenServer(port = 0): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const close = async (): Promise<void> => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  cleanups.push(() => (server.listening ? close() : undefined));
  return { port: (server.address() as { port: number }).port, close };
}

describe('fail fast on loopback', () => {
  it('every endpoint refusing connections: after the breaker opens an acquire fails in <= 50 ms, and resumes when the server returns', async () => {
    const port = await closedPort();
    const rt = runtime();
    const pool = rt.createPool({
      endpoints: [{ host: '127.0.0.1', port }], protocol: wire({ token: TOKEN }), max: 2, acquireTimeoutMs: 5000,
      backoff: constantBackoff({ delayMs: 20 }), breaker,
    });
    const first = await pool.acquire().catch((e: unknown) => e); // waits for the evidence, then fails with it
    expect(hasCode(first, 'WW_CIRCUIT_OPEN')).toBe(true);
    expect(pool.health()).toMatchObject({ ready: false, reason: 'circuit-open' });
    const { maxMs, errors } = await failFast(pool as Pool<unknown>);
    expect(maxMs).toBeLessThanOrEqual(50);
    for (const e of errors) {
      expect(hasCode(e, 'WW_CIRCUIT_OPEN')).toBe(true);
      expect(((e as Error).cause as WirewardenError).code).toBe('WW_DIAL_REFUSED');
    }
    await startServer({ port });
    await resumes(pool as Pool<unknown>, (p) => p.use((c) => (c as { request(x: string): Promise<unknown> }).request('back')));
    expect(pool.stats().endpoints[`127.0.0.1:${port}`]!.breaker).not.toBe('open');
  });

  it('a server that accepts and never answers the handshake: fails in <= 50 ms after the breaker opens, resumes when a live server takes its port', async () => {
    const frozen = await frozenServer();
    const rt = runtime();
    const pool = rt.createPool({
      endpoints: [{ host: '127.0.0.1', port: frozen.port }], protocol: wire({ token: TOKEN }), max: 2, acquireTimeoutMs: 5000,
      handshakeTimeoutMs: 150, backoff: constantBackoff({ delayMs: 20 }), breaker,
    });
    const first = await pool.acquire().catch((e: unknown) => e);
    expect(hasCode(first, 'WW_CIRCUIT_OPEN')).toBe(true);
    const { maxMs, errors } = await failFast(pool as Pool<unknown>);
    expect(maxMs).toBeLessThanOrEqual(50);
    const cause = (errors[0] as Error).cause as WirewardenError;
    expect(['WW_HANDSHAKE_FAILED', 'WW_DIAL_TIMEOUT']).toContain(cause.code);
    await frozen.close();
    await startServer({ port: frozen.port });
    await resumes(pool as Pool<unknown>, (p) => p.use((c) => (c as { request(x: string): Promise<unknown> }).request('back')));
  });

  it('redis-server frozen with SIGSTOP: connections die, redials hang in the handshake, the breaker opens and acquires fail fast; SIGCONT and it serves again', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const rt = runtime();
    const pool = rt.createPool({
      endpoints: [{ host: '127.0.0.1', port: redis.port }], protocol: resp(), min: 2, max: 2, acquireTimeoutMs: 5000,
      handshakeTimeoutMs: 200, backoff: constantBackoff({ delayMs: 20 }), breaker,
      heartbeat: { intervalMs: 100, minTimeoutMs: 20, maxTimeoutMs: 100, suspectProbes: 1 },
    });
    await waitFor('connected', () => pool.stats().open === 2);
    expect(await pool.command(['PING'])).toBe('PONG');
    redis.freeze();
    await waitFor('breaker open', () => pool.health().reason === 'circuit-open', 10_000);
    const { maxMs, errors } = await failFast(pool as Pool<unknown>);
    expect(maxMs).toBeLessThanOrEqual(50);
    expect(errors.every((e) => hasCode(e, 'WW_CIRCUIT_OPEN'))).toBe(true);
    const dispatched = await pool.command(['PING']).catch((e: unknown) => e);
    expect(hasCode(dispatched, 'WW_CIRCUIT_OPEN')).toBe(true);
    redis.thaw();
    await resumes(pool as Pool<unknown>, (p) => (p as Pool<{ command(a: string[]): Promise<unknown> }>).use((c) => c.command(['PING'])));
    await waitFor('closed again', () => pool.stats().endpoints[`127.0.0.1:${redis.port}`]!.breaker === 'closed', 10_000);
  }, 30_000);
});
