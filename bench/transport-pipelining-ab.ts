/**
 * A/B of one session's pipelining between two checkouts of src/ in one process: the same
 * C concurrent callers (GET on a real redis-server through `resp()`, or an echo request
 * on a real loopback `createWireServer` through `wire()`), alternating A and B for R
 * rounds so both see the same machine load. Reports median ops/s and socket writes per
 * call for each.
 *
 * Run: `npx tsx bench/transport-pipelining-ab.ts --a /path/to/other/checkout [--callers 100] [--seconds 2] [--rounds 5]`
 * (`--a` holds a `src/` tree, e.g. `git archive <commit> src | tar -x -C /tmp/before`
 * with node_modules linked in; B is this checkout).
 */
import type { Duplex } from 'node:stream';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { asyncScheduler } from 'rxjs';
import { startRedis } from '../test/helpers/redis-server.js';

const { values } = parseArgs({
  options: {
    a: { type: 'string' },
    callers: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '5' },
  },
  strict: true,
});
if (values.a === undefined) throw new Error('--a <checkout with src/> is required');
const CALLERS = Number(values.callers);
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);

type Api = typeof import('../src/index.js');
const A = (await import(pathToFileURL(join(values.a, 'src/index.ts')).href)) as Api;
const B = (await import('../src/index.js')) as Api;

function countWrites(stream: Duplex): { n: number } {
  const c = { n: 0 };
  const w = stream._write.bind(stream);
  stream._write = (x, e, cb) => (c.n++, w(x, e, cb));
  const wv = stream._writev?.bind(stream);
  if (wv) stream._writev = (x, cb) => (c.n++, wv(x, cb));
  return c;
}

async function drive(call: () => Promise<unknown>): Promise<{ opsPerS: number; calls: number }> {
  let calls = 0;
  const end = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(Array.from({ length: CALLERS }, async () => {
    while (performance.now() < end) {
      await call();
      calls++;
    }
  }));
  return { opsPerS: calls / ((performance.now() - started) / 1000), calls };
}

const ctx = (port: number) => ({ signal: new AbortController().signal, endpoint: { host: '127.0.0.1', port }, markAlive: () => {}, scheduler: asyncScheduler });

async function respRun(api: Api, port: number): Promise<[number, number]> {
  const stream = await api.tcp().dial({ host: '127.0.0.1', port }, { connectTimeoutMs: 2000 });
  const session = await api.resp().open(stream, ctx(port));
  const writes = countWrites(stream);
  const r = await drive(() => session.command(['GET', 'bench:k']));
  await session.close();
  return [r.opsPerS, writes.n / r.calls];
}

async function wireRun(api: Api, port: number): Promise<[number, number]> {
  const stream = await api.tcp().dial({ host: '127.0.0.1', port }, { connectTimeoutMs: 2000 });
  const session = await api.wire().open(stream, ctx(port));
  const writes = countWrites(stream);
  const r = await drive(() => session.request('k'));
  await session.close();
  return [r.opsPerS, writes.n / r.calls];
}

const med = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const redis = await startRedis();
// One server process for both sides (B's), so only the client differs.
const server = B.createWireServer({ handler: (p) => p });
const { port: wirePort } = (await server.listen()) as { port: number };
try {
  await redis.command(['SET', 'bench:k', 'v']);
  const rows: Record<string, { ops: number[]; writes: number[] }> = {};
  const add = (name: string, [ops, writes]: [number, number]): void => {
    const row = (rows[name] ??= { ops: [], writes: [] });
    row.ops.push(ops);
    row.writes.push(writes);
  };
  for (let round = 0; round < ROUNDS; round++) {
    add('resp A', await respRun(A, redis.port));
    add('resp B', await respRun(B, redis.port));
    add('wire A', await wireRun(A, wirePort));
    add('wire B', await wireRun(B, wirePort));
  }
  console.log(`${CALLERS} concurrent callers on one session, ${SECONDS} s × ${ROUNDS} rounds, A = ${values.a}, B = this checkout`);
  for (const [name, row] of Object.entries(rows)) {
    console.log(`${name}  ${Math.round(med(row.ops)).toString().padStart(7)} ops/s (median; ${row.ops.map((x) => Math.round(x)).join(', ')})  socket writes/call ${med(row.writes).toFixed(4)}`);
  }
} finally {
  await server.close({ graceful: false });
  await redis.stop();
}
