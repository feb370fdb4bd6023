/**
 * Redis GET and SET through shared dispatch, side by side in one run against one real
 * redis-server on loopback (test/helpers/redis-server.ts), 100 concurrent callers each
 * awaiting its command before sending the next:
 *
 *   pool.dispatch   rt.createPool({ protocol: resp() }) shared by every caller (max 1 and max 4)
 *   pool.command    the resp() convenience, when the build has it
 *   pool.use        exclusive leases, max 10: the leasing model the issue measured at 0.47×
 *   shared by hand  one leased session every caller sends on at once (what dispatch does
 *                   underneath, without its bookkeeping; the issue measured 1.42×)
 *   ioredis         one connection, enableAutoPipelining on, and off
 *
 * The bar (issue 13): pool.dispatch ≥ 1.2× ioredis with auto-pipelining. Ratios are the
 * median of per-round ratios (contenders interleaved, order rotated, a warm-up round
 * discarded); the machine has 2 cores shared with redis-server, so compare ratios.
 *
 * Run: `npx tsx bench/dispatch-redis.ts` (`--quick`, `--runs N`, `--ops N`, `--callers N`;
 * `--only <name prefix>` runs one contender, e.g. under `node --cpu-prof --import tsx`).
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { createRuntime, resp, type Pool, type RespSession } from '../src/index.js';
import { startRedis, type RedisServer } from '../test/helpers/redis-server.js';
import { closedLoopArgs, cpuText, fmtRate, ratio, ratioText, rounds, type Contender } from './helpers/closed-loop.js';
import { commandOf, dispatchOf } from './helpers/dispatch-api.js';
import { median } from './helpers/storm-stats.js';

const { runs: RUNS, ops: OPS, callers: CALLERS, only: ONLY } = closedLoopArgs(100_000);

const VALUE = 'v'.repeat(16);
const key = (caller: number) => `k:${caller}`;
type Command = 'GET' | 'SET';
const args = (cmd: Command, caller: number) => (cmd === 'GET' ? ['GET', key(caller)] : ['SET', key(caller), VALUE]);

async function readyPool(server: RedisServer, max: number): Promise<{ pool: Pool<RespSession>; close(): Promise<void> }> {
  const rt = createRuntime();
  const pool = rt.createPool({ endpoints: [server.endpoint], protocol: resp(), min: max, max });
  while (pool.stats().idle < max) await new Promise((r) => setTimeout(r, 1));
  return { pool, close: () => rt.shutdown() };
}

function contenders(server: RedisServer, cmd: Command, missing: Set<string>): Contender[] {
  const list: Contender[] = [];
  for (const max of [1, 4]) {
    list.push({
      name: `pool.dispatch (max ${max})`,
      async open() {
        const { pool, close } = await readyPool(server, max);
        const dispatch = dispatchOf(pool)!;
        return { op: (c) => dispatch((conn) => conn.command(args(cmd, c))), close };
      },
    });
  }
  list.push({
    name: 'pool.command (max 1)',
    async open() {
      const { pool, close } = await readyPool(server, 1);
      const command = commandOf(pool as Pool<unknown>)!;
      return { op: (c) => command(args(cmd, c)), close };
    },
  });
  list.push({
    name: 'one leased session shared by hand',
    async open() {
      const { pool, close } = await readyPool(server, 1);
      const lease = await pool.acquire();
      return {
        op: (c) => lease.conn.command(args(cmd, c)),
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
      const { pool, close } = await readyPool(server, 10);
      return { op: (c) => pool.use((conn) => conn.command(args(cmd, c))), close };
    },
  });
  for (const auto of [true, false]) {
    list.push({
      name: `ioredis (1 connection, auto-pipelining ${auto ? 'on' : 'off'})`,
      async open() {
        const client = new Redis({ host: server.host, port: server.port, enableAutoPipelining: auto, lazyConnect: true });
        await client.connect();
        const op = cmd === 'GET' ? (c: number) => client.get(key(c)) : (c: number) => client.set(key(c), VALUE);
        return { op, close: async () => void client.disconnect() };
      },
    });
  }
  // Probe the build once: contenders whose API is missing are reported, not run.
  return list.filter((c) => !missing.has(c.name) && (ONLY === undefined || c.name.startsWith(ONLY)));
}

async function probeMissing(server: RedisServer): Promise<Set<string>> {
  const { pool, close } = await readyPool(server, 1);
  const missing = new Set<string>();
  if (dispatchOf(pool) === undefined) missing.add('pool.dispatch (max 1)').add('pool.dispatch (max 4)');
  if (commandOf(pool as Pool<unknown>) === undefined) missing.add('pool.command (max 1)');
  await close();
  return missing;
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const server = await startRedis();
try {
  const version = String(await server.command(['INFO', 'server'])).match(/redis_version:(\S+)/)?.[1] ?? '?';
  console.log(
    `redis dispatch: ${CALLERS} callers, ${OPS} ops per contender per round, ${RUNS} rounds after a warm-up; redis-server ${version}, ioredis ${(await import('ioredis/package.json', { with: { type: 'json' } })).default.version}\n` +
      `machine: nproc ${availableParallelism()}, node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, load ${load()}`,
  );
  for (let c = 0; c < CALLERS; c++) await server.command(['SET', key(c), VALUE]);
  const missing = await probeMissing(server);
  if (missing.size > 0) console.log(`not in this build (skipped): ${[...missing].join(', ')}`);
  const baseline = 'ioredis (1 connection, auto-pipelining on)';
  for (const cmd of ['GET', 'SET'] as const) {
    const list = contenders(server, cmd, missing);
    const result = await rounds(list, RUNS, CALLERS, OPS, true);
    console.log(`\n${cmd}, ${CALLERS} concurrent callers\n`);
    console.log('| client | ops/s (median) | vs ioredis auto-pipelining (median of rounds, range) | client CPU per op |');
    console.log('| --- | --- | --- | --- |');
    for (const c of list) {
      console.log(`| ${c.name} | ${fmtRate(median(result.opsPerSec.get(c.name)!))} | ${ratioText(result, c.name, baseline)} | ${cpuText(result, c.name)} |`);
    }
    const ours = list.filter((c) => c.name.startsWith('pool.dispatch') || c.name.startsWith('pool.command'));
    for (const c of ours) console.log(`bar ${cmd} ${c.name}: ${ratio(result, c.name, baseline).toFixed(2)}× ioredis auto-pipelining (≥ 1.2×)`);
  }
  console.log(`\nload at the end: ${load()}`);
} finally {
  await server.stop();
}
