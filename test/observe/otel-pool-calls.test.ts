/**
 * Tracing every pool call, in virtual time: `use`, `dispatch`, `command` and `request`
 * get the same treatment (the caller's span names the connection; `requestSpans` gives
 * each call a span with an acquire child), and tracing never changes what the pool does —
 * the tracer calls the core's own `use`/`dispatch`, so a failure still reaches the pool's
 * failure path (here: a READONLY reply retires the connection and re-resolves discovery).
 */
import { SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { BehaviorSubject, VirtualTimeScheduler } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createOpenTelemetry, type OpenTelemetryOptions } from '../../src/observe/opentelemetry.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { custom } from '../../src/transport/custom.js';
import type { Endpoint, Transport } from '../../src/transport/types.js';
import type { Pool } from '../../src/pool/pool.js';
import { constantBackoff } from '../../src/supervisor/backoff.js';
import { PassThrough, type Duplex } from 'node:stream';
import { advance, shutdown } from './helpers/virtual-peer.js';
import { durationMs, installContextManager, otelSdk, spansNamed, type OtelSdk } from './helpers/otel.js';

let removeContextManager: () => void;
beforeAll(() => (removeContextManager = installContextManager()));
afterAll(() => removeContextManager());

interface Session {
  readonly stream: Duplex;
  request(payload: unknown): Promise<unknown>;
  command(args: readonly unknown[]): Promise<unknown>;
}

interface Setup {
  rt: Runtime;
  scheduler: VirtualTimeScheduler;
  pool: Pool<Session>;
  sdk: OtelSdk;
}

let setup: Setup | undefined;
afterEach(async () => {
  if (setup) {
    await shutdown(setup);
    await setup.sdk.shutdown();
  }
  setup = undefined;
});

const A: Endpoint = { host: '10.0.0.1', port: 7000 };

/**
 * A runtime on virtual time, traced into an in-memory exporter, with one pool of `max`
 * connections to a peer whose sessions multiplex (`sharing`) and answer `request` and
 * `command` after 2 ms; `endpoints` may be a discovery source.
 */
function tracedPool(otel: Omit<OpenTelemetryOptions, 'tracerProvider' | 'meterProvider'>, pool: { max?: number; endpoints?: unknown } = {}): Setup {
  const scheduler = new VirtualTimeScheduler();
  const sdk = otelSdk();
  const rt = createRuntime({ scheduler, random: () => 0.5, loadSource: () => 0 });
  createOpenTelemetry(rt, { ...otel, meterProvider: false, tracerProvider: sdk.tracerProvider });
  const later = <T>(value: T): Promise<T> => new Promise((resolve) => scheduler.schedule(() => resolve(value), 2));
  const transport: Transport = { kind: 'virtual', dial: () => new Promise<Duplex>((resolve) => scheduler.schedule(() => resolve(new PassThrough()), 5)) };
  const protocol = custom<Session>({
    open: (stream) => later({ stream, request: (payload: unknown) => later(payload), command: (args: readonly unknown[]) => later(args[0]) }),
    probe: () => later(undefined),
    close: async ({ stream }) => {
      stream.destroy();
    },
    sharing: { maxInFlight: 4 },
  });
  const p = rt.createPool<Session>({
    endpoints: (pool.endpoints ?? [A]) as Endpoint[], protocol, transport, min: 1, max: pool.max ?? 1,
    heartbeat: { intervalMs: 1000, minTimeoutMs: 100, maxTimeoutMs: 500 }, backoff: constantBackoff({ delayMs: 100 }), acquireTimeoutMs: 10_000,
  });
  return (setup = { rt, scheduler, pool: p, sdk });
}

/** Runs `fn` inside a recording span of the test's own tracer (a user's request); settles after it ends. */
function inRequest<T>(tracer: Tracer, fn: () => Promise<T>): Promise<{ result: T; spanId: string }> {
  return tracer.startActiveSpan('request', async (span) => {
    try {
      return { result: await fn(), spanId: span.spanContext().spanId };
    } finally {
      span.end();
    }
  });
}

/** Settles `promise` while advancing virtual time. */
async function settle<T>(scheduler: VirtualTimeScheduler, promise: Promise<T>): Promise<T> {
  let done = false;
  void promise.then(() => (done = true), () => (done = true));
  for (let i = 0; i < 100 && !done; i++) await advance(scheduler, 1);
  return promise;
}

const readonlyReply = (): Error => new Error("READONLY You can't write against a read only replica.");

