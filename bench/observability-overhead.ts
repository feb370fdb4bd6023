/**
 * What metrics and tracing cost: CPU per heartbeat, per `pool.use` request, per shared
 * dispatch (`pool.request`, `pool.dispatch`) and per acquire + release with
 * createPrometheusMetrics + createOpenTelemetry on, against the same runtime and
 * connections with them off, in one run. Bar (issue 15): ≤ 5 %.
 *
 *   npx tsx bench/observability-overhead.ts [--connections 1000] [--interval-ms 1000]
 *        [--window-s 4] [--rounds 3] [--use-window-s 2] [--only heartbeat,use,dispatch,acquire]
 *
 * "On" is what a user runs: a prom-client Registry scraped once per window, an OTel SDK
 * (MeterProvider collected once per window, BasicTracerProvider with a batch processor,
 * an AsyncLocalStorage context manager). Off and on alternate window by window on the
 * same connections, so drift and other jobs on the machine hit both alike; the report is
 * the median over rounds of each pair's ratio.
 *
 * 1. heartbeat: a pool of `--connections` idle wire() connections to a server in a child
 *    process (only the client is measured); CPU per probe round trip. On a shared machine
 *    these windows are noisy, so the heartbeat's added cost is also measured without I/O:
 *    one supervised connection actor cycled ready → probing → ready (the two state events
 *    a heartbeat makes, through the supervisor, the event bus and the metrics), µs per
 *    cycle off and on — the difference is what metrics and tracing add to each heartbeat.
 * 2. use: 10 connections, 10 callers looping `pool.use(conn => conn.request(x))`; CPU per
 *    request. Measured twice: untraced callers (wirewarden makes no span: no parent), and
 *    callers inside a span of their own (each request a trace: wirewarden adds use and
 *    acquire spans) — "off" then has the same caller spans, only wirewarden's are missing.
 *    Like the heartbeat, also measured without I/O (a pool of one connect-mode session,
 *    `pool.use(() => 1)` in a loop, the caller in a span of its own or not): µs added per
 *    request.
 * 3. dispatch: 2 shared connections, 50 callers looping `pool.request(x)` (wire()
 *    multiplexing); CPU per dispatch, untraced callers and callers in a span of their own
 *    (wirewarden annotates it, no span of its own). Also without I/O: `pool.dispatch(() => 1)`
 *    on one shared connect-mode session, µs added per dispatch.
 * 4. acquire: acquire + release in a loop on an idle pool (the lease path, which metrics
 *    never touch: waits are reported only when an acquire queued).
 */
import { PassThrough } from 'node:stream';
import { parseArgs } from 'node:util';
import type { SchedulerLike, Subscription } from 'rxjs';
import { connectionMachine } from '../src/actors/connection-machine.js';
import { BatchSpanProcessor, BasicTracerProvider, InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { Registry } from 'prom-client';
import { spawnServerProcess } from '../src/demo/spawn-server.js';
import { createRuntime, type Runtime } from '../src/runtime.js';
import { wire } from '../src/transport/wire.js';
import { constantBackoff } from '../src/supervisor/backoff.js';
import { createSupervisorHandle } from '../src/supervisor/supervisor-handle.js';
import type { ConnectionContext } from '../src/actors/connection-types.js';
import type { Pool } from '../src/pool/pool.js';
import type { WireSession } from '../src/transport/wire-session.js';
import { createPrometheusMetrics } from '../src/observe/prometheus.js';
import { createOpenTelemetry } from '../src/observe/opentelemetry.js';
import { custom } from '../src/transport/custom.js';
import { installContextManager } from '../test/observe/helpers/otel.js';

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '1000' },
    'interval-ms': { type: 'string', default: '1000' },
    'window-s': { type: 'string', default: '4' },
    'use-window-s': { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    only: { type: 'string', default: 'heartbeat,use,dispatch,acquire' },
  },
});
const only = new Set(values.only.split(','));
const N = Number(values.connections);
const intervalMs = Number(values['interval-ms']);
const windowMs = Number(values['window-s']) * 1000;
const useWindowMs = Number(values['use-window-s']) * 1000;
const rounds = Number(values.rounds);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cpuMicros = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

