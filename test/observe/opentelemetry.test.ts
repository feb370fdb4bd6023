/**
 * OpenTelemetry in virtual time, read through the SDK's in-memory exporters: the same
 * instruments as the Prometheus exporter (compared value by value on one run), spans for
 * pool.use / acquire and for a connection's connect / dial / handshake with their exact
 * virtual durations, and the trace id of a recording span on the events emitted inside it
 * (and only then).
 */
import { SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createOpenTelemetry } from '../../src/observe/opentelemetry.js';
import { createPrometheusMetrics } from '../../src/observe/prometheus.js';
import { METRICS } from '../../src/observe/metric-catalog.js';
import type { RuntimeEvent } from '../../src/observe/events.js';
import { loadOptionalPeer } from '../../src/observe/optional-peer.js';
import { advance, HEARTBEAT, shutdown, virtualPool, type VirtualSetup } from './helpers/virtual-peer.js';
import { durationMs, installContextManager, otelSdk, point, spansNamed, type HistogramPoint, type OtelSdk } from './helpers/otel.js';
import { value } from './helpers/scrape.js';

let removeContextManager: () => void;
beforeAll(() => (removeContextManager = installContextManager()));
afterAll(() => removeContextManager());

let setup: VirtualSetup | undefined;
let sdk: OtelSdk | undefined;
afterEach(async () => {
  if (setup) await shutdown(setup);
  if (sdk) await sdk.shutdown();
  setup = undefined;
  sdk = undefined;
});

const EP = '10.0.0.1:7000';

/** Runs `fn` inside a recording span of the test's own tracer (a user's request). */
async function inRequest<T>(tracer: Tracer, fn: () => Promise<T>): Promise<{ result: T; traceId: string }> {
  return tracer.startActiveSpan('request', async (span) => {
    try {
      return { result: await fn(), traceId: span.spanContext().traceId };
    } finally {
      span.end();
    }
  });
}

describe('createOpenTelemetry: metrics', () => {
  it('reports the catalog as OTel instruments with the same values as the Prometheus scrape', async () => {
    sdk = otelSdk();
    const register = new Registry();
    const otel = sdk;
    setup = virtualPool(2, 2, (rt) => {
      createPrometheusMetrics(rt, { register });
      createOpenTelemetry(rt, { meterProvider: otel.meterProvider, tracerProvider: false });
    });
    const { scheduler, pool } = setup;
    await advance(scheduler, 50);
    await advance(scheduler, 3 * HEARTBEAT.intervalMs, 1);

    const metrics = await sdk.metrics();
    // Every instrument but those with nothing to report yet: no breaker, no restart, no death, no queued acquire.
    const unsampled = ['wirewarden_pool_breaker_state', 'wirewarden_restarts_total', 'wirewarden_connection_detection_seconds', 'wirewarden_pool_acquire_wait_seconds'];
    for (const m of METRICS.filter((x) => !unsampled.includes(x.name))) {
      expect(metrics.get(m.otelName)?.descriptor, m.otelName).toMatchObject({ unit: m.unit, description: m.help });
    }
    const text = await register.metrics();
    const series = { pool: pool.id, endpoint: EP };
    expect(point(metrics.get('wirewarden.connections'), { ...series, state: 'ready' })?.value)
      .toBe(value(text, 'wirewarden_connections', { ...series, state: 'ready' }));
    expect(point(metrics.get('wirewarden.connection.transitions'), { ...series, from: 'probing', to: 'ready' })?.value)
      .toBe(value(text, 'wirewarden_connection_transitions_total', { ...series, from: 'probing', to: 'ready' }));
    expect(point(metrics.get('wirewarden.pool.open_connections'), { pool: pool.id })?.value).toBe(2);
    const rtt = point<HistogramPoint['value']>(metrics.get('wirewarden.connection.probe_rtt'), series)!.value;
    expect(rtt.count).toBe(value(text, 'wirewarden_connection_probe_rtt_seconds_count', series));
    expect(rtt.count).toBe(6);
    expect(rtt.sum).toBeCloseTo(0.018, 9);
    // The catalog's buckets, given as advice.
    expect(rtt.buckets.boundaries).toContain(0.005);
  });
});

