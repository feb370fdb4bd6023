/**
 * Pool acquire+release benchmark: wirewarden's pool core side by side with
 * generic-pool 3.9, tarn 3.1 and an array floor (the least a promise-based pool can do),
 * all in one process and one run. Connections are plain objects: what is measured is
 * the leasing machinery, not I/O.
 *
 *   uncontended  one user: acquire → release, sequentially
 *   contended    max 10, 1000 concurrent users: acquire → await a microtask → release
 *
 * One more line, `rt.createPool`, leases real wire connections on loopback (supervised
 * connection actors, a wire server in this process): the lease path is the same code, so
 * its numbers should match the core's — no XState event, timer or closure per call.
 *
 * Throughput is the median of RUNS rounds (pools interleaved in each round, so that
 * drift and GC hit them alike), measured without per-operation timing. One extra
 * instrumented round per pool measures the wait (p50/p99, time from calling acquire to
 * holding the connection) and fairness: out-of-order grants (a grant to a request made
 * after one still waiting) and the spread of operations per user.
 *
 * Run: `npx tsx bench/pool.ts` (add `--quick` for a smoke run).
 */
import { availableParallelism, cpus } from 'node:os';
import genericPool from 'generic-pool';
import tarn from 'tarn';
import type { ConnectionSource, PoolSink } from '../src/pool/connection-source.js';
import { createPoolCore } from '../src/pool/pool-core.js';
import type { Slot } from '../src/pool/slot.js';
import { createRuntime } from '../src/runtime.js';
import { createWireServer } from '../src/transport/wire-server.js';
import { wire } from '../src/transport/wire.js';

const quick = process.argv.includes('--quick');
const RUNS = quick ? 1 : 7;
const UNCONTENDED_OPS = quick ? 20_000 : 300_000;
const CONTENDED_OPS = quick ? 20_000 : 200_000;
const USERS = 1000;
const MAX = 10;

