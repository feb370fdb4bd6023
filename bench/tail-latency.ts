/**
 * Tail latency under the three balancers, side by side in one run: three wire() echo
 * endpoints, the third slowed by a ChaosProxy latency toxic (50 ms ± 25 ms on every reply
 * chunk, its heartbeats included), 200 concurrent callers each sending a request through
 * `pool.dispatch` and awaiting the reply before sending the next. The servers and the
 * proxy run in their own process (bench/helpers/tail-servers.ts).
 *
 * For each `balance` strategy — 'p2c-peak-ewma', 'round-robin', 'least-connections' — a
 * fresh pool (`min = max = 3 × --per-endpoint`, so each endpoint holds as many
 * connections) serves a warm-up, then a measured window; rounds rotate the order. Reported
 * per strategy: medians over the rounds of p50, p99 and p99.9 latency, throughput and the
 * slow endpoint's share of requests (counted by the servers); the bars read the median of
 * per-round ratios: p99 ≤ 0.3× round-robin's and ≤ 0.5× least-connections'.
 *
 * Run: `npx tsx bench/tail-latency.ts` (`--quick`, `--runs N`, `--window-ms N`,
 * `--callers N`, `--per-endpoint N`, `--latency-ms N`, `--jitter-ms N`).
 *
 * `--preview` measures the balancers without `pool.dispatch`: one pool per endpoint, every
 * connection leased up front, and a minimal shared dispatch in this file (the balancer
 * picks the endpoint, the least loaded of its connections takes the request, the reply
 * time feeds the endpoint's peak-EWMA estimate). Same sockets, servers and balancers;
 * not the product's dispatch path, and labelled so.
 */
import { fork } from 'node:child_process';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRuntime, wire, type Runtime, type WireSession } from '../src/index.js';
import { createBalancer, type BalanceCandidate, type BalanceStrategy } from '../src/pool/balancer.js';
import { PeakEwma } from '../src/pool/peak-ewma.js';
import type { Pool } from '../src/pool/pool.js';
import { dispatchOf, type DispatchFn } from './helpers/dispatch-api.js';
import { median } from './helpers/storm-stats.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    'window-ms': { type: 'string' },
    'warmup-ms': { type: 'string' },
    callers: { type: 'string', default: '200' },
    'per-endpoint': { type: 'string', default: '2' },
    'latency-ms': { type: 'string', default: '50' },
    'jitter-ms': { type: 'string', default: '25' },
    preview: { type: 'boolean', default: false },
    'decay-ms': { type: 'string' },
  },
  strict: true,
});
const RUNS = Number(values.runs ?? (values.quick ? 1 : 3));
const WINDOW_MS = Number(values['window-ms'] ?? (values.quick ? 1500 : 4000));
const WARMUP_MS = Number(values['warmup-ms'] ?? 1000);
const CALLERS = Number(values.callers);
const PER_ENDPOINT = Number(values['per-endpoint']);
const LATENCY_MS = Number(values['latency-ms']);
const JITTER_MS = Number(values['jitter-ms']);
for (const [name, v, min] of [['--runs', RUNS, 1], ['--window-ms', WINDOW_MS, 1], ['--warmup-ms', WARMUP_MS, 0], ['--callers', CALLERS, 1],
  ['--per-endpoint', PER_ENDPOINT, 1], ['--latency-ms', LATENCY_MS, 0], ['--jitter-ms', JITTER_MS, 0]] as const) {
  if (!Number.isInteger(v) || v < min) {
    process.stderr.write(`${name} must be an integer >= ${min}, got ${String(v)}\n`);
    process.exit(1);
  }
}

const STRATEGIES: readonly BalanceStrategy[] = ['p2c-peak-ewma', 'round-robin', 'least-connections'];
const PAYLOAD = ['get', 'user:1234'];
const HOST = '127.0.0.1';

interface Servers {
  readonly ports: readonly number[];
  counts(): Promise<number[]>;
  stop(): Promise<void>;
}

