/**
 * Soak: a supervised pool under steady load for 10 minutes while chaos cycles through
 * latency, connection resets, a blackhole and a server restart; does memory creep, does
 * every request settle, is anything left behind?
 *
 *   wire server (127.0.0.1, fixed port) ◀── ChaosProxy (toxics) ◀── rt.createPool(wire()) ◀── N users
 *
 * One chaos cycle (default 60 s), repeated for the whole run:
 *
 *   0%  clean · 15% latency 100±20 ms down · 30% clean · 40% reset_peer · 50% clean ·
 *   60% blackhole (timeout 0, up) · 70% clean · 80% server closed (connections reset,
 *   port refused) · 85% server back on the same port, pool recovering · 100%
 *
 * Users loop `pool.use(conn => conn.request(…))` with a short pause; every request is
 * counted when it starts and when it settles. Every `--sample-s` (10 s) the heap is
 * sampled after a forced full GC (`--expose-gc`; the script re-runs itself with it if
 * needed). After `--warmup-s` (one cycle), the heap trend is fitted by least squares and
 * reported as % of the post-warm-up baseline per 10 minutes. At the end everything is
 * closed and `process.getActiveResourcesInfo()` must list nothing of ours.
 *
 * Bars: heap slope ≤ 1 % per 10 minutes after warm-up; 0 unsettled requests; no handle left.
 * The heap is also reported without compiled code and bytecode (`v8.getHeapCodeStatistics`):
 * paths a fault runs once per cycle reach the JIT's thresholds late, so code keeps growing
 * for many cycles, and only the rest (the program's data) says whether something leaks.
 *
 * Run: `npx tsx bench/soak.ts` (10 minutes), `--duration-s 120 --cycle-s 30` for a short
 * one, `--json soak.json` to keep the samples, `--snapshots` to write a heap snapshot at
 * the end of warm-up and at the end (compare them in DevTools' Memory tab when the slope
 * is over the bar). Options: `--users 8 --think-ms 5`.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { getHeapCodeStatistics, getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import { createChaosProxy } from '../src/chaos/index.js';
import { createRuntime, createWireServer, exponentialBackoff, wire, type WireServer } from '../src/index.js';
import { heapTrend, spaceSlopes, type HeapSample } from './helpers/soak-stats.js';

if (typeof globalThis.gc !== 'function') {
  // Heap after GC needs a GC on demand: run again with --expose-gc, same loader and arguments.
  const child = spawnSync(process.execPath, ['--expose-gc', ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(child.status ?? 1);
}
const gc = globalThis.gc as () => void;

const { values } = parseArgs({
  options: {
    'duration-s': { type: 'string', default: '600' },
    'warmup-s': { type: 'string' },
    'cycle-s': { type: 'string', default: '60' },
    'sample-s': { type: 'string', default: '10' },
    users: { type: 'string', default: '8' },
    'think-ms': { type: 'string', default: '5' },
    json: { type: 'string' },
    snapshots: { type: 'boolean', default: false },
  },
  strict: true,
});
const durationS = Number(values['duration-s']);
const cycleS = Number(values['cycle-s']);
const warmupS = Number(values['warmup-s'] ?? cycleS);
const sampleS = Number(values['sample-s']);
const users = Number(values.users);
const thinkMs = Number(values['think-ms']);
for (const [name, v] of Object.entries({ durationS, cycleS, warmupS, sampleS, users, thinkMs })) {
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a non-negative number, got ${String(v)}`);
}

const TOKEN = 'soak-token';
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A free port below the ephemeral range (32768–60999): while the server is down, one of
 * our own outgoing connections could otherwise be given its port, and the restart fail.
 */
async function freeFixedPort(): Promise<number> {
  for (let port = 20_000 + Math.floor(Math.random() * 10_000); ; port++) {
    const ok = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (ok) return port;
  }
}

async function startServer(port: number): Promise<WireServer> {
  const server = createWireServer({ port, token: TOKEN, handler: (payload) => payload });
  await server.listen();
  return server;
}

const serverPort = await freeFixedPort();
let server: WireServer | undefined = await startServer(serverPort);
const proxy = createChaosProxy({ name: 'soak', upstream: `127.0.0.1:${serverPort}` });
await proxy.start();

