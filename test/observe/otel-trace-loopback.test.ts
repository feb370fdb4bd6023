/**
 * Trace ids on events over real loopback sockets and real timers, where Node's async
 * context follows sockets and timers: a connection the pool dials because a traced
 * request made it grow must not carry that request's context into its own later events
 * (its heartbeats), while the request's span is still recording.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { createOpenTelemetry } from '../../src/observe/opentelemetry.js';
import type { RuntimeEvent } from '../../src/observe/events.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { createWireServer } from '../../src/transport/wire-server.js';
import { wire } from '../../src/transport/wire.js';
import { waitFor } from './dashboard-fixtures.js';
import { installContextManager, otelSdk, type OtelSdk } from './helpers/otel.js';

let removeContextManager: () => void;
beforeAll(() => (removeContextManager = installContextManager()));
afterAll(() => removeContextManager());

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

it('a connection dialled inside a traced request: its heartbeat events carry no trace id while that span still records', async () => {
  const server = createWireServer({ handler: (p: unknown) => p });
  const { port } = await server.listen();
  cleanups.push(() => server.close({ graceful: false }));
  const sdk: OtelSdk = otelSdk();
  cleanups.push(() => sdk.shutdown());
  const rt: Runtime = createRuntime();
  cleanups.push(() => rt.shutdown());
  createOpenTelemetry(rt, { meterProvider: false, tracerProvider: sdk.tracerProvider });
  const events: RuntimeEvent[] = [];
  rt.events$.subscribe((e) => events.push(e));
  // min 0: the request's acquire is what makes the pool dial.
  const pool = rt.createPool({
    endpoints: [{ host: '127.0.0.1', port }], protocol: wire(), min: 0, max: 1,
    heartbeat: { intervalMs: 20, minTimeoutMs: 50, maxTimeoutMs: 200 },
  });
  const tracer = sdk.tracerProvider.getTracer('test');
  const path = `${pool.path}/conn-1`;
  const heartbeats = (): RuntimeEvent[] => events.filter((e) => e.type === 'state' && e.path === path && e.to === 'probing');
  const traceId = await tracer.startActiveSpan('long request', async (span) => {
    await pool.use((conn) => conn.request('hello'));
    // Still inside the recording span: the connection's own heartbeats happen meanwhile.
    await waitFor('3 heartbeats', () => heartbeats().length >= 3);
    span.end();
    return span.spanContext().traceId;
  });
  expect(traceId).toMatch(/^[0-9a-f]{32}$/);
  for (const e of heartbeats()) expect(e.traceId, `${e.type} ${(e as { to?: string }).to}`).toBeUndefined();
  // The dial is the pool's, not the request's (its connect span is a root span).
  for (const e of events.filter((x) => x.type === 'state' && x.path === path)) expect(e.traceId).toBeUndefined();
});