interface Conn {
  readonly id: number;
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

/** Erases each contender's resource type; the harness only passes it back. */
function entry<R>(name: string, make: () => Promise<Contender<R>>): Entry {
  return { name, make: make as () => Promise<Contender<unknown>> };
}

let nextConn = 0;
const newConn = (): Conn => ({ id: ++nextConn });

/** Ready on the next microtask, like a connection that is already established. */
function instantSource(sink: PoolSink<Conn>): ConnectionSource<Conn> {
  const ready = (slot: Slot<Conn>) => queueMicrotask(() => sink.onReady(slot, newConn()));
  return {
    open: ready,
    kill: ready,
    close: (slot) => queueMicrotask(() => sink.onClosed(slot)),
    probe: async () => {},
    reset: async () => {},
  };
}

/** The floor: a free stack and a FIFO of resolvers, nothing else. */
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

const entries: Entry[] = [
  entry('wirewarden', async () => {
    const pool = createPoolCore<Conn>({
      options: { endpoints: [{ host: '127.0.0.1', port: 1 }], protocol: {}, min: MAX, max: MAX },
      source: instantSource,
    });
    while (pool.stats().idle < MAX) await new Promise((r) => setImmediate(r));
    return {
      acquire: () => pool.acquire(),
      release: (lease) => lease.release(),
      close: () => pool.close(),
    };
  }),
  entry('rt.createPool (wire, loopback)', async () => {
    const server = createWireServer({ handler: (payload) => payload });
    const { port } = (await server.listen()) as { port: number };
    const rt = createRuntime();
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
  entry('generic-pool', async () => {
    const pool = genericPool.createPool<Conn>({ create: async () => newConn(), destroy: async () => {} }, { min: MAX, max: MAX });
    await pool.ready();
    return {
      acquire: () => pool.acquire(),
      release: (r) => void pool.release(r),
      close: async () => {
        await pool.drain();
        await pool.clear();
      },
    };
  }),
  entry('tarn', async () => {
    const pool = new tarn.Pool<Conn>({ create: async () => newConn(), destroy: () => {}, min: MAX, max: MAX });
    const warm = await Promise.all(Array.from({ length: MAX }, () => pool.acquire().promise));
    for (const r of warm) pool.release(r);
    return {
      acquire: () => pool.acquire().promise,
      release: (r) => void pool.release(r),
      close: async () => void (await pool.destroy()),
    };
  }),
  entry('array floor', async () => {
    const pool = new ArrayPool(Array.from({ length: MAX }, newConn));
    return { acquire: () => pool.acquire(), release: (r) => pool.release(r), close: async () => {} };
  }),
];

async function uncontended(c: Contender<unknown>, ops: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < ops; i++) c.release(await c.acquire());
  return ops / ((performance.now() - t0) / 1000);
}

async function contended(c: Contender<unknown>, ops: number): Promise<number> {
  let started = 0;
  const user = async () => {
    while (started < ops) {
      started++;
      const r = await c.acquire();
      await Promise.resolve();
      c.release(r);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: USERS }, user));
  return ops / ((performance.now() - t0) / 1000);
}

interface Observed {
  p50Ms: number;
  p99Ms: number;
  outOfOrder: number;
  minPerUser: number;
  maxPerUser: number;
}

/** The instrumented run: waits, grant order, operations per user. */
async function observe(c: Contender<unknown>, ops: number, users: number): Promise<Observed> {
  const waits = new Float64Array(ops);
  const perUser = new Uint32Array(users);
  let started = 0;
  let done = 0;
  let ticket = 0;
  let granted = -1;
  let outOfOrder = 0;
  const user = async (u: number) => {
    while (started < ops) {
      started++;
      const mine = ticket++;
      const t0 = performance.now();
      const r = await c.acquire();
      waits[done++] = performance.now() - t0;
      if (mine < granted) outOfOrder++;
      else granted = mine;
      perUser[u]!++;
      if (users > 1) await Promise.resolve();
      c.release(r);
    }
  };
  await Promise.all(Array.from({ length: users }, (_, u) => user(u)));
  const sorted = waits.subarray(0, done).sort();
  return {
    p50Ms: sorted[Math.floor(done * 0.5)]!,
    p99Ms: sorted[Math.floor(done * 0.99)]!,
    outOfOrder,
    minPerUser: Math.min(...perUser),
    maxPerUser: Math.max(...perUser),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmtOps = (n: number) => `${(n / 1e6).toFixed(2)} M/s`;
const fmtMs = (n: number) => (n < 0.01 ? `${(n * 1000).toFixed(1)} µs` : `${n.toFixed(2)} ms`);

async function main(): Promise<void> {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(`node ${process.version}, ${availableParallelism()} cores (${cpu}); ${RUNS} runs, max ${MAX}, ${USERS} users\n`);
  const results = new Map<string, { un: number[]; co: number[] }>(entries.map((e) => [e.name, { un: [], co: [] }]));
  for (let round = 0; round <= RUNS; round++) {
    // round 0 warms the JIT and is discarded; the order rotates every round
    const order = entries.map((_, i) => entries[(i + round) % entries.length]!);
    for (const e of order) {
      const c1 = await e.make();
      const un = await uncontended(c1, UNCONTENDED_OPS);
      await c1.close();
      const c2 = await e.make();
      const co = await contended(c2, CONTENDED_OPS);
      await c2.close();
      if (round > 0) {
        results.get(e.name)!.un.push(un);
        results.get(e.name)!.co.push(co);
      }
    }
  }
  const observed = new Map<string, { un: Observed; co: Observed }>();
  for (const e of entries) {
    const c1 = await e.make();
    const un = await observe(c1, UNCONTENDED_OPS / 2, 1);
    await c1.close();
    const c2 = await e.make();
    const co = await observe(c2, CONTENDED_OPS, USERS);
    await c2.close();
    observed.set(e.name, { un, co });
  }

  const gpUn = median(results.get('generic-pool')!.un);
  const gpCo = median(results.get('generic-pool')!.co);
  const rows = entries.map((e) => {
    const r = results.get(e.name)!;
    const o = observed.get(e.name)!;
    const un = median(r.un);
    const co = median(r.co);
    return [
      e.name,
      fmtOps(un), `${(un / gpUn).toFixed(1)}×`,
      fmtOps(co), `${(co / gpCo).toFixed(1)}×`,
      fmtMs(o.un.p50Ms), fmtMs(o.un.p99Ms),
      fmtMs(o.co.p50Ms), fmtMs(o.co.p99Ms),
      String(o.co.outOfOrder), `${o.co.minPerUser}–${o.co.maxPerUser}`,
    ];
  });
  const header = [
    'pool', 'uncontended', 'vs generic-pool', 'contended', 'vs generic-pool',
    'uncont. p50 wait', 'uncont. p99 wait', 'cont. p50 wait', 'cont. p99 wait', 'out-of-order grants', 'ops per user',
  ];
  console.log(`| ${header.join(' | ')} |`);
  console.log(`| ${header.map(() => '---').join(' | ')} |`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  const ours = results.get('wirewarden')!;
  console.log(
    `\nbars: uncontended ${(median(ours.un) / gpUn).toFixed(1)}× (≥ 5×), contended ${(median(ours.co) / gpCo).toFixed(1)}× (≥ 3×)`,
  );
}

await main();
