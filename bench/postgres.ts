/**
 * PostgreSQL side by side: a wirewarden pool of `pg.Client`s (`custom()` connect mode, the
 * recipe of examples/postgres-pool.ts) and pg-pool (`pg.Pool`) against the same real
 * PostgreSQL (a throwaway cluster from test/helpers/postgres-server.ts), in one run:
 *
 * 1. **Throughput**: `SELECT 1` through leases, 50 concurrent callers, pool max 10, each
 *    side for `--seconds` per run, taken in turns of 500 ms (so a burst of load elsewhere
 *    on a shared machine hits every side alike); calls/s and per-call latency (acquire +
 *    query + release) p50/p99, medians of the runs. wirewarden without
 *    `resetOnRelease` (as pg-pool, which resets nothing) and with it (ROLLBACK if needed +
 *    DISCARD ALL per lease).
 * 2. **Frozen server** (SIGSTOP of the postmaster and every backend), each pool idle with 4
 *    connections: time until the pool reports them dead, and the outcome of a caller at
 *    +7 s (after wirewarden's detection bound, before pg-pool's 10 s idle timeout) and at
 *    +12 s (after it). wirewarden: heartbeat every 1 s, probe timeout ≤ 1 s (window 3 s),
 *    acquire and connect timeouts 1 s. pg-pool: defaults, and `connectionTimeoutMillis` 1000.
 *    A caller unanswered after 15 s counts as hung.
 * 3. **Restart recovery** (`pg_ctl restart -m fast`), each pool idle with 4 connections,
 *    4 callers looping through the restart: time from the server being back (pg_ctl
 *    returned) to each side's first successful query. wirewarden with its default backoff.
 *
 * Run: `npx tsx bench/postgres.ts` (3 runs) or `npx tsx src/cli.ts bench postgres`.
 * Options: `--quick` (1 run, 2 s), `--runs N`, `--seconds S`, `--only throughput|frozen|restart`.
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { postgres } from '../examples/postgres-pool.js';
import { createRuntime, type Pool } from '../src/index.js';
import { startPostgres, type PostgresServer } from '../test/helpers/postgres-server.js';
import { median } from './helpers/storm-stats.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    seconds: { type: 'string' },
    only: { type: 'string' },
  },
  strict: true,
});
const QUICK = values.quick;
const RUNS = Number(values.runs ?? (QUICK ? 1 : 3));
const SECONDS = Number(values.seconds ?? (QUICK ? 2 : 5));
for (const [name, v] of [['--runs', RUNS], ['--seconds', SECONDS]] as const) {
  if (!Number.isInteger(v) || v < 1) {
    process.stderr.write(`${name} must be an integer >= 1, got ${String(v)}\n`);
    process.exit(1);
  }
}
const SCENARIOS = ['throughput', 'frozen', 'restart'] as const;
const ONLY = values.only;
if (ONLY !== undefined && !(SCENARIOS as readonly string[]).includes(ONLY)) {
  process.stderr.write(`--only must be one of ${SCENARIOS.join(', ')}, got ${ONLY}\n`);
  process.exit(1);
}
const runs = (name: (typeof SCENARIOS)[number]): boolean => ONLY === undefined || ONLY === name;
const CALLERS = 50;
const MAX = 10;
const IDLE = 4;
const HUNG_MS = 15_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, limitMs: number): Promise<boolean> {
  const end = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > end) return false;
    await sleep(10);
  }
  return true;
}

/** One pool, whichever library: a query through a lease, and its close. */
interface Side {
  readonly name: string;
  query(): Promise<unknown>;
  close(): Promise<void>;
}

function wirewardenSide(name: string, server: PostgresServer, options: Record<string, unknown>): Side & { pool: Pool<pg.Client>; deaths: number[] } {
  const rt = createRuntime();
  const pool = rt.createPool<pg.Client>({
    endpoints: [server.endpoint],
    protocol: postgres({ user: server.user, password: server.password, database: server.database }),
    ...options,
  });
  const deaths: number[] = [];
  pool.events$.subscribe((e) => {
    if (e.type === 'connection-closed' && e.reason === 'dead') deaths.push(Date.now());
  });
  return {
    name,
    pool,
    deaths,
    query: () => pool.use((client) => client.query('SELECT 1')),
    close: () => rt.shutdown(),
  };
}