async function forkServers(): Promise<Servers> {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const child = fork(fileURLToPath(new URL(`./helpers/tail-servers${ext}`, import.meta.url)), [], {
    execArgv: ext === '.ts' ? ['--import', 'tsx'] : [],
    env: { ...process.env, WW_TAIL_LATENCY_MS: String(LATENCY_MS), WW_TAIL_JITTER_MS: String(JITTER_MS) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const next = <T>(type: string) => new Promise<T>((resolve, reject) => {
    const onMessage = (msg: { type?: string } & T) => {
      if (msg.type !== type) return;
      child.off('message', onMessage);
      resolve(msg);
    };
    child.on('message', onMessage);
    void exited.then(() => reject(new Error('the tail servers exited')));
  });
  const { ports } = await next<{ ports: number[] }>('ready');
  return {
    ports,
    async counts() {
      const reply = next<{ counts: number[] }>('counts');
      child.send({ type: 'counts' });
      return (await reply).counts;
    },
    async stop() {
      child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

interface Window {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly perSec: number;
  readonly slowShare: number;
  readonly errors: number;
}

/** `pool.dispatch` of one pool over the three endpoints, balanced by `strategy`. */
async function productDispatch(rt: Runtime, servers: Servers, strategy: BalanceStrategy): Promise<DispatchFn<WireSession>> {
  const max = 3 * PER_ENDPOINT;
  const pool = rt.createPool({
    endpoints: servers.ports.map((port) => ({ host: HOST, port })),
    protocol: wire(),
    min: max,
    max,
    balance: strategy,
  } as Parameters<typeof rt.createPool>[0]) as Pool<WireSession>;
  while (pool.stats().idle < max) await new Promise((r) => setTimeout(r, 5));
  return dispatchOf(pool)!;
}

/** `--preview`: the balancer over leased connections, one pool per endpoint (see the header). */
async function previewDispatch(rt: Runtime, servers: Servers, strategy: BalanceStrategy): Promise<DispatchFn<WireSession>> {
  const balancer = createBalancer(strategy, Math.random);
  const endpoints: (BalanceCandidate & { inFlight: number; latency: PeakEwma })[] = [];
  const conns: { conn: WireSession; inFlight: number }[][] = [];
  for (const port of servers.ports) {
    const pool = rt.createPool({ endpoints: [{ host: HOST, port }], protocol: wire(), min: PER_ENDPOINT, max: PER_ENDPOINT });
    const leases = await Promise.all(Array.from({ length: PER_ENDPOINT }, () => pool.acquire()));
    conns.push(leases.map((l) => ({ conn: l.conn, inFlight: 0 })));
    endpoints.push({ usable: true, inFlight: 0, weight: 1, latency: new PeakEwma(values['decay-ms'] === undefined ? undefined : Number(values['decay-ms'])) });
  }
  const never = new AbortController().signal;
  return async (fn) => {
    const e = balancer.pick(endpoints, performance.now());
    let c = conns[e]![0]!;
    for (const x of conns[e]!) if (x.inFlight < c.inFlight) c = x;
    const endpoint = endpoints[e]!;
    endpoint.inFlight++;
    c.inFlight++;
    const t0 = performance.now();
    try {
      return await fn(c.conn, never);
    } finally {
      endpoint.inFlight--;
      c.inFlight--;
      const t1 = performance.now();
      endpoint.latency.observe(t1 - t0, t1);
    }
  };
}

/** 200 closed loops for warm-up + window; latencies of the window only. */
async function measure(servers: Servers, strategy: BalanceStrategy): Promise<Window> {
  const rt = createRuntime();
  try {
    const dispatch = await (values.preview ? previewDispatch : productDispatch)(rt, servers, strategy);
    let latencies = new Float64Array(1 << 16);
    let n = 0;
    let errors = 0;
    const t0 = performance.now();
    const windowStart = t0 + WARMUP_MS;
    const end = windowStart + WINDOW_MS;
    let counts0: Promise<number[]> | undefined;
    const caller = async () => {
      for (;;) {
        const start = performance.now();
        if (start >= end) return;
        if (start >= windowStart) counts0 ??= servers.counts();
        try {
          await dispatch((conn) => conn.request(PAYLOAD));
        } catch {
          errors++;
          continue;
        }
        if (start >= windowStart) {
          if (n === latencies.length) {
            const grown = new Float64Array(n * 2);
            grown.set(latencies);
            latencies = grown;
          }
          latencies[n++] = performance.now() - start;
        }
      }
    };
    await Promise.all(Array.from({ length: CALLERS }, caller));
    const before = await (counts0 ?? servers.counts());
    const after = await servers.counts();
    const served = after.map((c, i) => c - before[i]!);
    const total = served.reduce((a, b) => a + b, 0);
    const sorted = latencies.subarray(0, n).sort();
    const at = (p: number) => sorted[Math.min(n - 1, Math.floor(n * p))]!;
    return { p50Ms: at(0.5), p99Ms: at(0.99), p999Ms: at(0.999), perSec: n / (WINDOW_MS / 1000), slowShare: served[2]! / total, errors };
  } finally {
    await rt.shutdown();
  }
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const servers = await forkServers();
try {
  console.log(
    `tail latency: ${CALLERS} callers, 3 endpoints × ${PER_ENDPOINT} connections, the third behind a latency toxic ${LATENCY_MS} ± ${JITTER_MS} ms; ` +
      `warm-up ${WARMUP_MS} ms + window ${WINDOW_MS} ms per strategy, ${RUNS} rounds\n` +
      `machine: nproc ${availableParallelism()}, node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, load ${load()}`,
  );
  if (values.preview) console.log('PREVIEW: the balancers over leased connections with a minimal dispatch in the bench, not pool.dispatch');
  else {
    const rt = createRuntime();
    let reason: string | undefined;
    try {
      const probe = rt.createPool({ endpoints: [{ host: HOST, port: servers.ports[0]! }], protocol: wire(), balance: 'round-robin' } as Parameters<typeof rt.createPool>[0]);
      if (dispatchOf(probe) === undefined) reason = 'pool.dispatch is not in this build';
    } catch (err) {
      reason = `rt.createPool refuses the balance option: ${(err as Error).message}`;
    }
    await rt.shutdown();
    if (reason !== undefined) {
      console.log(`not run: ${reason}`);
      process.exitCode = 2;
    }
  }
  if (process.exitCode !== 2) {
    const results = new Map<BalanceStrategy, Window[]>(STRATEGIES.map((s) => [s, []]));
    for (let round = 0; round < RUNS; round++) {
      for (let i = 0; i < STRATEGIES.length; i++) {
        const s = STRATEGIES[(i + round) % STRATEGIES.length]!;
        const w = await measure(servers, s);
        results.get(s)!.push(w);
        process.stderr.write(
          `  round ${round + 1}: ${s} p50 ${w.p50Ms.toFixed(2)} ms, p99 ${w.p99Ms.toFixed(2)} ms, p99.9 ${w.p999Ms.toFixed(2)} ms, ` +
            `${(w.perSec / 1000).toFixed(1)} k/s, slow share ${(w.slowShare * 100).toFixed(2)} %, errors ${w.errors}\n`,
        );
      }
    }
    const med = (s: BalanceStrategy, f: (w: Window) => number) => median(results.get(s)!.map(f));
    const p99Ratio = (s: BalanceStrategy, base: BalanceStrategy) => median(results.get(s)!.map((w, i) => w.p99Ms / results.get(base)![i]!.p99Ms));
    console.log('\n| balance | p50 | p99 | p99.9 | requests/s | slow endpoint share | p99 vs round-robin | p99 vs least-connections |');
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const s of STRATEGIES) {
      console.log(
        `| ${s} | ${med(s, (w) => w.p50Ms).toFixed(2)} ms | ${med(s, (w) => w.p99Ms).toFixed(2)} ms | ${med(s, (w) => w.p999Ms).toFixed(2)} ms | ` +
          `${(med(s, (w) => w.perSec) / 1000).toFixed(1)} k/s | ${(med(s, (w) => w.slowShare) * 100).toFixed(2)} % | ` +
          `${p99Ratio(s, 'round-robin').toFixed(2)}× | ${p99Ratio(s, 'least-connections').toFixed(2)}× |`,
      );
    }
    console.log(
      `\nbars: p2c-peak-ewma p99 ${p99Ratio('p2c-peak-ewma', 'round-robin').toFixed(2)}× round-robin's (≤ 0.3×), ` +
        `${p99Ratio('p2c-peak-ewma', 'least-connections').toFixed(2)}× least-connections' (≤ 0.5×); load ${load()}`,
    );
  }
} finally {
  await servers.stop();
}
