/**
 * Fail fast without a breaker (the default): once every endpoint has been unreachable for
 * longer than `acquireTimeoutMs` and no connection is open, an acquire (or a dispatch)
 * would only wait to time out, so it fails at once with WW_CIRCUIT_OPEN, its cause the last
 * dial error. A blip shorter than that (a restart) is ridden through: callers wait for the
 * redial and succeed. Real loopback sockets; waits are bounded polls.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { hasCode, type WirewardenError } from '../../src/errors.js';
import { constantBackoff } from '../../src/supervisor/backoff.js';
import { wire } from '../../src/transport/wire.js';
import type { WireSession } from '../../src/transport/wire-session.js';
import { cleanup, closedPort, runtime, startServer, TOKEN } from './helpers/loopback.js';

afterEach(cleanup);

describe('fail fast during an outage longer than acquireTimeoutMs (no breaker)', () => {
  it('every endpoint refusing: the first acquires wait and time out, then acquires and dispatches fail in <= 50 ms; service resumes when the server is back', async () => {
    const ports = [await closedPort(), await closedPort()];
    const rt = runtime();
    const pool = rt.createPool({
      endpoints: ports.map((port) => ({ host: '127.0.0.1', port })), protocol: wire({ token: TOKEN }), max: 2,
      acquireTimeoutMs: 600, backoff: constantBackoff({ delayMs: 50 }),
    });
    // Inside the first acquireTimeoutMs of the outage a caller waits (a restart may end it).
    const first = await pool.acquire().catch((e: unknown) => e);
    expect(hasCode(first, 'WW_POOL_TIMEOUT')).toBe(true);
    // By now the outage has lasted about acquireTimeoutMs: at most one more acquire waits.
    const second = await pool.acquire().catch((e: unknown) => e);
    expect(['WW_POOL_TIMEOUT', 'WW_CIRCUIT_OPEN']).toContain((second as WirewardenError).code);
    const errors: unknown[] = [];
    let maxMs = 0;
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      errors.push(await pool.acquire().then(() => undefined, (e: unknown) => e));
      maxMs = Math.max(maxMs, performance.now() - started);
    }
    expect(maxMs).toBeLessThanOrEqual(50);
    for (const e of errors) {
      expect(hasCode(e, 'WW_CIRCUIT_OPEN'), String(e)).toBe(true);
      expect(((e as Error).cause as WirewardenError).code).toBe('WW_DIAL_REFUSED');
      expect((e as Error).message).toMatch(/every endpoint has been unreachable for \d+ ms, longer than acquireTimeoutMs \(600 ms\)/);
    }
    const dispatched = await pool.dispatch((c: WireSession) => c.request('x')).catch((e: unknown) => e);
    expect(hasCode(dispatched, 'WW_CIRCUIT_OPEN')).toBe(true);
    expect(pool.stats().circuitOpen).toBeGreaterThanOrEqual(21);

    await startServer({ port: ports[1] });
    const start = Date.now();
    for (;;) {
      const ok = await pool.use((c: WireSession) => c.request('back')).then(() => true, () => false);
      if (ok) break;
      expect(Date.now() - start).toBeLessThan(5000);
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  it('a blip shorter than acquireTimeoutMs is ridden through: callers wait for the redial and none fails fast', async () => {
    const port = await closedPort();
    const rt = runtime();
    const pool = rt.createPool({
      endpoints: [{ host: '127.0.0.1', port }], protocol: wire({ token: TOKEN }), max: 2,
      acquireTimeoutMs: 3000, backoff: constantBackoff({ delayMs: 30 }),
    });
    // Down from the start; the server comes up 300 ms later, well inside acquireTimeoutMs.
    const calls = Array.from({ length: 10 }, (_, i) =>
      new Promise((r) => setTimeout(r, i * 25)).then(() => pool.use((c: WireSession) => c.request(i))),
    );
    await new Promise((r) => setTimeout(r, 300));
    await startServer({ port });
    const results = await Promise.allSettled(calls);
    expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
    expect(pool.stats().circuitOpen).toBe(0);
  });
});
