/**
 * wire() requests through shared dispatch against a bare floor, side by side in one run
 * against one wire server process (an echo handler, forked: bench/helpers/storm-server.ts),
 * 100 concurrent callers each awaiting its reply before sending the next:
 *
 *   pool.dispatch   rt.createPool({ protocol: wire() }) shared by every caller (max 1 and max 4)
 *   pool.request    the wire() convenience, when the build has it
 *   pool.use        exclusive leases, max 10 (the leasing model)
 *   shared by hand  one leased session every caller sends on at once (what dispatch does
 *                   underneath, without its bookkeeping): a reference that runs on any build
 *   floor           raw sockets (1 and 4) after a hand-made HELLO, one pre-encoded REQ frame
 *                   per call, coalesced per event-loop turn, replies counted by size
 *                   (bench/helpers/wire-floor.ts)
 *
 * The bar (issue 13): pool.dispatch ≥ 0.6× the floor's throughput. Ratios are medians of
 * per-round ratios (contenders interleaved, order rotated, warm-up discarded). The machine
 * has 2 cores shared by client, server and other jobs, so next to the wall-clock rate the
 * bench reports each side's CPU per request (client main thread; server process) and the
 * capacity they imply with a core each, 1 / max(client, server): the floor is bound by
 * the server, a real client by its own CPU.
 *
 * Run: `npx tsx bench/dispatch-wire.ts` (`--quick`, `--runs N`, `--ops N`, `--callers N`;
 * `--only <name prefix>` runs one contender, e.g. under `node --cpu-prof --import tsx`).
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { createRuntime, wire, type Pool, type WireSession } from '../src/index.js';
import { freePort } from '../test/helpers/redis-server.js';
import { closedLoopArgs, capacity, cpuText, fmtRate, ratio, ratioText, rounds, type Contender } from './helpers/closed-loop.js';
import { dispatchOf, requestOf } from './helpers/dispatch-api.js';
import { forkStormServer } from './helpers/storm-server-process.js';
import { median } from './helpers/storm-stats.js';
import { openFloor } from './helpers/wire-floor.js';

const { runs: RUNS, ops: OPS, callers: CALLERS, only: ONLY } = closedLoopArgs(200_000);

/** A small request, as a key lookup: the same bytes for every contender. */
const PAYLOAD = ['get', 'user:1234'];
const HOST = '127.0.0.1';

async function readyPool(port: number, max: number): Promise<{ pool: Pool<WireSession>; close(): Promise<void> }> {
  const rt = createRuntime();
  const pool = rt.createPool({ endpoints: [{ host: HOST, port }], protocol: wire(), min: max, max });
  while (pool.stats().idle < max) await new Promise((r) => setTimeout(r, 1));
  return { pool, close: () => rt.shutdown() };
}

function contenders(port: number, missing: Set<string>): Contender[] {
  const list: Contender[] = [];
  for (const n of [1, 4]) {
    list.push({
      name: `floor (${n} raw socket${n > 1 ? 's' : ''})`,
      async open() {
        const floor = await openFloor(HOST, port, n, PAYLOAD);
        return { op: (c) => floor.request(c), close: async () => floor.close() };
      },
    });
    list.push({
      name: `pool.dispatch (max ${n})`,
      async open() {
        const { pool, close } = await readyPool(port, n);
        const dispatch = dispatchOf(pool)!;
        return { op: () => dispatch((conn) => conn.request(PAYLOAD)), close };
      },
    });
  }
  list.push({
    name: 'pool.request (max 1)',
    async open() {
      const { pool, close } = await readyPool(port, 1);
      const request = requestOf(pool as Pool<unknown>)!;
      return { op: () => request(PAYLOAD), close };
    },
  });
  list.push({
    name: 'one leased session shared by hand',
    async open() {
      const { pool, close } = await readyPool(port, 1);
      const lease = await pool.acquire();
      return {
        op: () => lease.conn.request(PAYLOAD),
        close: async () => {
          lease.release();
          await close();
        },
      };
    },
  });
  list.push({
    name: 'pool.use (max 10, exclusive leases)',
    async open() {
      const { pool, close } = await readyPool(port, 10);
      return { op: () => pool.use((conn) => conn.request(PAYLOAD)), close };
    },
  });
  return list.filter((c) => !missing.has(c.name) && (ONLY === undefined || c.name.startsWith(ONLY)));
}

async function probeMissing(port: number): Promise<Set<string>> {
  const { pool, close } = await readyPool(port, 1);
  const missing = new Set<string>();
  if (dispatchOf(pool) === undefined) missing.add('pool.dispatch (max 1)').add('pool.dispatch (max 4)');
  if (requestOf(pool as Pool<unknown>) === undefined) missing.add('pool.request (max 1)');
  await close();
  return missing;
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const port = await freePort();
const server = forkStormServer(port, 0);
await server.listening;
try {
  console.log(
    `wire dispatch: ${CALLERS} callers, ${OPS} requests per contender per round, ${RUNS} rounds after a warm-up; echo server in its own process\n` +
      `machine: nproc ${availableParallelism()}, node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, load ${load()}`,
  );
  const missing = await probeMissing(port);
  if (missing.size > 0) console.log(`not in this build (skipped): ${[...missing].join(', ')}`);
  const list = contenders(port, missing);
  const result = await rounds(list, RUNS, CALLERS, OPS, true, () => server.cpuMs());
  console.log(`\nwire() request/reply, ${CALLERS} concurrent callers\n`);
  const floorCapacity = Math.max(...list.filter((c) => c.name.startsWith('floor')).map((c) => capacity(result, c.name)));
  console.log(
    '| client | requests/s (median) | vs floor, 1 socket | vs floor, 4 sockets | client CPU per request | server CPU per request | ' +
      'capacity with a core each | vs the best floor\'s |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const c of list) {
    const cap = capacity(result, c.name);
    console.log(
      `| ${c.name} | ${fmtRate(median(result.opsPerSec.get(c.name)!))} | ${ratioText(result, c.name, 'floor (1 raw socket)')} | ` +
        `${ratioText(result, c.name, 'floor (4 raw sockets)')} | ${cpuText(result, c.name)} | ` +
        `${median(result.serverUsPerOp.get(c.name)!).toFixed(2)} µs | ${fmtRate(cap)} | ${(cap / floorCapacity).toFixed(2)}× |`,
    );
  }
  for (const n of [1, 4]) {
    const name = `pool.dispatch (max ${n})`;
    if (result.opsPerSec.has(name)) {
      console.log(`bar ${name}: ${ratio(result, name, `floor (${n} raw socket${n > 1 ? 's' : ''})`).toFixed(2)}× the floor with ${n} (≥ 0.6×)`);
    }
  }
  console.log(`\nload at the end: ${load()}; server CPU ${(server.cpuMs() / 1000).toFixed(1)} s`);
} finally {
  await server.stop();
}