type Mode = 'all' | 'prometheus+tracing' | 'otel-producer+tracing' | 'otel-instruments+tracing';

/**
 * Metrics and tracing on a runtime, as a user sets them up; `flush` is one scrape and/or
 * one OTel collection. `all` = a Prometheus registry, the OTel metric producer on an SDK
 * reader and OTel tracing at once (more than anyone runs: the bar's configuration).
 */
function turnOn(rt: Runtime, mode: Mode = 'all'): { flush: () => Promise<void>; off: () => Promise<void> } {
  const register = new Registry();
  const prom = mode === 'all' || mode === 'prometheus+tracing' ? createPrometheusMetrics(rt, { register }) : undefined;
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(spans)] });
  const instruments = mode === 'otel-instruments+tracing';
  const reader = new PeriodicExportingMetricReader({
    exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000,
  });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const otel = createOpenTelemetry(rt, { meterProvider: instruments ? meterProvider : false, tracerProvider });
  const producerReader = mode === 'all' || mode === 'otel-producer+tracing'
    ? new PeriodicExportingMetricReader({
      exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000,
      metricProducers: [otel.metricProducer as never],
    })
    : undefined;
  const producerProvider = producerReader ? new MeterProvider({ readers: [producerReader] }) : undefined;
  return {
    flush: async () => {
      if (prom) await register.metrics();
      if (instruments) await reader.forceFlush();
      if (producerReader) await producerReader.forceFlush();
      spans.reset();
    },
    off: async () => {
      prom?.close();
      otel.close();
      await meterProvider.shutdown();
      await producerProvider?.shutdown();
      await tracerProvider.shutdown();
    },
  };
}

interface Pair {
  off: number;
  on: number;
}

function report(name: string, unit: string, pairs: Pair[]): void {
  const ratios = pairs.map((p) => p.on / p.off);
  const fmt = (x: number) => x.toFixed(2);
  console.log(`${name}: off ${fmt(median(pairs.map((p) => p.off)))} ${unit}, on ${fmt(median(pairs.map((p) => p.on)))} ${unit}, ` +
    `overhead median ${((median(ratios) - 1) * 100).toFixed(1)} % (pairs: ${ratios.map((r) => `${((r - 1) * 100).toFixed(1)} %`).join(', ')})`);
}

async function heartbeat(rt: Runtime, host: string, port: number): Promise<Pair[]> {
  const pool = rt.createPool({
    id: 'heartbeat', endpoints: [{ host, port }], protocol: wire(), min: N, max: N,
    heartbeat: { intervalMs, minTimeoutMs: 100, maxTimeoutMs: 2000 }, backoff: constantBackoff({ delayMs: 100 }),
  });
  while (pool.stats().open < N) await sleep(20);
  const sup = createSupervisorHandle('root', 'root', () => rt.root).supervisor(pool.id);
  const probes = (): number => {
    let sent = 0;
    for (const c of sup.children()) sent += (sup.childRef(c.id)?.getSnapshot() as { context?: ConnectionContext } | undefined)?.context?.probesSent ?? 0;
    return sent;
  };
  await sleep(2 * intervalMs);
  const window = async (flush?: () => Promise<void>): Promise<number> => {
    const p0 = probes();
    const c0 = cpuMicros();
    await sleep(windowMs);
    // One scrape and one collection per window (a scrape every 15 s would cost less).
    if (flush) await flush();
    const c1 = cpuMicros();
    return (c1 - c0) / (probes() - p0);
  };
  const pairs: Pair[] = [];
  for (let r = 0; r < rounds; r++) {
    const off = await window();
    const on = turnOn(rt);
    const onUs = await window(on.flush);
    await on.off();
    pairs.push({ off, on: onUs });
  }
  await pool.close();
  return pairs;
}

/**
 * µs of CPU per ready → probing → ready cycle of one connection actor supervised in `rt`
 * (stub scheduler and protocol, no I/O): the heartbeat's state changes and their events.
 */