describe('createOpenTelemetry: tracing', () => {
  it('pool.use inside a request: use and acquire spans name the connection; events inside carry the trace id', async () => {
    sdk = otelSdk();
    const otel = sdk;
    const events: RuntimeEvent[] = [];
    setup = virtualPool(1, 1, (rt) => {
      createOpenTelemetry(rt, { meterProvider: false, tracerProvider: otel.tracerProvider });
      rt.events$.subscribe((e) => events.push(e));
    });
    const { scheduler, pool } = setup;
    await advance(scheduler, 50);
    const { result, traceId } = await inRequest(sdk.tracerProvider.getTracer('test'), () => pool.use(async (conn) => {
      // The request went unanswered: the connection turns suspect inside this request.
      conn.ctx.requestTimedOut!();
      return 'done';
    }));
    expect(result).toBe('done');

    const spans = sdk.spans.getFinishedSpans();
    const use = spansNamed(spans, 'wirewarden.pool.use')[0]!;
    const acquire = spansNamed(spans, 'wirewarden.pool.acquire')[0]!;
    const request = spansNamed(spans, 'request')[0]!;
    expect(use.spanContext().traceId).toBe(traceId);
    expect(use.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(acquire.parentSpanContext?.spanId).toBe(use.spanContext().spanId);
    const path = `${pool.path}/conn-1`;
    expect(use.attributes).toMatchObject({ 'wirewarden.pool': pool.id, 'wirewarden.connection.id': 'conn-1', 'wirewarden.connection.path': path, 'wirewarden.endpoint': EP });
    expect(acquire.attributes).toMatchObject({ 'wirewarden.connection.path': path });

    // The trace leads to the connection's events, and the event back to the trace.
    const suspect = events.find((e) => e.type === 'state' && e.path === path && e.to === 'suspect')!;
    expect(suspect).toMatchObject({ traceId, spanId: use.spanContext().spanId });
    // Events after the request carry no trace (the span ended).
    await advance(scheduler, 2 * HEARTBEAT.intervalMs, 1);
    const later = events.filter((e) => e.type === 'state' && e.at > suspect.at);
    expect(later.length).toBeGreaterThan(0);
    for (const e of later) expect(e.traceId).toBeUndefined();
  });

  it('a failing use: both spans record the error code; without a parent span no span is made (requireParentSpan)', async () => {
    sdk = otelSdk();
    const otel = sdk;
    setup = virtualPool(1, 1, (rt) => createOpenTelemetry(rt, { meterProvider: false, tracerProvider: otel.tracerProvider }));
    const { scheduler, pool } = setup;
    await advance(scheduler, 50);
    expect(await pool.use(() => 'untraced')).toBe('untraced');
    expect(spansNamed(sdk.spans.getFinishedSpans(), 'wirewarden.pool.use')).toHaveLength(0);

    const tracer = sdk.tracerProvider.getTracer('test');
    const boom = Object.assign(new Error('remote said no'), { code: 'WW_REMOTE_ERROR' });
    await expect(inRequest(tracer, () => pool.use(() => Promise.reject(boom)))).rejects.toBe(boom);
    const use = spansNamed(sdk.spans.getFinishedSpans(), 'wirewarden.pool.use')[0]!;
    expect(use.status).toEqual({ code: SpanStatusCode.ERROR, message: 'WW_REMOTE_ERROR' });
    expect(use.attributes['error.type']).toBe('WW_REMOTE_ERROR');
    expect(pool.stats().leased).toBe(0);

    // An acquire that times out fails both spans with the pool's code.
    const held = await pool.acquire();
    const failed = inRequest(tracer, () => pool.use(() => 'never', { timeoutMs: 100 }));
    const settled = failed.catch((e: unknown) => e);
    await advance(scheduler, 200);
    expect(await settled).toMatchObject({ code: 'WW_POOL_TIMEOUT' });
    held.release();
    const acquire = spansNamed(sdk.spans.getFinishedSpans(), 'wirewarden.pool.acquire').at(-1)!;
    expect(acquire.status.code).toBe(SpanStatusCode.ERROR);
    expect(acquire.attributes['error.type']).toBe('WW_POOL_TIMEOUT');
  });

  it('requireParentSpan: false traces background work as root spans', async () => {
    sdk = otelSdk();
    const otel = sdk;
    setup = virtualPool(1, 1, (rt) => createOpenTelemetry(rt, { meterProvider: false, tracerProvider: otel.tracerProvider, requireParentSpan: false }));
    await advance(setup.scheduler, 50);
    await setup.pool.use(() => 1);
    const use = spansNamed(sdk.spans.getFinishedSpans(), 'wirewarden.pool.use');
    expect(use).toHaveLength(1);
    expect(use[0]!.parentSpanContext).toBeUndefined();
  });

  it('connection spans: connect = dial + handshake with their virtual durations; a refused handshake fails them', async () => {
    sdk = otelSdk();
    const otel = sdk;
    setup = virtualPool(1, 1, (rt) => createOpenTelemetry(rt, { meterProvider: false, tracerProvider: otel.tracerProvider }));
    const { scheduler, pool, peer } = setup;
    await advance(scheduler, 50);
    let spans = sdk.spans.getFinishedSpans();
    const connect = spansNamed(spans, 'wirewarden.connection.connect')[0]!;
    const dial = spansNamed(spans, 'wirewarden.connection.dial')[0]!;
    const handshake = spansNamed(spans, 'wirewarden.connection.handshake')[0]!;
    expect(durationMs(dial)).toBe(peer.dialMs);
    expect(durationMs(handshake)).toBe(peer.handshakeMs);
    expect(durationMs(connect)).toBe(peer.dialMs + peer.handshakeMs);
    expect(connect.parentSpanContext).toBeUndefined();
    expect(dial.parentSpanContext?.spanId).toBe(connect.spanContext().spanId);
    expect(handshake.parentSpanContext?.spanId).toBe(connect.spanContext().spanId);
    expect(connect.attributes).toMatchObject({ 'wirewarden.pool': pool.id, 'wirewarden.endpoint': EP, 'wirewarden.connection.path': `${pool.path}/conn-1` });
    expect(connect.status.code).toBe(SpanStatusCode.UNSET);

    sdk.spans.reset();
    peer.refusing = true;
    const lease = await pool.acquire();
    lease.destroy(new Error('retire it'));
    await advance(scheduler, 300);
    spans = sdk.spans.getFinishedSpans();
    const failedHandshake = spansNamed(spans, 'wirewarden.connection.handshake')[0]!;
    expect(failedHandshake.status).toMatchObject({ code: SpanStatusCode.ERROR, message: 'handshake-failed' });
    expect(failedHandshake.attributes).toMatchObject({ 'wirewarden.exit.reason': 'handshake-failed', 'error.type': 'WW_HANDSHAKE_FAILED' });
    expect(spansNamed(spans, 'wirewarden.connection.dial')[0]!.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('close() stops spans and trace ids; options are checked; a missing @opentelemetry/api is a typed error naming the package', async () => {
    sdk = otelSdk();
    const otel = sdk;
    let handle: { close(): void } | undefined;
    setup = virtualPool(1, 1, (rt) => (handle = createOpenTelemetry(rt, { meterProvider: false, tracerProvider: otel.tracerProvider, requireParentSpan: false })));
    await advance(setup.scheduler, 50);
    handle!.close();
    handle!.close();
    await setup.pool.use(() => 1);
    expect(spansNamed(sdk.spans.getFinishedSpans(), 'wirewarden.pool.use')).toHaveLength(0);

    expect(() => createOpenTelemetry(setup!.rt, { tracerProvider: {} as never })).toThrow(/openTelemetry\.tracerProvider must be a TracerProvider/);
    expect(() => createOpenTelemetry(setup!.rt, { sampler: 1 } as never)).toThrow(/openTelemetry\.sampler is not a known option/);
    expect(() => loadOptionalPeer('@opentelemetry/not-installed-here', 'createOpenTelemetry', 'openTelemetry.api'))
      .toThrow(expect.objectContaining({ code: 'WW_INVALID_OPTION', message: expect.stringContaining('npm install @opentelemetry/not-installed-here') }));
  });
});
