/**
 * Prometheus metrics in virtual time, scraped from a prom-client Registry: a pool of
 * connections to a virtual peer whose RTT, dial and handshake times are exact, so the
 * histograms can be checked to the bucket. The peer then freezes: the detection latency
 * is the time from its last probe reply to the death, and the restart is counted by
 * reason.
 */
import { Registry, type OpenMetricsContentType } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createPrometheusMetrics } from '../../src/observe/prometheus.js';
import type { RuntimeEvent, StateEvent } from '../../src/observe/events.js';
import { advance, HEARTBEAT, shutdown, virtualPool, type VirtualSetup } from './helpers/virtual-peer.js';
import { samples, total, value } from './helpers/scrape.js';

let setup: VirtualSetup | undefined;
afterEach(async () => {
  if (setup) await shutdown(setup);
  setup = undefined;
});

const EP = '10.0.0.1:7000';

describe('createPrometheusMetrics (virtual time)', () => {
  it('counts transitions, connection states and probe RTTs to the bucket', async () => {
    const register = new Registry();
    setup = virtualPool(2, 2, (rt) => createPrometheusMetrics(rt, { register }));
    const { peer, scheduler, pool } = setup;
    peer.rttMs = 3;
    await advance(scheduler, 50);
    expect(pool.stats().open).toBe(2);

    let text = await register.metrics();
    expect(value(text, 'wirewarden_connections', { pool: pool.id, endpoint: EP, state: 'ready' })).toBe(2);
    expect(value(text, 'wirewarden_connections', { pool: pool.id, endpoint: EP, state: 'suspect' })).toBe(0);
    expect(value(text, 'wirewarden_connection_transitions_total', { pool: pool.id, endpoint: EP, from: 'starting', to: 'dialing' })).toBe(2);
    expect(value(text, 'wirewarden_connection_transitions_total', { pool: pool.id, endpoint: EP, from: 'dialing', to: 'ready' })).toBe(2);
    expect(value(text, 'wirewarden_pool_open_connections', { pool: pool.id })).toBe(2);
    expect(value(text, 'wirewarden_pool_idle_connections', { pool: pool.id })).toBe(2);
    expect(value(text, 'wirewarden_pool_max_connections', { pool: pool.id })).toBe(2);

    // Three heartbeats each: six probes answered in 3 ms.
    await advance(scheduler, 3 * HEARTBEAT.intervalMs, 1);
    text = await register.metrics();
    const rtt = { pool: pool.id, endpoint: EP };
    expect(value(text, 'wirewarden_connection_probe_rtt_seconds_count', rtt)).toBe(6);
    expect(value(text, 'wirewarden_connection_probe_rtt_seconds_sum', rtt)).toBeCloseTo(6 * 0.003, 9);
    expect(value(text, 'wirewarden_connection_probe_rtt_seconds_bucket', { ...rtt, le: '0.0025' })).toBe(0);
    expect(value(text, 'wirewarden_connection_probe_rtt_seconds_bucket', { ...rtt, le: '0.005' })).toBe(6);
    expect(value(text, 'wirewarden_connection_probe_rtt_seconds_bucket', { ...rtt, le: '+Inf' })).toBe(6);
    expect(value(text, 'wirewarden_connection_transitions_total', { ...rtt, from: 'ready', to: 'probing' })).toBe(6);
    expect(value(text, 'wirewarden_connection_transitions_total', { ...rtt, from: 'probing', to: 'ready' })).toBe(6);
  });

  it('a frozen peer: detection latency from the last probe reply to dead, restarts by reason, states back to ready', async () => {
    setup = virtualPool(1);
    const { rt, peer, scheduler, pool } = setup;
    const register = new Registry();
    createPrometheusMetrics(rt, { register });
    const events: StateEvent[] = [];
    rt.events$.subscribe((e: RuntimeEvent) => e.type === 'state' && e.path.startsWith(`${pool.path}/`) && events.push(e));
    await advance(scheduler, 50);
    await advance(scheduler, 2 * HEARTBEAT.intervalMs, 1);
    peer.frozen = true;
    await advance(scheduler, 3 * HEARTBEAT.intervalMs, 1);
    peer.frozen = false;
    await advance(scheduler, 500, 1);

    const dead = events.find((e) => e.to === 'dead')!;
    expect(dead.reason).toBe('heartbeat-timeout');
    const lastReply = events.filter((e) => e.to === 'ready' && e.at < dead.at).at(-1)!;
    const text = await register.metrics();
    const series = { pool: pool.id, endpoint: EP };
    expect(value(text, 'wirewarden_connection_detection_seconds_count', series)).toBe(1);
    expect(value(text, 'wirewarden_connection_detection_seconds_sum', series)).toBeCloseTo((dead.at - lastReply.at) / 1000, 9);
    // A stall shorter than the suspicion window never kills; this one lasted longer: window ≤ latency ≤ window + interval.
    const windowS = (3 * HEARTBEAT.maxTimeoutMs) / 1000;
    expect(value(text, 'wirewarden_connection_detection_seconds_sum', series)).toBeGreaterThanOrEqual(windowS);
    expect(value(text, 'wirewarden_connection_detection_seconds_sum', series)).toBeLessThanOrEqual(windowS + HEARTBEAT.intervalMs / 1000);
    expect(value(text, 'wirewarden_restarts_total', { supervisor: pool.id, reason: 'heartbeat-timeout' })).toBe(1);
    expect(value(text, 'wirewarden_connection_transitions_total', { ...series, from: 'suspect', to: 'dead' })).toBe(1);
    expect(value(text, 'wirewarden_connection_transitions_total', { ...series, from: 'restarting', to: 'dialing' })).toBe(1);
    expect(value(text, 'wirewarden_connections', { ...series, state: 'ready' })).toBe(1);
    expect(total(text, 'wirewarden_connections')).toBe(1);
    expect(value(text, 'wirewarden_pool_connections_closed_total', { pool: pool.id, reason: 'dead' })).toBe(1);
    expect(value(text, 'wirewarden_pool_endpoint_failures_total', { pool: pool.id, endpoint: EP })).toBe(1);
  });

  it('acquire waits: only queued acquires are observed, at their wait; acquires and timeouts come from stats()', async () => {
    setup = virtualPool(1);
    const { rt, scheduler, pool } = setup;
    const register = new Registry();
    createPrometheusMetrics(rt, { register });
    await advance(scheduler, 50);
    const first = await pool.acquire();
    const queued = pool.acquire({ timeoutMs: 5000 });
    await advance(scheduler, 250);
    first.release();
    const second = await queued;
    const timedOut = pool.acquire({ timeoutMs: 100 }).catch((e: unknown) => e);
    await advance(scheduler, 150);
    expect(await timedOut).toMatchObject({ code: 'WW_POOL_TIMEOUT' });
    second.release();

    const text = await register.metrics();
    const p = { pool: pool.id };
    expect(value(text, 'wirewarden_pool_acquire_wait_seconds_count', p)).toBe(1);
    expect(value(text, 'wirewarden_pool_acquire_wait_seconds_sum', p)).toBeCloseTo(0.25, 9);
    expect(value(text, 'wirewarden_pool_acquire_wait_seconds_bucket', { ...p, le: '0.1' })).toBe(0);
    expect(value(text, 'wirewarden_pool_acquire_wait_seconds_bucket', { ...p, le: '0.25' })).toBe(1);
    expect(value(text, 'wirewarden_pool_acquires_total', p)).toBe(2);
    expect(value(text, 'wirewarden_pool_acquire_timeouts_total', p)).toBe(1);
    expect(value(text, 'wirewarden_pool_waiting_acquires', p)).toBe(0);
  });

  it('metrics turned on after the connections exist see them; close() removes every metric and stops counting', async () => {
    setup = virtualPool(2);
    const { rt, scheduler, pool } = setup;
    await advance(scheduler, 50);
    const register = new Registry();
    const metrics = createPrometheusMetrics(rt, { register });
    let text = await register.metrics();
    expect(value(text, 'wirewarden_connections', { pool: pool.id, endpoint: EP, state: 'ready' })).toBe(2);
    await advance(scheduler, HEARTBEAT.intervalMs, 1);
    text = await register.metrics();
    expect(value(text, 'wirewarden_connection_probe_rtt_seconds_count', { pool: pool.id, endpoint: EP })).toBe(2);

    expect(() => createPrometheusMetrics(rt, { register })).toThrow(/already has a metric named wirewarden_connections/);
    metrics.close();
    expect(await register.metrics()).not.toContain('wirewarden_');
    expect(register.getMetricsAsArray()).toHaveLength(0);
    // A second set on the same registry is allowed once the first is closed.
    createPrometheusMetrics(rt, { register }).close();
  });

  it('OpenMetrics output and JSON come from the same collectors', async () => {
    setup = virtualPool(1);
    const { rt, scheduler, pool } = setup;
    const register = new Registry<OpenMetricsContentType>();
    register.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    createPrometheusMetrics(rt, { register });
    await advance(scheduler, 50);
    const text = await register.metrics();
    expect(text).toContain('# TYPE wirewarden_pool_acquires counter');
    expect(value(text, 'wirewarden_pool_acquires_total', { pool: pool.id })).toBe(0);
    expect(text.trimEnd().endsWith('# EOF')).toBe(true);
    const json = await register.getMetricsAsJSON();
    const states = json.find((m) => m.name === 'wirewarden_connections')!;
    expect(states.type).toBe('gauge');
    expect(samples(text, 'wirewarden_connections').length).toBe(5);
  });

  it('rejects what is not a registry with WW_INVALID_OPTION naming the option', () => {
    setup = virtualPool(1);
    expect(() => createPrometheusMetrics(setup!.rt, { register: {} as never })).toThrow(/metrics\.register must be a prom-client Registry/);
    expect(() => createPrometheusMetrics(setup!.rt, { register: new Registry(), extra: 1 } as never)).toThrow(/metrics\.extra is not a known option/);
  });
});