async function cycles(rt: Runtime, modes: readonly Mode[]): Promise<Map<Mode, Pair[]>> {
  const inert = { closed: false, unsubscribe() {} } as unknown as Subscription;
  const scheduler: SchedulerLike = { now: () => Date.now(), schedule: () => inert };
  const answered = Promise.resolve();
  const sup = rt.createSupervisor({
    id: 'cycle',
    children: [{
      id: 'c', logic: connectionMachine, restart: 'temporary',
      input: {
        endpoint: { host: '127.0.0.1', port: 1 },
        protocol: { name: 'stub', open: () => Promise.resolve({}), probe: () => answered, close: () => Promise.resolve() },
        transport: { kind: 'stub', dial: () => Promise.resolve(new PassThrough()) },
        scheduler, random: () => 0.5, loadSource: () => 0,
      },
    }],
  });
  await sup.whenChildState('c', 'ready');
  const actor = sup.childRef('c')!;
  const idle = { type: 'ww.heartbeat.idle' } as const;
  const K = 100_000;
  const run = async (): Promise<number> => {
    const c0 = cpuMicros();
    for (let i = 0; i < K; i++) {
      actor.send(idle);
      await answered;
      await answered;
    }
    return (cpuMicros() - c0) / K;
  };
  await run();
  const pairs = new Map<Mode, Pair[]>(modes.map((m) => [m, []]));
  for (let r = 0; r < Math.max(rounds, 5); r++) {
    for (const mode of modes) {
      const off = await run();
      const on = turnOn(rt, mode);
      const onUs = await run();
      await on.off();
      pairs.get(mode)!.push({ off, on: onUs });
    }
  }
  await sup.terminateChild('c');
  return pairs;
}

async function requests(pool: Pool<WireSession>, inSpan: boolean, tracer: { startActiveSpan<T>(name: string, fn: (span: { end(): void }) => T): T }): Promise<number> {
  let done = 0;
  let stop = false;
  const payload = { op: 'get', key: 'k' };
  const one = (): Promise<unknown> => pool.use((conn) => conn.request(payload));
  const caller = async (): Promise<void> => {
    while (!stop) {
      if (inSpan) {
        await tracer.startActiveSpan('request', async (span) => {
          try {
            await one();
          } finally {
            span.end();
          }
        });
      } else {
        await one();
      }
      done++;
    }
  };
  const c0 = cpuMicros();
  const d0 = done;
  const callers = Array.from({ length: 10 }, caller);
  await sleep(useWindowMs);
  stop = true;
  await Promise.all(callers);
  return (cpuMicros() - c0) / (done - d0);
}

async function use(rt: Runtime, host: string, port: number): Promise<{ plain: Pair[]; traced: Pair[] }> {
  const pool = rt.createPool<WireSession>({ id: 'requests', endpoints: [{ host, port }], protocol: wire(), min: 10, max: 10 });
  while (pool.stats().open < 10) await sleep(10);
  // The caller's own tracer (its request spans), the same in both configurations.
  const callerSpans = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(new InMemorySpanExporter())] });
  const tracer = callerSpans.getTracer('caller');
  await requests(pool, false, tracer); // warm-up
  const plain: Pair[] = [];
  const traced: Pair[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const inSpan of [false, true]) {
      const off = await requests(pool, inSpan, tracer);
      const on = turnOn(rt);
      const onUs = await requests(pool, inSpan, tracer);
      await on.flush();
      await on.off();
      (inSpan ? traced : plain).push({ off, on: onUs });
    }
  }
  await callerSpans.shutdown();
  await pool.close();
  return { plain, traced };
}