describe('tracing keeps the pool\'s behaviour', () => {
  it.each([
    ['the default mode', { requestSpans: false }],
    ['requestSpans', { requestSpans: true }],
  ])('with %s, a traced use that fails reaches the pool\'s failure path (a READONLY reply retires the connection)', async (_mode, otel) => {
    const sets = new BehaviorSubject<readonly Endpoint[]>([A]);
    const { scheduler, pool, sdk } = tracedPool(otel, { endpoints: sets.asObservable() });
    await advance(scheduler, 20);
    const tracer = sdk.tracerProvider.getTracer('test');
    const failed = inRequest(tracer, () => pool.use(() => Promise.reject(readonlyReply()))).catch((e: unknown) => e);
    expect(await settle(scheduler, failed)).toMatchObject({ message: expect.stringMatching(/^READONLY /) });
    await advance(scheduler, 5);
    // What the pool does with a READONLY reply on a lease: retire the connection as stale.
    expect(pool.stats().closed.stale).toBe(1);
    expect(pool.stats().leased).toBe(0);
  });
});

describe('dispatch, command and request are traced as use is', () => {
  it('default: the caller\'s span names the connection each served; a dispatch that waited gets an acquire span', async () => {
    const { scheduler, pool, sdk } = tracedPool({});
    await advance(scheduler, 20);
    const tracer = sdk.tracerProvider.getTracer('test');
    const calls = [
      inRequest(tracer, () => pool.dispatch((conn) => conn.request('d'))),
      inRequest(tracer, () => pool.request('r')),
      inRequest(tracer, () => pool.command(['GET', 'k'])),
    ];
    const results = await settle(scheduler, Promise.all(calls));
    expect(results.map((r) => r.result)).toEqual(['d', 'r', 'GET']);
    const spans = sdk.spans.getFinishedSpans();
    for (const request of spansNamed(spans, 'request')) expect(request.attributes).toEqual({ 'wirewarden.connection.path': `${pool.path}/conn-1` });
    expect(spansNamed(spans, 'wirewarden.pool.dispatch')).toHaveLength(0);
    expect(spansNamed(spans, 'wirewarden.pool.acquire')).toHaveLength(0);

    // Four in flight fill the one connection: a fifth waits 2 ms for room.
    const busy = Array.from({ length: 4 }, () => pool.request('busy'));
    const waited = inRequest(tracer, () => pool.request('late'));
    expect((await settle(scheduler, waited)).result).toBe('late');
    await settle(scheduler, Promise.all(busy));
    const acquire = spansNamed(sdk.spans.getFinishedSpans(), 'wirewarden.pool.acquire')[0]!;
    expect(durationMs(acquire)).toBe(2);
    expect(acquire.attributes).toMatchObject({ 'wirewarden.pool': pool.id, 'wirewarden.connection.id': 'conn-1', 'wirewarden.endpoint': '10.0.0.1:7000' });
  });

  it('requestSpans: a span per call named after it, with an acquire child; a failure fails it with its code', async () => {
    const { scheduler, pool, sdk } = tracedPool({ requestSpans: true });
    await advance(scheduler, 20);
    const tracer = sdk.tracerProvider.getTracer('test');
    await settle(scheduler, Promise.all([
      inRequest(tracer, () => pool.dispatch((conn) => conn.request('d'))),
      inRequest(tracer, () => pool.request('r')),
      inRequest(tracer, () => pool.command(['PING'])),
    ]));
    // Untraced calls make no span (requireParentSpan).
    await settle(scheduler, pool.request('untraced'));
    const spans = sdk.spans.getFinishedSpans();
    const requests = spansNamed(spans, 'request');
    const acquires = spansNamed(spans, 'wirewarden.pool.acquire');
    for (const [i, name] of ['dispatch', 'request', 'command'].entries()) {
      const own = spansNamed(spans, `wirewarden.pool.${name}`);
      expect(own, name).toHaveLength(1);
      expect(own[0]!.parentSpanContext?.spanId).toBe(requests[i]!.spanContext().spanId);
      expect(own[0]!.attributes).toMatchObject({ 'wirewarden.pool': pool.id, 'wirewarden.connection.path': `${pool.path}/conn-1`, 'wirewarden.endpoint': '10.0.0.1:7000' });
      expect(durationMs(own[0]!)).toBe(2);
      expect(acquires.filter((a) => a.parentSpanContext?.spanId === own[0]!.spanContext().spanId)).toHaveLength(1);
    }
    expect(acquires).toHaveLength(3);

    const boom = Object.assign(new Error('remote said no'), { code: 'WW_REMOTE_ERROR' });
    const failed = inRequest(tracer, () => pool.dispatch(() => Promise.reject(boom))).catch((e: unknown) => e);
    expect(await settle(scheduler, failed)).toBe(boom);
    const dispatch = spansNamed(sdk.spans.getFinishedSpans(), 'wirewarden.pool.dispatch').at(-1)!;
    expect(dispatch.status).toEqual({ code: SpanStatusCode.ERROR, message: 'WW_REMOTE_ERROR' });
    expect(pool.stats().inFlight).toBe(0);
  });
});