const rt = createRuntime();
const pool = rt.createPool({
  endpoints: [{ host: '127.0.0.1', port: proxy.address!.port }],
  protocol: wire({ token: TOKEN, requestTimeoutMs: 1000 }),
  min: 4,
  max: 8,
  acquireTimeoutMs: 2000,
  heartbeat: { intervalMs: 500, minTimeoutMs: 50, maxTimeoutMs: 500 },
  backoff: exponentialBackoff({ initialMs: 50, maxMs: 1000, multiplier: 2, jitter: 'full' }),
});

// ── chaos: one cycle of phases, repeated ────────────────────────────────────────────
interface Phase {
  readonly at: number; // fraction of the cycle
  readonly name: string;
  readonly enter: () => Promise<void> | void;
}
const PHASES: readonly Phase[] = [
  { at: 0, name: 'clean', enter: () => proxy.resetToxics() },
  { at: 0.15, name: 'latency', enter: () => void proxy.addToxic({ type: 'latency', stream: 'downstream', attributes: { latency: 100, jitter: 20 } }) },
  { at: 0.3, name: 'clean', enter: () => proxy.resetToxics() },
  { at: 0.4, name: 'reset', enter: () => void proxy.addToxic({ type: 'reset_peer', stream: 'downstream', attributes: { timeout: 0 } }) },
  { at: 0.5, name: 'clean', enter: () => proxy.resetToxics() },
  { at: 0.6, name: 'blackhole', enter: () => void proxy.addToxic({ type: 'timeout', stream: 'upstream', attributes: { timeout: 0 } }) },
  { at: 0.7, name: 'clean', enter: () => proxy.resetToxics() },
  {
    at: 0.8,
    name: 'server-down',
    enter: async () => {
      const s = server;
      server = undefined;
      await s?.close({ graceful: false });
    },
  },
  {
    at: 0.85,
    name: 'server-back',
    enter: async () => {
      server ??= await startServer(serverPort);
    },
  },
];
let phase = 'clean';
let stopping = false;
const chaos = (async () => {
  const t0 = performance.now();
  for (let cycle = 0; !stopping; cycle++) {
    for (const p of PHASES) {
      const due = t0 + (cycle + p.at) * cycleS * 1000;
      while (!stopping && performance.now() < due) await sleep(Math.min(250, due - performance.now()));
      if (stopping) return;
      phase = p.name;
      await p.enter();
    }
  }
})();

// ── load: users loop pool.use + request; every start and settle is counted ──────────
let started = 0;
let settled = 0;
let succeeded = 0;
const failures = new Map<string, number>();
const failuresByPhase = new Map<string, number>();
async function user(n: number): Promise<void> {
  for (let i = 0; !stopping; i++) {
    started++;
    try {
      const reply = await pool.use((conn) => conn.request({ n, i }));
      if ((reply as { i?: unknown }).i !== i) throw new Error(`wrong reply for ${n}/${i}`);
      succeeded++;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const key = typeof code === 'string' && code.startsWith('WW_') ? code : `uncoded ${err instanceof Error ? err.message : String(err)}`;
      failures.set(key, (failures.get(key) ?? 0) + 1);
      failuresByPhase.set(phase, (failuresByPhase.get(phase) ?? 0) + 1);
    } finally {
      settled++;
    }
    if (thinkMs > 0) await sleep(thinkMs);
  }
}
const loadStart = performance.now();
const loads = Array.from({ length: users }, (_, n) => user(n));

// ── heap after GC, every sampleS ────────────────────────────────────────────────────
const samples: HeapSample[] = [];
function sample(): void {
  gc();
  gc(); // the second pass collects what the first one's finalizers released
  const m = process.memoryUsage();
  const spaces = Object.fromEntries(getHeapSpaceStatistics().map((sp) => [sp.space_name, sp.space_used_size]));
  const code = getHeapCodeStatistics();
  const codeBytes = code.code_and_metadata_size + code.bytecode_and_metadata_size;
  samples.push({ atS: Math.round((performance.now() - loadStart) / 1000), heapBytes: m.heapUsed, rssBytes: m.rss, phase, spaces, codeBytes });
  const s = samples.at(-1)!;
  const kib = (name: string) => ((spaces[name] ?? 0) / 1024).toFixed(0);
  console.error(
    `[${s.atS} s] heap ${(s.heapBytes / 1048576).toFixed(2)} MiB (code and bytecode ${(codeBytes / 1024).toFixed(0)} KiB; old space ${kib('old_space')} KiB), rss ${(s.rssBytes / 1048576).toFixed(0)} MiB, ` +
      `phase ${s.phase}, requests ${settled} (${succeeded} ok)`,
  );
  if (values.snapshots === true && (samples.length === Math.ceil(warmupS / sampleS) + 1 || s.atS >= durationS)) {
    console.error(`  heap snapshot: ${writeHeapSnapshot(`soak-${s.atS}s.heapsnapshot`)}`);
  }
}
sample();
const sampler = setInterval(sample, sampleS * 1000);
await sleep(durationS * 1000);
clearInterval(sampler);
sample();