/** µs of CPU per `pool.use(() => 1)` on a session without I/O, off and on, untraced and traced callers. */
async function usesAlone(rt: Runtime): Promise<{ plain: Pair[]; traced: Pair[] }> {
  const pool = rt.createPool({
    id: 'no-io', endpoints: [{ host: '127.0.0.1', port: 1 }], min: 1, max: 1, heartbeat: { intervalMs: 3_600_000 },
    protocol: custom({ connect: async () => ({}), probe: async () => {}, close: async () => {} }),
  });
  while (pool.stats().open < 1) await sleep(5);
  const callerSpans = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(new InMemorySpanExporter())] });
  const tracer = callerSpans.getTracer('caller');
  const K = 50_000;
  const run = async (inSpan: boolean): Promise<number> => {
    const c0 = cpuMicros();
    for (let i = 0; i < K; i++) {
      if (inSpan) {
        await tracer.startActiveSpan('request', async (span) => {
          await pool.use(() => 1);
          span.end();
        });
      } else {
        await pool.use(() => 1);
      }
    }
    return (cpuMicros() - c0) / K;
  };
  await run(false);
  await run(true);
  const plain: Pair[] = [];
  const traced: Pair[] = [];
  for (let r = 0; r < Math.max(rounds, 5); r++) {
    for (const inSpan of [false, true]) {
      const off = await run(inSpan);
      const on = turnOn(rt);
      const onUs = await run(inSpan);
      await on.off();
      (inSpan ? traced : plain).push({ off, on: onUs });
    }
  }
  await callerSpans.shutdown();
  await pool.close();
  return { plain, traced };
}

async function dispatches(pool: Pool<WireSession>, inSpan: boolean, tracer: { startActiveSpan<T>(name: string, fn: (span: { end(): void }) => T): T }): Promise<number> {
  let done = 0;
  let stop = false;
  const payload = { op: 'get', key: 'k' };
  const caller = async (): Promise<void> => {
    while (!stop) {
      if (inSpan) {
        await tracer.startActiveSpan('request', async (span) => {
          try {
            await pool.request(payload);
          } finally {
            span.end();
          }
        });
      } else {
        await pool.request(payload);
      }
      done++;
    }
  };
  const c0 = cpuMicros();
  const callers = Array.from({ length: 50 }, caller);
  await sleep(useWindowMs);
  stop = true;
  await Promise.all(callers);
  return (cpuMicros() - c0) / done;
}

/** CPU per `pool.request` dispatched over 2 shared wire() connections, off and on, untraced and traced callers. */
async function dispatch(rt: Runtime, host: string, port: number): Promise<{ plain: Pair[]; traced: Pair[] }> {
  const pool = rt.createPool<WireSession>({ id: 'dispatches', endpoints: [{ host, port }], protocol: wire(), min: 2, max: 2 });
  while (pool.stats().open < 2) await sleep(10);
  const callerSpans = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(new InMemorySpanExporter())] });
  const tracer = callerSpans.getTracer('caller');
  await dispatches(pool, false, tracer); // warm-up
  const plain: Pair[] = [];
  const traced: Pair[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const inSpan of [false, true]) {
      const off = await dispatches(pool, inSpan, tracer);
      const on = turnOn(rt);
      const onUs = await dispatches(pool, inSpan, tracer);
      await on.flush();
      await on.off();
      (inSpan ? traced : plain).push({ off, on: onUs });
    }
  }
  await callerSpans.shutdown();
  await pool.close();
  return { plain, traced };
}

/** µs of CPU per `pool.dispatch(() => 1)` on one shared session without I/O, off and on, untraced and traced callers. */
async function dispatchesAlone(rt: Runtime): Promise<{ plain: Pair[]; traced: Pair[] }> {
  const pool = rt.createPool({
    id: 'no-io-dispatch', endpoints: [{ host: '127.0.0.1', port: 1 }], min: 1, max: 1, heartbeat: { intervalMs: 3_600_000 },
    protocol: custom({ connect: async () => ({}), probe: async () => {}, close: async () => {}, sharing: { maxInFlight: 64 } }),
  });
  while (pool.stats().open < 1) await sleep(5);
  const callerSpans = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(new InMemorySpanExporter())] });
  const tracer = callerSpans.getTracer('caller');
  const K = 50_000;
  const one = (): number => 1;
  const run = async (inSpan: boolean): Promise<number> => {
    const c0 = cpuMicros();
    for (let i = 0; i < K; i++) {
      if (inSpan) {
        await tracer.startActiveSpan('request', async (span) => {
          await pool.dispatch(one);
          span.end();
        });
      } else {
        await pool.dispatch(one);
      }
    }
    return (cpuMicros() - c0) / K;
  };
  await run(false);
  await run(true);
  const plain: Pair[] = [];
  const traced: Pair[] = [];
  for (let r = 0; r < Math.max(rounds, 5); r++) {
    for (const inSpan of [false, true]) {
      const off = await run(inSpan);
      const on = turnOn(rt);
      const onUs = await run(inSpan);
      await on.off();
      (inSpan ? traced : plain).push({ off, on: onUs });
    }
  }
  await callerSpans.shutdown();
  await pool.close();
  return { plain, traced };
}

