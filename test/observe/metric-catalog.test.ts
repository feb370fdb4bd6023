/**
 * What the metric catalog reads from pools, in virtual time: each pool's `stats()` once
 * per scrape (however many metrics come from it), fresh at the next scrape.
 */
import { Registry } from 'prom-client';
import { afterEach, expect, it, vi } from 'vitest';
import { createOpenTelemetry } from '../../src/observe/opentelemetry.js';
import { createPrometheusMetrics } from '../../src/observe/prometheus.js';
import { advance, shutdown, virtualPool, type VirtualSetup } from './helpers/virtual-peer.js';
import { value } from './helpers/scrape.js';

let setup: VirtualSetup | undefined;
afterEach(async () => {
  if (setup) await shutdown(setup);
  setup = undefined;
});

it('a scrape reads each pool\'s stats() once; the next scrape reads them afresh', async () => {
  const register = new Registry();
  let producer: ReturnType<typeof createOpenTelemetry>['metricProducer'] | undefined;
  setup = virtualPool(1, 2, (rt) => {
    createPrometheusMetrics(rt, { register });
    producer = createOpenTelemetry(rt, { meterProvider: false, tracerProvider: false }).metricProducer;
  });
  const { scheduler, pool } = setup;
  await advance(scheduler, 50);
  const stats = vi.spyOn(pool, 'stats');
  let text = await register.metrics();
  expect(value(text, 'wirewarden_pool_open_connections', { pool: pool.id })).toBe(1);
  expect(stats).toHaveBeenCalledTimes(1);

  const lease = await pool.acquire();
  text = await register.metrics();
  expect(value(text, 'wirewarden_pool_leased_connections', { pool: pool.id })).toBe(1);
  expect(stats).toHaveBeenCalledTimes(2);
  lease.release();

  await producer!.collect();
  expect(stats).toHaveBeenCalledTimes(3);
});