function pgPoolSide(name: string, server: PostgresServer, options: pg.PoolConfig): Side & { pool: pg.Pool; errors: number[] } {
  const pool = new pg.Pool({ ...server.config, ...options });
  const errors: number[] = [];
  pool.on('error', () => errors.push(Date.now())); // an idle client's error (pg-pool then removes it)
  // A checked-out client's 'error' (its backend terminated between two queries) is the
  // holder's to handle, as pg-pool's docs say; unhandled, it would crash the process.
  pool.on('connect', (client) => client.on('error', () => {}));
  return {
    name,
    pool,
    errors,
    // A lease, as wirewarden's use(): connect (acquire), query, release.
    query: async () => {
      const client = await pool.connect();
      try {
        return await client.query('SELECT 1');
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

// ── 1. throughput ──

interface LoadResult {
  readonly callsPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** Calls and latencies of one side, accumulated over its slices of a run. */
class Tally {
  readonly latencies: number[] = [];
  calls = 0;
  elapsedMs = 0;

  result(): LoadResult {
    const sorted = Float64Array.from(this.latencies).sort();
    return { callsPerS: this.calls / (this.elapsedMs / 1000), p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99) };
  }
}

/** CALLERS concurrent callers on `side` for `ms`; adds to `tally`. */
async function slice(side: Side, ms: number, tally: Tally): Promise<void> {
  const t0 = performance.now();
  const end = t0 + ms;
  await Promise.all(Array.from({ length: CALLERS }, async () => {
    while (performance.now() < end) {
      const s = performance.now();
      await side.query();
      tally.latencies.push(performance.now() - s);
      tally.calls++;
    }
  }));
  tally.elapsedMs += performance.now() - t0;
}

/** One slice length: the sides alternate every SLICE_MS, so a burst of load elsewhere on the machine hits them alike. */
const SLICE_MS = 500;

async function throughput(server: PostgresServer): Promise<void> {
  const sides: Side[] = [
    wirewardenSide('wirewarden', server, { max: MAX, acquireTimeoutMs: 60_000 }),
    wirewardenSide('wirewarden, resetOnRelease', server, { max: MAX, acquireTimeoutMs: 60_000, resetOnRelease: true }),
    pgPoolSide('pg.Pool', server, { max: MAX }),
  ];
  const results = new Map<string, LoadResult[]>(sides.map((s) => [s.name, []]));
  try {
    for (const s of sides) await slice(s, 1000, new Tally()); // warm: connections open, JIT
    for (let run = 0; run < RUNS; run++) {
      const tallies = sides.map(() => new Tally());
      for (let i = 0; i < (SECONDS * 1000) / SLICE_MS; i++) {
        for (let k = 0; k < sides.length; k++) {
          const j = (k + i + run) % sides.length; // rotate who goes first
          await slice(sides[j]!, SLICE_MS, tallies[j]!);
        }
      }
      for (const [j, s] of sides.entries()) results.get(s.name)!.push(tallies[j]!.result());
    }
  } finally {
    for (const s of sides) await s.close();
  }
  const base = results.get('pg.Pool')!;
  console.log(`\n1. SELECT 1 through leases: ${CALLERS} callers, max ${MAX}, ${SECONDS} s per side per run in ${SLICE_MS} ms slices taken in turn, median of ${RUNS}`);
  console.log('| pool | calls/s | vs pg.Pool (median of per-run ratios) | p50 | p99 | runs (calls/s) |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const [name, rs] of results) {
    const cps = median(rs.map((r) => r.callsPerS));
    const ratio = median(rs.map((r, i) => r.callsPerS / base[i]!.callsPerS));
    console.log(`| ${name} | ${cps.toFixed(0)} | ${ratio.toFixed(2)}× | ${median(rs.map((r) => r.p50Ms)).toFixed(2)} ms | ${median(rs.map((r) => r.p99Ms)).toFixed(2)} ms | ${rs.map((r) => r.callsPerS.toFixed(0)).join(', ')} |`);
  }
}

// ── 2. frozen server ──

interface Outcome {
  readonly ok: boolean;
  readonly ms: number;
  readonly error?: string;
}

/** A call's outcome; one unanswered after HUNG_MS is `hung` (it may settle later, after the thaw). */
function timed(p: () => Promise<unknown>): Promise<Outcome> {
  const t0 = performance.now();
  return Promise.race([
    p().then(
      () => ({ ok: true, ms: performance.now() - t0 }),
      (err: unknown) => ({ ok: false, ms: performance.now() - t0, error: (err as { code?: string }).code ?? (err as Error).message }),
    ),
    sleep(HUNG_MS).then(() => ({ ok: false, ms: HUNG_MS, error: 'hung' })),
  ]);
}

const describe = (o: Outcome): string => (o.error === 'hung' ? `hung (> ${HUNG_MS / 1000} s)` : o.ok ? `ok in ${o.ms.toFixed(0)} ms` : `fails in ${(o.ms / 1000).toFixed(2)} s (${o.error})`);

interface FrozenResult {
  readonly deadMs: number | undefined;
  readonly at7: Outcome;
  readonly at12: Outcome;
}

async function frozenOnce(server: PostgresServer): Promise<Record<string, FrozenResult & { note: string }>> {
  const heartbeat = { intervalMs: 1000, maxTimeoutMs: 1000 };
  const ww = wirewardenSide('wirewarden', server, {
    min: IDLE, max: IDLE, heartbeat, acquireTimeoutMs: 1000, connectTimeoutMs: 1000, handshakeTimeoutMs: 1000,
  });
  const plain = pgPoolSide('pg.Pool (defaults)', server, { max: IDLE });
  const timed1s = pgPoolSide('pg.Pool (connectionTimeoutMillis 1000)', server, { max: IDLE, connectionTimeoutMillis: 1000 });
  const sides = [ww, plain, timed1s];
  try {
    // Warm: every pool holds IDLE idle connections (pg-pool opens one per concurrent call).
    await Promise.all(sides.flatMap((s) => Array.from({ length: IDLE }, () => s.query())));
    await until(() => ww.pool.stats().open === IDLE && ww.pool.connections().every((c) => c.rttMs !== undefined), 10_000);
    const t0 = Date.now();
    server.freezeServer();
    // What each pool would hand the caller: its idle connections just before the call.
    const idleAt = new Map<string, number[]>(sides.map((s) => [s.name, []]));
    const idle = (s: Side): number => (s === ww ? ww.pool.stats().idle : (s as typeof plain).pool.idleCount);
    const at = (ms: number, s: Side): Promise<Outcome> => sleep(ms - (Date.now() - t0)).then(() => {
      idleAt.get(s.name)!.push(idle(s));
      return timed(() => s.query());
    });
    const calls = sides.map((s) => Promise.all([at(7000, s), at(12_000, s)]));
    const outcomes = await Promise.all(calls);
    const deadMs = (times: number[]): number | undefined => (times.length >= IDLE ? times[IDLE - 1]! - t0 : undefined);
    const note = (s: Side): string => `idle connections offered at +7 s / +12 s: ${idleAt.get(s.name)!.join(' / ')}`;
    return {
      [ww.name]: { deadMs: deadMs(ww.deaths), at7: outcomes[0]![0], at12: outcomes[0]![1], note: note(ww) },
      [plain.name]: { deadMs: undefined, at7: outcomes[1]![0], at12: outcomes[1]![1], note: note(plain) },
      [timed1s.name]: { deadMs: undefined, at7: outcomes[2]![0], at12: outcomes[2]![1], note: note(timed1s) },
    };
  } finally {
    server.thaw();
    // Hung pg-pool calls settle after the thaw; then close.
    await sleep(500);
    for (const s of sides) await s.close().catch(() => {});
  }
}

async function frozen(server: PostgresServer): Promise<void> {
  const runs: Awaited<ReturnType<typeof frozenOnce>>[] = [];
  for (let run = 0; run < RUNS; run++) runs.push(await frozenOnce(server));
  console.log(`\n2. Frozen server (postmaster + backends SIGSTOPped), pools idle with ${IDLE} connections, median of ${RUNS}`);
  console.log('| pool | all connections reported dead | caller at +7 s | caller at +12 s | notes (last run) |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const name of Object.keys(runs[0]!)) {
    const rs = runs.map((r) => r[name]!);
    const dead = rs.map((r) => r.deadMs).filter((d): d is number => d !== undefined);
    const deadText = dead.length === rs.length ? `${(median(dead) / 1000).toFixed(2)} s (${dead.map((d) => (d / 1000).toFixed(2)).join(', ')})` : dead.length === 0 ? 'never' : `${dead.length}/${rs.length} runs`;
    const pick = (k: 'at7' | 'at12'): string => describe(rs.map((r) => r[k]).sort((a, b) => a.ms - b.ms)[Math.floor(rs.length / 2)]!);
    console.log(`| ${name} | ${deadText} | ${pick('at7')} | ${pick('at12')} | ${rs.at(-1)!.note} |`);
  }
}

// ── 3. restart recovery ──

async function restartOnce(server: PostgresServer): Promise<Record<string, { firstOkMs: number | undefined; failed: number }>> {
  const ww = wirewardenSide('wirewarden', server, { min: IDLE, max: IDLE, acquireTimeoutMs: 30_000 });
  const plain = pgPoolSide('pg.Pool', server, { max: IDLE });
  const sides = [ww, plain];
  try {
    await Promise.all(sides.flatMap((s) => Array.from({ length: IDLE }, () => s.query())));
    await until(() => ww.pool.stats().open === IDLE, 10_000);
    let backAt = 0;
    let stop = false;
    const firstOk = new Map<string, number>();
    const failed = new Map<string, number>(sides.map((s) => [s.name, 0]));
    const loops = sides.flatMap((s) => Array.from({ length: IDLE }, async () => {
      while (!stop) {
        try {
          await s.query();
          if (backAt > 0 && !firstOk.has(s.name)) firstOk.set(s.name, Date.now() - backAt);
        } catch {
          failed.set(s.name, failed.get(s.name)! + 1);
          await sleep(10); // no tight loop while connects are refused
        }
      }
    }));
    await server.restart();
    backAt = Date.now();
    await until(() => firstOk.size === sides.length, 15_000);
    stop = true;
    await Promise.all(loops);
    return Object.fromEntries(sides.map((s) => [s.name, { firstOkMs: firstOk.get(s.name), failed: failed.get(s.name)! }]));
  } finally {
    for (const s of sides) await s.close();
  }
}

async function restart(server: PostgresServer): Promise<void> {
  const runs: Awaited<ReturnType<typeof restartOnce>>[] = [];
  for (let run = 0; run < RUNS; run++) runs.push(await restartOnce(server));
  console.log(`\n3. pg_ctl restart -m fast: server back → first successful query, ${IDLE} callers per pool, median of ${RUNS}`);
  console.log('| pool | first query after the server is back | failed calls during the restart (median) |');
  console.log('| --- | --- | --- |');
  for (const name of Object.keys(runs[0]!)) {
    const ms = runs.map((r) => r[name]!.firstOkMs ?? Number.NaN);
    console.log(`| ${name} | ${median(ms).toFixed(0)} ms (${ms.map((m) => m.toFixed(0)).join(', ')}) | ${median(runs.map((r) => r[name]!.failed))} |`);
  }
}

const server = await startPostgres();
try {
  const [version] = await server.query<{ server_version: string }>('SHOW server_version');
  console.log(`PostgreSQL ${version!.server_version}, pg ${(await import('pg/package.json', { with: { type: 'json' } })).default.version}, Node ${process.version}, ${availableParallelism()} cores (${cpus()[0]?.model.trim()}), load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  if (runs('throughput')) await throughput(server);
  if (runs('frozen')) await frozen(server);
  if (runs('restart')) await restart(server);
} finally {
  server.thaw();
  await server.stop();
}