async function acquire(rt: Runtime, host: string, port: number): Promise<Pair[]> {
  const pool = rt.createPool<WireSession>({ id: 'leases', endpoints: [{ host, port }], protocol: wire(), min: 1, max: 1 });
  while (pool.stats().open < 1) await sleep(10);
  const OPS = 300_000;
  const loop = async (): Promise<number> => {
    const t0 = cpuMicros();
    for (let i = 0; i < OPS; i++) (await pool.acquire()).release();
    return ((cpuMicros() - t0) * 1000) / OPS;
  };
  await loop();
  const pairs: Pair[] = [];
  for (let r = 0; r < rounds; r++) {
    const off = await loop();
    const on = turnOn(rt);
    const onNs = await loop();
    await on.off();
    pairs.push({ off, on: onNs });
  }
  await pool.close();
  return pairs;
}

const removeContextManager = installContextManager();
const server = await spawnServerProcess();
const rt = createRuntime();
try {
  console.log(`observability overhead: Node ${process.version}, ${N} connections, interval ${intervalMs} ms, ${rounds} rounds`);
  const modes: Mode[] = ['prometheus+tracing', 'otel-producer+tracing', 'otel-instruments+tracing', 'all'];
  if (only.has('heartbeat')) {
    for (const [mode, pairs] of await cycles(rt, modes)) {
      report(`heartbeat state changes alone (one actor, no I/O), ${mode}`, 'µs', pairs);
      console.log(`  added per heartbeat: ${median(pairs.map((p) => p.on - p.off)).toFixed(2)} µs`);
    }
    report('heartbeat over loopback (CPU per probe round trip), all', 'µs', await heartbeat(rt, server.host, server.port));
  }
  if (only.has('use')) {
    const alone = await usesAlone(rt);
    report('pool.use(() => 1) alone (no I/O), untraced caller, all', 'µs', alone.plain);
    console.log(`  added per request: ${median(alone.plain.map((p) => p.on - p.off)).toFixed(2)} µs`);
    report('pool.use(() => 1) alone (no I/O), caller inside its own span, all', 'µs', alone.traced);
    console.log(`  added per request: ${median(alone.traced.map((p) => p.on - p.off)).toFixed(2)} µs`);
    const { plain, traced } = await use(rt, server.host, server.port);
    report('pool.use + request, untraced caller, all', 'µs', plain);
    report('pool.use + request, caller inside its own span, all', 'µs', traced);
  }
  if (only.has('dispatch')) {
    const alone = await dispatchesAlone(rt);
    report('pool.dispatch(() => 1) alone (no I/O), untraced caller, all', 'µs', alone.plain);
    console.log(`  added per dispatch: ${median(alone.plain.map((p) => p.on - p.off)).toFixed(2)} µs`);
    report('pool.dispatch(() => 1) alone (no I/O), caller inside its own span, all', 'µs', alone.traced);
    console.log(`  added per dispatch: ${median(alone.traced.map((p) => p.on - p.off)).toFixed(2)} µs`);
    const { plain, traced } = await dispatch(rt, server.host, server.port);
    report('pool.request (shared dispatch over loopback), untraced caller, all', 'µs', plain);
    report('pool.request (shared dispatch over loopback), caller inside its own span, all', 'µs', traced);
  }
  if (only.has('acquire')) report('acquire + release, all', 'ns', await acquire(rt, server.host, server.port));
} finally {
  await rt.shutdown();
  await server.stop();
  removeContextManager();
}
