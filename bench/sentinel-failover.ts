/**
 * Sentinel failover, as an application sees it: how long after a SIGKILL of the master
 * does a write succeed again — through a wirewarden pool (`endpoints: redisSentinel(…)`,
 * every discovery option at its default) and through ioredis (`new Redis({ sentinels,
 * name })`, defaults) — next to Sentinel's own milestones on the same failover:
 *
 *   promotion       the replica answers `ROLE` master (polled every 10 ms)
 *   +switch-master  the sentinels announce the new master (a subscription on sentinel 0)
 *
 * Each run starts a fresh topology (test/helpers/redis-sentinel.ts: master, replica, three
 * sentinels on loopback, quorum 2, `down-after-milliseconds` 1000, as the reference
 * measurements in shared/reference), warms both clients, keeps one writer per client
 * sending `SET` every 10 ms (each write bounded by 500 ms: `timeoutMs` for the pool,
 * `commandTimeout` for ioredis), SIGKILLs the master and records the first write *sent
 * after the kill* that succeeds. Issue 14's bar: wirewarden ≤ promotion + 2 s.
 *
 * Run: `npx tsx bench/sentinel-failover.ts [--runs 5] [--down-after-ms 1000]`.
 */
import { connect } from 'node:net';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { createRuntime, redisSentinel, resp, type PoolEvent } from '../src/index.js';
import { MASTER_NAME, startSentinelTopology, type SentinelTopology } from '../test/helpers/redis-sentinel.js';
import { median } from './helpers/storm-stats.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    'down-after-ms': { type: 'string', default: '1000' },
  },
  strict: true,
});
const RUNS = Number(values.runs);
const DOWN_AFTER_MS = Number(values['down-after-ms']);
for (const [name, v] of [['--runs', RUNS], ['--down-after-ms', DOWN_AFTER_MS]] as const) {
  if (!Number.isInteger(v) || v < 1) {
    process.stderr.write(`${name} must be an integer >= 1, got ${String(v)}\n`);
    process.exit(1);
  }
}
const WRITE_EVERY_MS = 10;
const WRITE_TIMEOUT_MS = 500;
const GIVE_UP_MS = 30_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A writer: one `SET` every 10 ms; `firstOkAfter(t)` is when the first write sent at or after `t` succeeded. */
function writer(name: string, write: (value: string) => Promise<unknown>) {
  const results: { sentAt: number; doneAt: number; ok: boolean }[] = [];
  let stopped = false;
  const done = (async () => {
    for (let i = 0; !stopped; i++) {
      const sentAt = performance.now();
      const ok = await write(`${name}-${i}`).then(() => true, () => false);
      results.push({ sentAt, doneAt: performance.now(), ok });
      await sleep(WRITE_EVERY_MS);
    }
  })();
  return {
    firstOkAfter: (t: number): number | undefined => results.find((r) => r.ok && r.sentAt >= t)?.doneAt,
    failedAfter: (t: number): number => results.filter((r) => !r.ok && r.sentAt >= t).length,
    stop: async (): Promise<void> => {
      stopped = true;
      await done;
    },
  };
}

/** Time of the first `+switch-master` for our master on sentinel `port`. */
function watchSwitch(port: number): { at: () => number | undefined; close: () => void } {
  let at: number | undefined;
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write('*2\r\n$9\r\nSUBSCRIBE\r\n$14\r\n+switch-master\r\n');
  socket.on('data', (chunk: Buffer) => {
    if (at === undefined && chunk.toString('latin1').includes(`${MASTER_NAME} 127.0.0.1`)) at = performance.now();
  });
  return { at: () => at, close: () => socket.destroy() };
}

interface Run {
  readonly promotionMs: number;
  readonly switchMs: number;
  readonly wirewardenMs: number;
  readonly ioredisMs: number;
  readonly wirewardenFailed: number;
  readonly ioredisFailed: number;
}

