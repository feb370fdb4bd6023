/**
 * What the metric catalog reads from pools, in virtual time: each pool's `stats()` once
 * per scrape (however many metrics come from it), fresh at the next scrape; the breaker
 * state from it too.
 */
import { Registry } from 'prom-client';
import { afterEach, expect, it, vi } from 'vitest';
import { createOpenTelemetry } from '../../src/observe/opentelemetry.js';
import { createPrometheusMetrics } from '../../src/observe/prometheus.js';
import { METRICS } from '../../src/observe/metric-catalog.js';
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
