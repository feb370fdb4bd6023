/**
 * Acquire+release as users run it: `rt.createPool` leasing real supervised wire
 * connections on loopback (connection actors under the pool's supervisor, heartbeats on,
 * a wire server in this process), side by side in one run with generic-pool 3.9 and tarn
 * 3.1 pooling real loopback sockets. Two reference rows, labelled as such: the pool core
 * alone over an in-memory source (what `bench/pool.ts` measures) and an array floor.
 *
 *   uncontended  one user: acquire → release, sequentially
 *   contended    max 10, 1000 concurrent users: acquire → await a microtask → release
 *
 * Rounds interleave the pools (order rotated each round, round 0 discarded as warm-up).
 * Reported: the median throughput over the rounds and the median of the per-round ratios
 * to generic-pool (both pools measured in the same round, seconds apart, so that the
 * machine's noise hits both), with the range of those ratios. Each window is timed twice:
 * wall clock (ops/s) and the main thread's CPU time (ops per CPU-second). The loops do no
 * I/O, so on an idle machine the two agree; on a machine shared with other jobs the CPU
 * figure does not count the time this process waited for a core, and its ratios are the
 * stable ones.
 *
 * Run: `npx tsx bench/pool-product.ts` (`--quick` smoke run, `--runs N`, `--only <name
 * prefix>` for profiling one pool: `node --cpu-prof --import tsx bench/pool-product.ts
 * --only rt.createPool`).
 */
import { createServer, createConnection, type Server, type Socket } from 'node:net';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import genericPool from 'generic-pool';
import tarn from 'tarn';
import type { ConnectionSource, PoolSink } from '../src/pool/connection-source.js';
import { createPoolCore } from '../src/pool/pool-core.js';
import type { Slot } from '../src/pool/slot.js';
import { createRuntime } from '../src/runtime.js';
import { createWireServer } from '../src/transport/wire-server.js';
import { wire } from '../src/transport/wire.js';
import { median } from './helpers/storm-stats.js';
import { threadCpuSeconds } from './helpers/thread-cpu.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    only: { type: 'string' },
  },
  strict: true,
});
const QUICK = values.quick;
const RUNS = Number(values.runs ?? (QUICK ? 1 : 11));
const UNCONTENDED_OPS = QUICK ? 20_000 : 600_000;
const CONTENDED_OPS = QUICK ? 20_000 : 300_000;
const USERS = 1000;
const MAX = 10;
if (!Number.isInteger(RUNS) || RUNS < 1) {
  process.stderr.write(`--runs must be an integer >= 1, got ${values.runs}\n`);
  process.exit(1);
}

/** What each contender exposes to the harness. */
interface Contender<R> {
  acquire(): Promise<R>;
  release(r: R): void;
  close(): Promise<void>;
}

interface Entry {
  readonly name: string;
  make(): Promise<Contender<unknown>>;
}

function entry<R>(name: string, make: () => Promise<Contender<R>>): Entry {
  return { name, make: make as () => Promise<Contender<unknown>> };
}

const PRODUCT = 'rt.createPool (wire, supervised loopback)';
const GENERIC = 'generic-pool (loopback sockets)';
const TARN = 'tarn (loopback sockets)';
const CORE = 'core only (in-memory source, bench/pool.ts)';
const FLOOR = 'array floor (reference)';

