/**
 * Prometheus metrics over real loopback connections (127.0.0.1): a wire({ token }) pool on
 * wirewarden's wire server and resp({ password }) pools on a fake Redis, scraped from a
 * prom-client Registry. What is checked: the series a user sees (states by endpoint, pool
 * gauges, RTT and wait histograms, restarts by reason), and that no label or value carries
 * a credential — also when the server echoes the password in its errors. Real time,
 * bounded polling; no assertion on a timing.
 */
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime } from '../../src/runtime.js';
import { createPrometheusMetrics } from '../../src/observe/prometheus.js';
import { METRICS } from '../../src/observe/metric-catalog.js';
import { exponentialBackoff } from '../../src/supervisor/backoff.js';
import { createWireServer } from '../../src/transport/wire-server.js';
import { wire } from '../../src/transport/wire.js';
import { resp } from '../../src/transport/resp.js';
import { FakeRedis } from '../transport/resp-helpers/fake-redis.js';
import { total, value } from './helpers/scrape.js';

const TOKEN = 'wire-token-must-not-be-scraped';
const PASSWORD = 'resp-password-must-not-be-scraped';
const WRONG = 'wrong-password-echoed-by-the-server';
const heartbeat = { intervalMs: 30, minTimeoutMs: 20, maxTimeoutMs: 500 };
const backoff = exponentialBackoff({ initialMs: 20, maxMs: 100, multiplier: 2, jitter: 'full' });

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, limitMs = 5000): Promise<void> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > limitMs) throw new Error(`timed out after ${limitMs} ms waiting for ${what}`);
    await new Promise<void>((r) => setTimeout(r, 5));
  }
}

function runtime() {
  const rt = createRuntime({ loadSource: () => 0 });
  cleanups.push(() => rt.shutdown());
  return rt;
}

/** Every label value and the text of a scrape, for the secret checks. */
async function everything(register: Registry): Promise<string> {
  const json = await register.getMetricsAsJSON();
  return `${await register.metrics()}\n${JSON.stringify(json)}`;
}

describe('Prometheus metrics over loopback', () => {
  it('a wire({ token }) pool: states by endpoint, pool gauges, RTT and wait histograms, no token anywhere', async () => {
    const server = createWireServer({ token: TOKEN, handler: (payload) => payload });
    cleanups.push(() => server.close({ graceful: false }));
    const { port } = (await server.listen()) as { port: number };
    const rt = runtime();
    const register = new Registry();
    createPrometheusMetrics(rt, { register });
    const pool = rt.createPool({ endpoints: [{ host: '127.0.0.1', port }], protocol: wire({ token: TOKEN }), min: 2, max: 2, heartbeat, backoff });
    const series = { pool: pool.id, endpoint: `127.0.0.1:${port}` };

    await waitFor('probe replies', async () => (value(await register.metrics(), 'wirewarden_connection_probe_rtt_seconds_count', series) ?? 0) >= 4);
    // Both connections leased, a third acquire queues until one comes back.
    const [a, b] = [await pool.acquire(), await pool.acquire()];
    const queued = pool.acquire({ timeoutMs: 2000 });
    expect(await a.conn.request('x')).toBe('x');
    a.release();
    (await queued).release();
    b.release();
    expect(await pool.use((conn) => conn.request({ op: 'echo' }))).toEqual({ op: 'echo' });

    const text = await register.metrics();
    expect(total(text, 'wirewarden_connections', series)).toBe(2);
    expect(value(text, 'wirewarden_connection_transitions_total', { ...series, from: 'dialing', to: 'ready' })).toBe(2);
    expect(value(text, 'wirewarden_pool_open_connections', { pool: pool.id })).toBe(2);
    expect(value(text, 'wirewarden_pool_leased_connections', { pool: pool.id })).toBe(0);
    expect(value(text, 'wirewarden_pool_acquires_total', { pool: pool.id })).toBe(4);
    expect(value(text, 'wirewarden_pool_acquire_wait_seconds_count', { pool: pool.id })).toBe(1);
    expect(value(text, 'wirewarden_connection_probe_rtt_seconds_sum', series)).toBeGreaterThan(0);
    // Every metric of the catalog is there, with HELP and TYPE.
    for (const m of METRICS) expect(text).toContain(`# TYPE ${m.name} ${m.kind}`);
    expect(await everything(register)).not.toContain(TOKEN);
  });

  it('resp({ password }) pools: a refused handshake is counted by reason, and neither password appears', async () => {
    const redis = await new FakeRedis({ password: PASSWORD, echoPasswordInErrors: true }).listen();
    cleanups.push(() => redis.close());
    const rt = runtime();
    const register = new Registry();
    createPrometheusMetrics(rt, { register });
    const good = rt.createPool({
      id: 'cache', endpoints: [{ host: '127.0.0.1', port: redis.port }], protocol: resp({ password: PASSWORD }), min: 1, max: 1, heartbeat, backoff,
    });
    const bad = rt.createPool({
      id: 'cache-wrong-auth', endpoints: [{ host: '127.0.0.1', port: redis.port }], protocol: resp({ password: WRONG }), min: 1, max: 1, heartbeat, backoff,
    });
    expect(await good.use((conn) => conn.command(['PING']))).toBe('PONG');
    await waitFor('the refused pool retried', async () => (value(await register.metrics(), 'wirewarden_restarts_total', { supervisor: bad.id, reason: 'handshake-failed' }) ?? 0) >= 1);
    await waitFor('probe replies', async () => (value(await register.metrics(), 'wirewarden_connection_probe_rtt_seconds_count', { pool: good.id }) ?? 0) >= 1);

    const text = await everything(register);
    const endpoint = `127.0.0.1:${redis.port}`;
    expect(value(await register.metrics(), 'wirewarden_connections', { pool: good.id, endpoint, state: 'ready' })).toBeLessThanOrEqual(1);
    expect(value(await register.metrics(), 'wirewarden_pool_endpoint_failures_total', { pool: bad.id, endpoint })).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(WRONG);
  });
});
