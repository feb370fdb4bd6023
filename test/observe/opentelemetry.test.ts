/**
 * OpenTelemetry in virtual time, read through the SDK's in-memory exporters: the same
 * instruments as the Prometheus exporter (compared value by value on one run), spans for
 * pool.use / acquire and for a connection's connect / dial / handshake with their exact
 * virtual durations, and the trace id of a recording span on the events emitted inside it
 * (and only then).
 */
import { SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { DataPointType, type MetricProducer } from '@opentelemetry/sdk-metrics';
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
    // Every instrument but those with nothing to report yet: no breaker, no restart, no death, no queued acquire or
    // dispatch, and the endpoint-health counters a pool without breakers or shedding does not have.
    const unsampled = ['wirewarden_pool_breaker_state', 'wirewarden_restarts_total', 'wirewarden_connection_detection_seconds', 'wirewarden_pool_acquire_wait_seconds',
      'wirewarden_pool_dispatch_wait_seconds', 'wirewarden_pool_circuit_open_rejections_total', 'wirewarden_pool_shed_calls_total'];
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

describe('createOpenTelemetry: metric producer', () => {
  it('an SDK reader with metricProducers: [otel.metricProducer] reads the same cells as the Prometheus scrape', async () => {
    const register = new Registry();
    let producer: MetricProducer | undefined;
    let handle: { close(): void } | undefined;
    setup = virtualPool(2, 2, (rt) => {
      createPrometheusMetrics(rt, { register });
      const otel = createOpenTelemetry(rt, { meterProvider: false, tracerProvider: false });
      producer = otel.metricProducer as unknown as MetricProducer;
      handle = otel;
    });
    sdk = otelSdk([producer!]);
    const { scheduler, pool, peer } = setup;
    await advance(scheduler, 50);
    await advance(scheduler, 3 * HEARTBEAT.intervalMs, 1);
    peer.frozen = true;
    await advance(scheduler, 3 * HEARTBEAT.intervalMs, 1);

    const metrics = await sdk.metrics();
    const text = await register.metrics();
    const series = { pool: pool.id, endpoint: EP };
    expect(metrics.get('wirewarden.connection.transitions')).toMatchObject({ dataPointType: DataPointType.SUM, isMonotonic: true });
    expect(metrics.get('wirewarden.connections')).toMatchObject({ dataPointType: DataPointType.SUM, isMonotonic: false });
    expect(point(metrics.get('wirewarden.connection.transitions'), { ...series, from: 'probing', to: 'ready' })?.value)
      .toBe(value(text, 'wirewarden_connection_transitions_total', { ...series, from: 'probing', to: 'ready' }));
    expect(point(metrics.get('wirewarden.restarts'), { supervisor: pool.id, reason: 'heartbeat-timeout' })?.value)
      .toBe(value(text, 'wirewarden_restarts_total', { supervisor: pool.id, reason: 'heartbeat-timeout' }));
    const rtt = point<HistogramPoint['value']>(metrics.get('wirewarden.connection.probe_rtt'), series)!.value;
    expect(rtt.count).toBe(value(text, 'wirewarden_connection_probe_rtt_seconds_count', series));
    expect(rtt.sum).toBeCloseTo(value(text, 'wirewarden_connection_probe_rtt_seconds_sum', series)!, 12);
    const le5ms = rtt.buckets.boundaries.indexOf(0.005);
    expect(rtt.buckets.counts.slice(0, le5ms + 1).reduce((a, b) => a + b, 0))
      .toBe(value(text, 'wirewarden_connection_probe_rtt_seconds_bucket', { ...series, le: '0.005' }));
    const detection = point<HistogramPoint['value']>(metrics.get('wirewarden.connection.detection'), series)!.value;
    expect(detection.count).toBe(2);
    expect(detection.sum).toBeCloseTo(value(text, 'wirewarden_connection_detection_seconds_sum', series)!, 12);

    handle!.close();
    expect((await sdk.metrics()).has('wirewarden.connections')).toBe(false);
  });
});

describe('createOpenTelemetry: tracing', () => {
  it('pool.use inside a request (default): the caller\'s span names the connection, a wait gets an acquire span, events inside carry the trace id', async () => {
    sdk = otelSdk();
    const otel = sdk;
    const events: RuntimeEvent[] = [];
    setup = virtualPool(1, 1, (rt) => {
      createOpenTelemetry(rt, { meterProvider: false, tracerProvider: otel.tracerProvider });
      rt.events$.subscribe((e) => events.push(e));
    });
    const { scheduler, pool } = setup;
    await advance(scheduler, 50);
    const tracer = sdk.tracerProvider.getTracer('test');
    const { result, traceId } = await inRequest(tracer, () => pool.use(async (conn) => {
      // The request went unanswered: the connection turns suspect inside this request.
      conn.ctx.requestTimedOut!();
      return 'done';
    }));
    expect(result).toBe('done');

    let spans = sdk.spans.getFinishedSpans();
    const request = spansNamed(spans, 'request')[0]!;
    // No span per request; the caller's span says which connection served it.
    expect(spansNamed(spans, 'wirewarden.pool.use')).toHaveLength(0);
    expect(spansNamed(spans, 'wirewarden.pool.acquire')).toHaveLength(0);
    const path = `${pool.path}/conn-1`;
    expect(request.attributes).toEqual({ 'wirewarden.connection.path': path });
    // The trace leads to the connection's events, and the event back to the trace.
    const suspect = events.find((e) => e.type === 'state' && e.path === path && e.to === 'suspect')!;
    expect(suspect).toMatchObject({ traceId, spanId: request.spanContext().spanId });
    // Events after the request carry no trace (its span ended, even if a timer kept its context).
    await advance(scheduler, 2 * HEARTBEAT.intervalMs, 1);
    const later = events.filter((e) => e.type === 'state' && e.at > suspect.at);
    expect(later.length).toBeGreaterThan(0);
    for (const e of later) expect(e.traceId).toBeUndefined();

    // An acquire that waits gets a span of its own, from the call to the grant.
    const held = await pool.acquire();
    const waiting = inRequest(tracer, () => pool.use(() => 'after a wait'));
    await advance(scheduler, 40);
    held.release();
    expect((await waiting).result).toBe('after a wait');
    spans = sdk.spans.getFinishedSpans();
    const acquire = spansNamed(spans, 'wirewarden.pool.acquire')[0]!;
    expect(durationMs(acquire)).toBe(40);
    expect(acquire.parentSpanContext?.spanId).toBe(spansNamed(spans, 'request')[1]!.spanContext().spanId);
    expect(acquire.attributes).toMatchObject({ 'wirewarden.pool': pool.id, 'wirewarden.connection.path': path });
  });

  it('requestSpans: a use span with an acquire child per traced request, naming the connection; errors carry their code', async () => {
    sdk = otelSdk();
    const otel = sdk;
    setup = virtualPool(1, 1, (rt) => createOpenTelemetry(rt, { meterProvider: false, tracerProvider: otel.tracerProvider, requestSpans: true }));
    const { scheduler, pool } = setup;
    await advance(scheduler, 50);
    expect(await pool.use(() => 'untraced')).toBe('untraced');
    expect(spansNamed(sdk.spans.getFinishedSpans(), 'wirewarden.pool.use')).toHaveLength(0);

    const tracer = sdk.tracerProvider.getTracer('test');
    const { traceId } = await inRequest(tracer, () => pool.use(() => 'traced'));
    let spans = sdk.spans.getFinishedSpans();
    const use = spansNamed(spans, 'wirewarden.pool.use')[0]!;
    const acquire = spansNamed(spans, 'wirewarden.pool.acquire')[0]!;
    expect(use.spanContext().traceId).toBe(traceId);
    expect(use.parentSpanContext?.spanId).toBe(spansNamed(spans, 'request')[0]!.spanContext().spanId);
    expect(acquire.parentSpanContext?.spanId).toBe(use.spanContext().spanId);
    expect(use.attributes).toMatchObject({ 'wirewarden.pool': pool.id, 'wirewarden.connection.id': 'conn-1', 'wirewarden.connection.path': `${pool.path}/conn-1`, 'wirewarden.endpoint': EP });

    const boom = Object.assign(new Error('remote said no'), { code: 'WW_REMOTE_ERROR' });
    await expect(inRequest(tracer, () => pool.use(() => Promise.reject(boom)))).rejects.toBe(boom);
    const failedUse = spansNamed(sdk.spans.getFinishedSpans(), 'wirewarden.pool.use').at(-1)!;
    expect(failedUse.status).toEqual({ code: SpanStatusCode.ERROR, message: 'WW_REMOTE_ERROR' });
    expect(failedUse.attributes['error.type']).toBe('WW_REMOTE_ERROR');
    expect(pool.stats().leased).toBe(0);

    // An acquire that times out fails both spans with the pool's code.
    const held = await pool.acquire();
    const settled = inRequest(tracer, () => pool.use(() => 'never', { timeoutMs: 100 })).catch((e: unknown) => e);
    await advance(scheduler, 200);
    expect(await settled).toMatchObject({ code: 'WW_POOL_TIMEOUT' });
    held.release();
    spans = sdk.spans.getFinishedSpans();
    expect(spansNamed(spans, 'wirewarden.pool.acquire').at(-1)!.attributes['error.type']).toBe('WW_POOL_TIMEOUT');
    expect(spansNamed(spans, 'wirewarden.pool.use').at(-1)!.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('a timed-out acquire fails its span in the default mode too', async () => {
    sdk = otelSdk();
    const otel = sdk;
    setup = virtualPool(1, 1, (rt) => createOpenTelemetry(rt, { meterProvider: false, tracerProvider: otel.tracerProvider }));
    const { scheduler, pool } = setup;
    await advance(scheduler, 50);
    const held = await pool.acquire();
    const settled = inRequest(sdk.tracerProvider.getTracer('test'), () => pool.use(() => 'never', { timeoutMs: 100 })).catch((e: unknown) => e);
    await advance(scheduler, 200);
    expect(await settled).toMatchObject({ code: 'WW_POOL_TIMEOUT' });
    held.release();
    const acquire = spansNamed(sdk.spans.getFinishedSpans(), 'wirewarden.pool.acquire')[0]!;
    expect(acquire.status).toEqual({ code: SpanStatusCode.ERROR, message: 'WW_POOL_TIMEOUT' });
    expect(durationMs(acquire)).toBeGreaterThanOrEqual(100);
  });

  it('requestSpans with requireParentSpan: false traces background work as root spans', async () => {
    sdk = otelSdk();
    const otel = sdk;
    setup = virtualPool(1, 1, (rt) => createOpenTelemetry(rt, { meterProvider: false, tracerProvider: otel.tracerProvider, requestSpans: true, requireParentSpan: false }));
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

  it('a second tracer on the same runtime is refused (the first keeps tracing); metrics-only ones are fine; after close() another may trace', async () => {
    sdk = otelSdk();
    const otel = sdk;
    let first: { close(): void } | undefined;
    setup = virtualPool(1, 1, (rt) => (first = createOpenTelemetry(rt, { meterProvider: false, tracerProvider: otel.tracerProvider, requestSpans: true, requireParentSpan: false })));
    await advance(setup.scheduler, 50);
    const { rt, pool } = setup;
    expect(() => createOpenTelemetry(rt, { meterProvider: false, tracerProvider: otel.tracerProvider }))
      .toThrow(expect.objectContaining({ code: 'WW_INVALID_OPTION', message: expect.stringContaining('traced already') }));
    createOpenTelemetry(rt, { meterProvider: false, tracerProvider: false }).close();
    await pool.use(() => 1);
    expect(spansNamed(sdk.spans.getFinishedSpans(), 'wirewarden.pool.use')).toHaveLength(1);
    first!.close();
    const second = createOpenTelemetry(rt, { meterProvider: false, tracerProvider: otel.tracerProvider, requestSpans: true, requireParentSpan: false });
    await pool.use(() => 2);
    expect(spansNamed(sdk.spans.getFinishedSpans(), 'wirewarden.pool.use')).toHaveLength(2);
    second.close();
  });

  it('close() stops spans and trace ids; options are checked; a missing @opentelemetry/api is a typed error naming the package', async () => {
    sdk = otelSdk();
    const otel = sdk;
    let handle: { close(): void } | undefined;
    setup = virtualPool(1, 1, (rt) => (handle = createOpenTelemetry(rt, { meterProvider: false, tracerProvider: otel.tracerProvider, requestSpans: true, requireParentSpan: false })));
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
