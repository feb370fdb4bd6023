/**
 * What the metric catalog reads from pools, in virtual time: each pool's `stats()` once
 * per scrape (however many metrics come from it), fresh at the next scrape; the breaker
 * state and the shared-dispatch figures from it too, and the waits of queued dispatches.
 */
import { PassThrough, type Duplex } from 'node:stream';
import { Registry } from 'prom-client';
import { VirtualTimeScheduler } from 'rxjs';
import { afterEach, expect, it, vi } from 'vitest';
import { createOpenTelemetry } from '../../src/observe/opentelemetry.js';
import { createPrometheusMetrics } from '../../src/observe/prometheus.js';
import { METRICS } from '../../src/observe/metric-catalog.js';
import { createRuntime } from '../../src/runtime.js';
import { custom } from '../../src/transport/custom.js';
import { advance, shutdown, virtualPool, type VirtualSetup } from './helpers/virtual-peer.js';
import { samples, value } from './helpers/scrape.js';

let setup: VirtualSetup | undefined;
afterEach(async () => {
  if (setup) await shutdown(setup);
  setup = undefined;
});

it('a scrape reads each pool\'s stats() once and its health() never; the next scrape reads them afresh', async () => {
  const register = new Registry();
  let producer: ReturnType<typeof createOpenTelemetry>['metricProducer'] | undefined;
  setup = virtualPool(1, 2, (rt) => {
    createPrometheusMetrics(rt, { register });
    producer = createOpenTelemetry(rt, { meterProvider: false, tracerProvider: false }).metricProducer;
  });
  const { scheduler, pool } = setup;
  await advance(scheduler, 50);
  const stats = vi.spyOn(pool, 'stats');
  const health = vi.spyOn(pool, 'health');
  let text = await register.metrics();
  expect(value(text, 'wirewarden_pool_open_connections', { pool: pool.id })).toBe(1);
  expect(stats).toHaveBeenCalledTimes(1);
  expect(health).not.toHaveBeenCalled();

  const lease = await pool.acquire();
  text = await register.metrics();
  expect(value(text, 'wirewarden_pool_leased_connections', { pool: pool.id })).toBe(1);
  expect(stats).toHaveBeenCalledTimes(2);
  lease.release();

  await producer!.collect();
  expect(stats).toHaveBeenCalledTimes(3);
  expect(health).not.toHaveBeenCalled();
});

it('breaker state per endpoint comes from stats().endpoints[e].breaker: 1 for the current state, nothing without a breaker', async () => {
  const register = new Registry();
  setup = virtualPool(1, 1, (rt) => createPrometheusMetrics(rt, { register }));
  const { scheduler, pool } = setup;
  await advance(scheduler, 50);
  const ep = '10.0.0.1:7000';
  expect(samples(await register.metrics(), 'wirewarden_pool_breaker_state')).toEqual([]);
  // The shape a pool with breakers reports (docs/pool.md "Circuit breaker").
  const real = pool.stats.bind(pool);
  let breaker = 'half-open';
  vi.spyOn(pool, 'stats').mockImplementation(() => {
    const s = real();
    return { ...s, endpoints: { [ep]: { ...s.endpoints[ep]!, breaker } } } as ReturnType<typeof real>;
  });
  let text = await register.metrics();
  expect(value(text, 'wirewarden_pool_breaker_state', { pool: pool.id, endpoint: ep, state: 'half-open' })).toBe(1);
  expect(value(text, 'wirewarden_pool_breaker_state', { pool: pool.id, endpoint: ep, state: 'closed' })).toBe(0);
  expect(value(text, 'wirewarden_pool_breaker_state', { pool: pool.id, endpoint: ep, state: 'open' })).toBe(0);
  breaker = 'open';
  text = await register.metrics();
  expect(value(text, 'wirewarden_pool_breaker_state', { pool: pool.id, endpoint: ep, state: 'open' })).toBe(1);
  // A state indicator, not a ratio: OpenTelemetry's unit is {state} (`1` would convert to a _ratio suffix).
  expect(METRICS.find((m) => m.name === 'wirewarden_pool_breaker_state')!.unit).toBe('{state}');
});

it('shared dispatch: connections shared, dispatches in flight and queued, started and timed out, and the waits of queued ones', async () => {
  const scheduler = new VirtualTimeScheduler();
  const rt = createRuntime({ scheduler, random: () => 0.5, loadSource: () => 0 });
  const register = new Registry();
  createPrometheusMetrics(rt, { register });
  // Sessions that multiplex two calls each; a call takes 10 ms.
  const later = <T>(v: T, ms: number): Promise<T> => new Promise((resolve) => scheduler.schedule(() => resolve(v), ms));
  const protocol = custom<{ stream: Duplex }>({
    open: (stream) => later({ stream }, 1),
    probe: () => later(undefined, 1),
    close: async ({ stream }) => {
      stream.destroy();
    },
    sharing: { maxInFlight: 2 },
  });
  const pool = rt.createPool({
    endpoints: [{ host: '10.0.0.1', port: 7000 }], protocol, transport: { kind: 'virtual', dial: () => later(new PassThrough(), 1) },
    min: 1, max: 1, heartbeat: { intervalMs: 60_000, minTimeoutMs: 100, maxTimeoutMs: 500 },
  });
  setup = { rt, scheduler } as VirtualSetup;
  await advance(scheduler, 10);
  const work = () => later('ok', 10);
  const running = [pool.dispatch(work), pool.dispatch(work), pool.dispatch(work)];
  const timedOut = pool.dispatch(work, { timeoutMs: 5 }).catch((e: unknown) => e);
  let text = await register.metrics();
  const p = { pool: pool.id };
  expect(value(text, 'wirewarden_pool_shared_connections', p)).toBe(1);
  expect(value(text, 'wirewarden_pool_dispatches_in_flight', p)).toBe(2);
  expect(value(text, 'wirewarden_pool_waiting_dispatches', p)).toBe(2);
  await advance(scheduler, 30);
  await Promise.all(running);
  expect(await timedOut).toMatchObject({ code: 'WW_POOL_TIMEOUT' });
  text = await register.metrics();
  expect(value(text, 'wirewarden_pool_dispatches_total', p)).toBe(3);
  expect(value(text, 'wirewarden_pool_dispatch_timeouts_total', p)).toBe(1);
  // The third waited for the first two; the one that timed out is no wait sample. (The pool
  // times waits on its coarse clock, refreshed by its queue's tick: up to 10 ms here.)
  expect(value(text, 'wirewarden_pool_dispatch_wait_seconds_count', p)).toBe(1);
  expect(value(text, 'wirewarden_pool_dispatch_wait_seconds_sum', p)).toBeGreaterThan(0);
  expect(value(text, 'wirewarden_pool_dispatch_wait_seconds_sum', p)).toBeLessThanOrEqual(0.01);
  expect(value(text, 'wirewarden_pool_acquire_wait_seconds_count', p)).toBe(0);
  expect(value(text, 'wirewarden_pool_waiting_dispatches', p)).toBe(0);
});