// ── stop and check that everything settles and nothing is left ──────────────────────
stopping = true;
await chaos;
proxy.resetToxics();
server ??= await startServer(serverPort);
const settleStart = performance.now();
let settleTimer: NodeJS.Timeout | undefined;
await Promise.race([Promise.all(loads), new Promise<void>((resolve) => (settleTimer = setTimeout(resolve, 10_000)))]);
clearTimeout(settleTimer);
const unsettled = started - settled;
const settleMs = performance.now() - settleStart;
await rt.shutdown();
await proxy.close();
await server.close();
await sleep(100); // listening handles are released just after close() resolves
const leftovers = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap' && r !== 'PipeWrap');

const trend = heapTrend(samples, warmupS);
const dataTrend = heapTrend(samples, warmupS, (s) => s.heapBytes - s.codeBytes);
const codeTrend = heapTrend(samples, warmupS, (s) => s.codeBytes);
const elapsedS = (performance.now() - loadStart) / 1000;
const result = {
  command: `npx tsx bench/soak.ts ${process.argv.slice(2).join(' ')}`.trim(),
  machine: { cpus: availableParallelism(), model: cpus()[0]?.model ?? 'unknown', node: process.version, loadavg: loadavg().map((l) => l.toFixed(2)) },
  durationS,
  cycleS,
  warmupS,
  users,
  requests: { started, settled, succeeded, failed: settled - succeeded, perSecond: Math.round(settled / elapsedS) },
  failures: Object.fromEntries([...failures].sort((a, b) => b[1] - a[1])),
  failuresByPhase: Object.fromEntries(failuresByPhase),
  unsettled,
  settleMs: Math.round(settleMs),
  heap: {
    samples: trend.samples,
    baselineMiB: +(trend.baselineBytes / 1048576).toFixed(2),
    slopeKiBPerMin: +((trend.slopeBytesPerS * 60) / 1024).toFixed(2),
    percentPer10Min: +trend.percentPer10Min.toFixed(3),
  },
  // The heap without compiled code and bytecode: what a leak of the program's data grows.
  dataHeap: {
    baselineMiB: +(dataTrend.baselineBytes / 1048576).toFixed(2),
    slopeKiBPerMin: +((dataTrend.slopeBytesPerS * 60) / 1024).toFixed(2),
    percentPer10Min: +dataTrend.percentPer10Min.toFixed(3),
  },
  codeAndBytecode: {
    baselineKiB: Math.round(codeTrend.baselineBytes / 1024),
    slopeKiBPerMin: +((codeTrend.slopeBytesPerS * 60) / 1024).toFixed(2),
  },
  leftovers,
  bars: {
    heapSlope: trend.percentPer10Min <= 1,
    dataHeapSlope: dataTrend.percentPer10Min <= 1,
    unsettled: unsettled === 0,
    noHandleLeft: leftovers.length === 0,
  },
  spaceSlopesKiBPerMin: spaceSlopes(samples, warmupS),
  curve: samples.map((s) => ({
    atS: s.atS,
    heapMiB: +(s.heapBytes / 1048576).toFixed(2),
    dataMiB: +((s.heapBytes - s.codeBytes) / 1048576).toFixed(2),
    codeKiB: Math.round(s.codeBytes / 1024),
    rssMiB: Math.round(s.rssBytes / 1048576),
    phase: s.phase,
  })),
};
console.log(JSON.stringify({ ...result, curve: undefined }, null, 2));
console.log('\n| t (s) | heap after GC (MiB) | of which code and bytecode (KiB) | data (MiB) | RSS (MiB) | phase |\n| --- | --- | --- | --- | --- | --- |');
for (const c of result.curve) console.log(`| ${c.atS} | ${c.heapMiB.toFixed(2)} | ${c.codeKiB} | ${c.dataMiB.toFixed(2)} | ${c.rssMiB} | ${c.phase} |`);
if (values.json !== undefined) writeFileSync(values.json, JSON.stringify(result, null, 2));
process.exitCode = Object.values(result.bars).every(Boolean) ? 0 : 1;
