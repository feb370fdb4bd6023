/**
 * Overload (issue 14): offered load twice what the pool can serve, for 30 s, through
 * `rt.createPool` on loopback — with queue-delay shedding (`shedding: { queueTargetMs: 50,
 * queueIntervalMs: 250 }`, the defaults) and without, in the same run.
 *
 * A wire() server in this process answers each request after `--service-ms` (10); the pool
 * has `--max` connections (4) and callers run `pool.use((conn) => conn.request(…))`. First a
 * closed loop measures what the pool serves (capacity C); then open-loop arrivals at 2 × C
 * (issued every 5 ms by elapsed time) for `--seconds` each run. Measured per caller: the
 * queue wait, from `pool.use` to `fn` starting (of the callers served; those still queued at
 * the end are counted, with the oldest one's wait). `acquireTimeoutMs` is 120 s, so without
 * shedding nothing times out and the queue shows itself.
 *
 * Bar: with shedding, p99 queue wait of the admitted callers ≤ 2 × target (100 ms); without,
 * it grows with the queue.
 *
 * Run: `npx tsx bench/pool-overload.ts` (`--seconds N` 30, `--service-ms N` 10, `--max N` 4).
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createRuntime, createWireServer, hasCode, wire, type Pool, type WireSession } from '../src/index.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string' }, 'service-ms': { type: 'string' }, max: { type: 'string' } },
  strict: true,
});
const SECONDS = Number(values.seconds ?? 30);
const SERVICE_MS = Number(values['service-ms'] ?? 10);
const MAX = Number(values.max ?? 4);
const TOKEN = 'bench-overload';
const TARGET_MS = 50;

const server = createWireServer({
  token: TOKEN,
  handler: (payload) => new Promise((resolve) => setTimeout(() => resolve(payload), SERVICE_MS)),
});
const { port } = (await server.listen()) as { port: number };

function makePool(shedding: boolean): { pool: Pool<WireSession>; close(): Promise<void> } {
  const rt = createRuntime();
  const pool = rt.createPool<WireSession>({
    endpoints: [{ host: '127.0.0.1', port }], protocol: wire({ token: TOKEN }), min: MAX, max: MAX,
    acquireTimeoutMs: 120_000, shedding: shedding ? { queueTargetMs: TARGET_MS, queueIntervalMs: 250 } : false,
  });
  return { pool, close: () => rt.shutdown().catch(() => {}) };
}

async function capacity(): Promise<number> {
  const { pool, close } = makePool(false);
  await pool.use((c) => c.request('warm'));
  let served = 0;
  const until = performance.now() + 3000;
  await Promise.all(Array.from({ length: MAX }, async () => {
    while (performance.now() < until) {
      await pool.use((c) => c.request('x'));
      served++;
    }
  }));
  await close();
  return served / 3;
}

const pct = (xs: Float64Array | number[], p: number): number => {
  if (xs.length === 0) return Number.NaN;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor(s.length * p))]!;
};

interface Result {
  readonly served: number;
  readonly refused: number;
  readonly waits: number[];
  /** Waits of callers that arrived in the first / last third of the window. */
  readonly firstThird: number[];
  readonly lastThird: number[];
  readonly queuedAtEnd: number;
  /** How long the oldest caller still queued at the end of the window had waited. */
  readonly oldestAtEndMs: number;
}

async function offer(ratePerSec: number, shedding: boolean): Promise<Result> {
  const { pool, close } = makePool(shedding);
  await Promise.all(Array.from({ length: MAX }, () => pool.use((c) => c.request('warm'))));
  const waits: number[] = [];
  const firstThird: number[] = [];
  const lastThird: number[] = [];
  let refused = 0;
  let served = 0;
  const windowMs = SECONDS * 1000;
  const start = performance.now();
  let issued = 0;
  const calls: Promise<void>[] = [];
  const waiting = new Set<number>();
  await new Promise<void>((done) => {
    const tick = setInterval(() => {
      const elapsed = performance.now() - start;
      if (elapsed >= windowMs) {
        clearInterval(tick);
        done();
        return;
      }
      const due = Math.floor((elapsed / 1000) * ratePerSec);
      for (; issued < due; issued++) {
        const arrivedAt = performance.now();
        const third = Math.floor(((arrivedAt - start) / windowMs) * 3);
        waiting.add(arrivedAt);
        calls.push(pool.use((c) => {
          waiting.delete(arrivedAt);
          const waited = performance.now() - arrivedAt;
          waits.push(waited);
          if (third === 0) firstThird.push(waited);
          if (third === 2) lastThird.push(waited);
          return c.request('x');
        }).then(() => void served++, (err: unknown) => {
          waiting.delete(arrivedAt);
          if (hasCode(err, 'WW_POOL_OVERLOADED')) refused++;
        }));
      }
    }, 5);
  });
  const queuedAtEnd = pool.stats().waiting;
  const oldestAtEndMs = waiting.size === 0 ? 0 : performance.now() - Math.min(...waiting);
  await close(); // rejects what still queues (WW_POOL_CLOSED)
  await Promise.allSettled(calls);
  return { served, refused, waits, firstThird, lastThird, queuedAtEnd, oldestAtEndMs };
}

const f = (x: number) => (Number.isNaN(x) ? '—' : `${x.toFixed(x < 10 ? 1 : 0)} ms`);
console.log(`pool overload: ${SECONDS} s at 2× capacity, ${MAX} connections, service ${SERVICE_MS} ms; node ${process.version}, ${availableParallelism()} cpus (${cpus()[0]?.model ?? '?'}), load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const c = await capacity();
console.log(`capacity (closed loop, ${MAX} callers): ${c.toFixed(0)} calls/s; offered: ${(2 * c).toFixed(0)} calls/s`);
console.log('');
console.log('| shedding | served | refused at once or dropped | queue wait p50 | p99 | max | p99, first → last third of arrivals | queued at the end (oldest) |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const shedding of [true, false]) {
  const r = await offer(2 * c, shedding);
  console.log(`| ${shedding ? `on (target ${TARGET_MS} ms, interval 250 ms)` : 'off'} | ${r.served} | ${r.refused} | ${f(pct(r.waits, 0.5))} | ${f(pct(r.waits, 0.99))} | ${f(Math.max(...r.waits))} | ${f(pct(r.firstThird, 0.99))} → ${f(pct(r.lastThird, 0.99))} | ${r.queuedAtEnd} (${f(r.oldestAtEndMs)}) |`);
}
await server.close({ graceful: false });
process.exit(0);