/** A TCP server that accepts and holds sockets: what generic-pool and tarn pool. */
async function sinkServer(): Promise<{ port: number; close(): Promise<void> }> {
  const held = new Set<Socket>();
  const server: Server = createServer((s) => {
    held.add(s);
    s.on('close', () => held.delete(s));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    port,
    close: () => {
      for (const s of held) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

function dialSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.off('error', reject);
      s.on('error', () => {});
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** The core's in-memory source: connections are plain objects, ready on the next microtask. */
function instantSource(sink: PoolSink<{ id: number }>): ConnectionSource<{ id: number }> {
  let next = 0;
  const ready = (slot: Slot<{ id: number }>) => queueMicrotask(() => sink.onReady(slot, { id: ++next }));
  return {
    open: ready,
    kill: ready,
    close: (slot) => queueMicrotask(() => sink.onClosed(slot)),
    probe: async () => {},
    reset: async () => {},
  };
}

/** A free stack and a FIFO of resolvers: the least a promise-based pool can do. */
class ArrayPool<T> {
  readonly #free: T[];
  #waiters: ((r: T) => void)[] = [];
  #head = 0;
  constructor(items: T[]) {
    this.#free = items;
  }
  acquire(): Promise<T> {
    const r = this.#free.pop();
    if (r !== undefined) return Promise.resolve(r);
    return new Promise<T>((resolve) => this.#waiters.push(resolve));
  }
  release(r: T): void {
    if (this.#head < this.#waiters.length) {
      const w = this.#waiters[this.#head++]!;
      if (this.#head > 1024 && this.#head * 2 > this.#waiters.length) {
        this.#waiters = this.#waiters.slice(this.#head);
        this.#head = 0;
      }
      w(r);
    } else {
      this.#free.push(r);
    }
  }
}

const allEntries: Entry[] = [
  entry(PRODUCT, async () => {
    const server = createWireServer({ handler: (payload) => payload });
    const { port } = (await server.listen()) as { port: number };
    const rt = createRuntime();
    // What a user writes: defaults (heartbeat every 5 s, housekeeping every second) plus the size.
    const pool = rt.createPool({ endpoints: [{ host: '127.0.0.1', port }], protocol: wire(), min: MAX, max: MAX });
    while (pool.stats().idle < MAX) await new Promise((r) => setTimeout(r, 1));
    return {
      acquire: () => pool.acquire(),
      release: (lease) => lease.release(),
      close: async () => {
        await rt.shutdown();
        await server.close();
      },
    };
  }),
  entry(GENERIC, async () => {
    const server = await sinkServer();
    const pool = genericPool.createPool<Socket>(
      { create: () => dialSocket(server.port), destroy: async (s) => void s.destroy() },
      { min: MAX, max: MAX },
    );
    await pool.ready();
    return {
      acquire: () => pool.acquire(),
      release: (r) => void pool.release(r),
      close: async () => {
        await pool.drain();
        await pool.clear();
        await server.close();
      },
    };
  }),
  entry(TARN, async () => {
    const server = await sinkServer();
    const pool = new tarn.Pool<Socket>({ create: () => dialSocket(server.port), destroy: (s) => void s.destroy(), min: MAX, max: MAX });
    const warm = await Promise.all(Array.from({ length: MAX }, () => pool.acquire().promise));
    for (const r of warm) pool.release(r);
    return {
      acquire: () => pool.acquire().promise,
      release: (r) => void pool.release(r),
      close: async () => {
        await pool.destroy();
        await server.close();
      },
    };
  }),
  entry(CORE, async () => {
    const pool = createPoolCore<{ id: number }>({
      options: { endpoints: [{ host: '127.0.0.1', port: 1 }], protocol: {}, min: MAX, max: MAX },
      source: instantSource,
    });
    while (pool.stats().idle < MAX) await new Promise((r) => setImmediate(r));
    return { acquire: () => pool.acquire(), release: (lease) => lease.release(), close: () => pool.close() };
  }),
  entry(FLOOR, async () => {
    const pool = new ArrayPool(Array.from({ length: MAX }, (_, id) => ({ id })));
    return { acquire: () => pool.acquire(), release: (r) => pool.release(r), close: async () => {} };
  }),
];
const entries = values.only === undefined ? allEntries : allEntries.filter((e) => e.name.startsWith(values.only!));

/** One measured window: ops per wall-clock second and per CPU-second of this process. */
interface Rate {
  readonly wall: number;
  readonly cpu: number;
}

const cpuSeconds = threadCpuSeconds;

async function timed(ops: number, body: () => Promise<void>): Promise<Rate> {
  const c0 = cpuSeconds();
  const t0 = performance.now();
  await body();
  const wallS = (performance.now() - t0) / 1000;
  return { wall: ops / wallS, cpu: ops / Math.max(cpuSeconds() - c0, 1e-6) };
}

function uncontended(c: Contender<unknown>, ops: number): Promise<Rate> {
  return timed(ops, async () => {
    for (let i = 0; i < ops; i++) c.release(await c.acquire());
  });
}

function contended(c: Contender<unknown>, ops: number): Promise<Rate> {
  let started = 0;
  const user = async () => {
    while (started < ops) {
      started++;
      const r = await c.acquire();
      await Promise.resolve();
      c.release(r);
    }
  };
  return timed(ops, async () => void (await Promise.all(Array.from({ length: USERS }, user))));
}

const fmtOps = (n: number) => `${(n / 1e6).toFixed(2)} M/s`;
const fmtRatio = (xs: number[]) =>
  xs.length === 0 ? '—' : `${median(xs).toFixed(1)}× (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;

async function main(): Promise<void> {
  const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(
    `node ${process.version}, nproc ${availableParallelism()} (${cpus()[0]?.model ?? 'unknown CPU'}), load ${load()}; ` +
      `${RUNS} rounds after a warm-up, max ${MAX}, ${USERS} users, ${UNCONTENDED_OPS} / ${CONTENDED_OPS} ops\n`,
  );
  const un = new Map<string, Rate[]>(entries.map((e) => [e.name, []]));
  const co = new Map<string, Rate[]>(entries.map((e) => [e.name, []]));
  for (let round = 0; round <= RUNS; round++) {
    const order = entries.map((_, i) => entries[(i + round) % entries.length]!);
    for (const e of order) {
      const c1 = await e.make();
      const u = await uncontended(c1, UNCONTENDED_OPS);
      await c1.close();
      const c2 = await e.make();
      const k = await contended(c2, CONTENDED_OPS);
      await c2.close();
      if (round > 0) {
        un.get(e.name)!.push(u);
        co.get(e.name)!.push(k);
      }
    }
  }
  const ratios = (xs: Rate[], base: Rate[] | undefined, f: (r: Rate) => number) => (base === undefined ? [] : xs.map((x, i) => f(x) / f(base[i]!)));
  const wall = (r: Rate) => r.wall;
  const cpu = (r: Rate) => r.cpu;
  for (const [title, f] of [['wall clock (ops/s)', wall], ['main-thread CPU time (ops per CPU-second)', cpu]] as const) {
    console.log(`\n${title}\n`);
    console.log('| pool | uncontended | vs generic-pool (median of rounds, range) | contended | vs generic-pool (median of rounds, range) |');
    console.log('| --- | --- | --- | --- | --- |');
    for (const e of entries) {
      const u = un.get(e.name)!;
      const k = co.get(e.name)!;
      console.log(
        `| ${e.name} | ${fmtOps(median(u.map(f)))} | ${fmtRatio(ratios(u, un.get(GENERIC), f))} | ` +
          `${fmtOps(median(k.map(f)))} | ${fmtRatio(ratios(k, co.get(GENERIC), f))} |`,
      );
    }
  }
  if (un.has(GENERIC) && un.has(PRODUCT)) {
    const bar = (m: Map<string, Rate[]>, f: (r: Rate) => number) => median(ratios(m.get(PRODUCT)!, m.get(GENERIC), f)).toFixed(1);
    console.log(
      `\nbars (rt.createPool vs generic-pool, ≥ 5× uncontended, ≥ 3× contended): wall ${bar(un, wall)}× / ${bar(co, wall)}×, ` +
        `CPU ${bar(un, cpu)}× / ${bar(co, cpu)}×; load ${load()}`,
    );
  }
}

await main();