async function oneRun(): Promise<Run> {
  const topo: SentinelTopology = await startSentinelTopology({ downAfterMs: DOWN_AFTER_MS });
  const rt = createRuntime();
  const sentinels = topo.sentinels;
  const pool = rt.createPool({ endpoints: redisSentinel({ sentinels, name: MASTER_NAME }), protocol: resp(), min: 2, max: 4 });
  const changes: PoolEvent[] = [];
  pool.events$.subscribe((e) => e.type === 'endpoints-changed' && changes.push(e));
  const io = new Redis({ sentinels, name: MASTER_NAME, commandTimeout: WRITE_TIMEOUT_MS, lazyConnect: false });
  io.on('error', () => {}); // reconnects are the subject; an unhandled 'error' is only logged
  const sw = watchSwitch(sentinels[0]!.port);
  try {
    await pool.command(['SET', 'warm', '1']);
    await io.set('warm', '1');
    const ww = writer('ww', (v) => pool.command(['SET', 'ww', v], { timeoutMs: WRITE_TIMEOUT_MS }));
    const ior = writer('io', (v) => io.set('io', v));
    await sleep(300);
    const killedAt = performance.now();
    await topo.killMaster();
    const promotedAtWall = await topo.waitForPromotion(GIVE_UP_MS);
    const promotedAt = performance.now() - (Date.now() - promotedAtWall);
    const end = performance.now() + GIVE_UP_MS;
    while ((ww.firstOkAfter(killedAt) === undefined || ior.firstOkAfter(killedAt) === undefined || sw.at() === undefined) && performance.now() < end) {
      await sleep(10);
    }
    await Promise.all([ww.stop(), ior.stop()]);
    const since = (t: number | undefined): number => (t === undefined ? Number.NaN : t - killedAt);
    return {
      promotionMs: promotedAt - killedAt,
      switchMs: since(sw.at()),
      wirewardenMs: since(ww.firstOkAfter(killedAt)),
      ioredisMs: since(ior.firstOkAfter(killedAt)),
      wirewardenFailed: ww.failedAfter(killedAt),
      ioredisFailed: ior.failedAfter(killedAt),
    };
  } finally {
    sw.close();
    io.disconnect();
    await rt.shutdown();
    await topo.stop();
  }
}

const ms = (v: number): string => (Number.isNaN(v) ? 'n/a' : `${(v / 1000).toFixed(2)} s`);

async function main(): Promise<void> {
  process.stdout.write(`sentinel failover: ${RUNS} runs, down-after-milliseconds ${DOWN_AFTER_MS}, a write every ${WRITE_EVERY_MS} ms per client; ` +
    `${availableParallelism()} × ${cpus()[0]?.model ?? 'cpu'}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n\n`);
  process.stdout.write('| run | promotion (ROLE master) | +switch-master | wirewarden first write | ioredis first write | failed writes ww / ioredis |\n|---|---|---|---|---|---|\n');
  const runs: Run[] = [];
  for (let i = 1; i <= RUNS; i++) {
    const r = await oneRun();
    runs.push(r);
    process.stdout.write(`| ${i} | ${ms(r.promotionMs)} | ${ms(r.switchMs)} | ${ms(r.wirewardenMs)} | ${ms(r.ioredisMs)} | ${r.wirewardenFailed} / ${r.ioredisFailed} |\n`);
  }
  const med = (f: (r: Run) => number): number => median(runs.map(f).filter((v) => !Number.isNaN(v)));
  process.stdout.write(`| **median** | **${ms(med((r) => r.promotionMs))}** | **${ms(med((r) => r.switchMs))}** | **${ms(med((r) => r.wirewardenMs))}** | ` +
    `**${ms(med((r) => r.ioredisMs))}** | ${med((r) => r.wirewardenFailed)} / ${med((r) => r.ioredisFailed)} |\n\n`);
  const worst = Math.max(...runs.map((r) => r.wirewardenMs - r.promotionMs));
  const met = runs.every((r) => r.wirewardenMs <= r.promotionMs + 2000);
  process.stdout.write(`bar (wirewarden first write <= promotion + 2 s in every run): ${met ? 'met' : 'NOT met'}; worst margin over promotion ${ms(worst)}\n`);
}

await main();
