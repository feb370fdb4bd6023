/**
 * Metric series live as long as what they describe, in virtual time: a pool that closed
 * leaves no sample behind, and an endpoint that discovery took away loses its series once
 * its last connection is gone.
 */
import { BehaviorSubject } from 'rxjs';
import { Registry } from 'prom-client';
import { afterEach, expect, it } from 'vitest';
import { createPrometheusMetrics } from '../../src/observe/prometheus.js';
import type { Endpoint } from '../../src/transport/types.js';
import { advance, HEARTBEAT, shutdown, virtualPool, type VirtualSetup } from './helpers/virtual-peer.js';
import { samples, value } from './helpers/scrape.js';

let setup: VirtualSetup | undefined;
afterEach(async () => {
  if (setup) await shutdown(setup);
  setup = undefined;
});

/** Every sample line of the scrape that names `label="value"`. */
const linesWith = (text: string, label: string, v: string): string[] =>
  text.split('\n').filter((l) => !l.startsWith('#') && l.includes(`${label}="${v}"`));

it('a closed pool leaves no series: connections, transitions, RTTs, restarts, waits and gauges all go', async () => {
  const register = new Registry();
  setup = virtualPool(1, 1, (rt) => createPrometheusMetrics(rt, { register }));
  const { rt, peer, scheduler } = setup;
  await advance(scheduler, 50);
  for (let i = 0; i < 3; i++) {
    const pool = rt.createPool({ endpoints: [{ host: '10.0.0.2', port: 7000 }], protocol: peer.protocol, transport: peer.transport, min: 1, max: 1, heartbeat: HEARTBEAT });
    await advance(scheduler, 50);
    // A queued acquire (a wait sample) and a heartbeat (an RTT sample) for this pool.
    const held = await pool.acquire();
    const queued = pool.acquire();
    await advance(scheduler, 10);
    held.release();
    (await queued).release();
    await advance(scheduler, HEARTBEAT.intervalMs, 1);
    const open = await register.metrics();
    expect(value(open, 'wirewarden_connection_probe_rtt_seconds_count', { pool: pool.id, endpoint: '10.0.0.2:7000' })).toBe(1);
    expect(value(open, 'wirewarden_pool_acquire_wait_seconds_count', { pool: pool.id })).toBe(1);
    const closing = pool.close();
    await advance(scheduler, 100);
    await closing;
    expect(linesWith(await register.metrics(), 'pool', pool.id)).toEqual([]);
    expect(linesWith(await register.metrics(), 'supervisor', pool.id)).toEqual([]);
  }
  // Only the pool that is still open is left.
  const pools = new Set((await register.metrics()).split('\n').flatMap((l) => /pool="([^"]+)"/.exec(l)?.[1] ?? []));
  expect([...pools]).toEqual([setup.pool.id]);
});

it('an endpoint discovery removed loses its series once its last connection is gone', async () => {
  const register = new Registry();
  setup = virtualPool(1, 1, (rt) => createPrometheusMetrics(rt, { register }));
  const { rt, peer, scheduler } = setup;
  const A: Endpoint = { host: '10.0.0.3', port: 7000 };
  const B: Endpoint = { host: '10.0.0.4', port: 7000 };
  const sets = new BehaviorSubject<readonly Endpoint[]>([A, B]);
  const pool = rt.createPool({ endpoints: sets.asObservable(), protocol: peer.protocol, transport: peer.transport, min: 2, max: 2, heartbeat: HEARTBEAT });
  await advance(scheduler, 50);
  const endpoints = async (): Promise<string[]> =>
    [...new Set(samples(await register.metrics(), 'wirewarden_connections').filter((s) => s.labels.pool === pool.id).map((s) => s.labels.endpoint!))].sort();
  expect(await endpoints()).toEqual(['10.0.0.3:7000', '10.0.0.4:7000']);

  // B leaves while its connection is leased: its series stay until that connection is gone.
  const leases = [await pool.acquire(), await pool.acquire()];
  sets.next([A]);
  await advance(scheduler, 10);
  expect(await endpoints()).toEqual(['10.0.0.3:7000', '10.0.0.4:7000']);
  for (const lease of leases) lease.release();
  await advance(scheduler, 100);
  expect(await endpoints()).toEqual(['10.0.0.3:7000']);
  expect(linesWith(await register.metrics(), 'endpoint', '10.0.0.4:7000')).toEqual([]);
  // The endpoint still in the set keeps counting.
  expect(value(await register.metrics(), 'wirewarden_connections', { pool: pool.id, endpoint: '10.0.0.3:7000', state: 'ready' })).toBe(2);
  await pool.close();
});
