/**
 * Redis liveness side by side: a wirewarden pool (`resp()`, typical heartbeat) and
 * ioredis clients (defaults plus `commandTimeout`, as users configure them) against the
 * same real redis-server on loopback, in one run:
 *
 * 1. **Frozen Redis** (SIGSTOP): how long until each client knows its connections are
 *    dead, and what happens to a GET sent at the freeze. ioredis has no heartbeat: a
 *    frozen process's kernel still ACKs TCP keepalives, so it is reported as "not
 *    detected within N s" unless a connection closes.
 * 2. **Stalled Redis** (`DEBUG SLEEP` 1, 2, 3 s, as a fork or a slow script stalls it):
 *    connections each client killed (false deaths) and whether a GET sent during the
 *    stall succeeded.
 * 3. **Short outages** (SIGKILL, down 2 s, restart; several in a row): time from the
 *    server answering again until a GET succeeds, and until all N connections are back.
 *
 * Both sides hold N connections (a pool of `min = max = N`; N ioredis clients) and use
 * the same command timeout (wirewarden's `requestTimeoutMs`, ioredis's
 * `commandTimeout`), so the heartbeat is the difference. The server comes from the test
 * harness (test/helpers/redis-server.ts: Debian's redis-server on a free port).
 *
 * Run: `npx tsx bench/redis.ts` or `npx tsx src/cli.ts bench redis`. Options:
 * `--quick --runs 3 --connections 4 --interval-ms 1000 --command-timeout-ms 5000 --outages 5`.
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { createRuntime, resp, type Pool, type RespSession, type Runtime } from '../src/index.js';
import { startRedis, type RedisServer } from '../test/helpers/redis-server.js';
import { median } from './helpers/storm-stats.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    connections: { type: 'string', default: '4' },
    'interval-ms': { type: 'string', default: '1000' },
    'command-timeout-ms': { type: 'string', default: '5000' },
    outages: { type: 'string' },
  },
  strict: true,
});
const QUICK = values.quick;
const RUNS = Number(values.runs ?? (QUICK ? 1 : 3));
const N = Number(values.connections);
const INTERVAL_MS = Number(values['interval-ms']);
const COMMAND_TIMEOUT_MS = Number(values['command-timeout-ms']);
const OUTAGES = Number(values.outages ?? (QUICK ? 3 : 5));
const DOWN_MS = 2000;
const OUTAGE_GAP_MS = QUICK ? 3000 : 5000;
const STALLS_S = [1, 2, 3];
/** How long a frozen server is watched for deaths. */
const FREEZE_LIMIT_MS = QUICK ? 10_000 : 12_000;

for (const [name, v, min] of [['--runs', RUNS, 1], ['--connections', N, 1], ['--interval-ms', INTERVAL_MS, 1],
  ['--command-timeout-ms', COMMAND_TIMEOUT_MS, 1], ['--outages', OUTAGES, 1]] as const) {
  if (!Number.isInteger(v) || v < min) {
    process.stderr.write(`${name} must be an integer >= ${min}, got ${String(v)}\n`);
    process.exit(1);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 10 ms; false when `limitMs` passed first. */
async function until(cond: () => boolean, limitMs: number): Promise<boolean> {
  const end = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > end) return false;
    await sleep(10);
  }
  return true;
}

/** A GET's outcome: how long it took and whether it got a reply. */
interface Outcome {
  readonly ok: boolean;
  readonly ms: number;
  readonly error?: string;
}

async function timed(p: () => Promise<unknown>): Promise<Outcome> {
  const t0 = performance.now();
  try {
    await p();
    return { ok: true, ms: performance.now() - t0 };
  } catch (err) {
    return { ok: false, ms: performance.now() - t0, error: (err as { code?: string }).code ?? (err as Error).message };
  }
}

/** One client library holding N connections to the server. */
interface Side {
  readonly name: string;
  /** Times (Date.now()) at which a connection was found dead / closed. */
  readonly deaths: number[];
  get(key: string): Promise<unknown>;
  /** Connections usable now. */
  live(): number;
  /** Every connection ready (and, for wirewarden, heartbeated once). */
  warm(): boolean;
  close(): Promise<void>;
}

function wirewardenSide(server: RedisServer): Side {
  const rt: Runtime = createRuntime();
  const pool: Pool<RespSession> = rt.createPool({
    endpoints: [server.endpoint],
    protocol: resp({ requestTimeoutMs: COMMAND_TIMEOUT_MS }),
    min: N,
    max: N,
    acquireTimeoutMs: 60_000,
    heartbeat: { intervalMs: INTERVAL_MS },
  });
  const deaths: number[] = [];
  pool.events$.subscribe((e) => {
    if (e.type === 'connection-closed' && e.reason === 'dead') deaths.push(Date.now());
  });
  return {
    name: 'wirewarden',
    deaths,
    get: (key) => pool.use((conn) => conn.command(['GET', key])),
    live: () => pool.stats().open,
    warm: () => pool.stats().open === N && pool.connections().every((c) => c.rttMs !== undefined),
    close: () => rt.shutdown(),
  };
}

function ioredisSide(server: RedisServer): Side {
  const deaths: number[] = [];
  const clients = Array.from({ length: N }, () => {
    const client = new Redis({ host: server.host, port: server.port, commandTimeout: COMMAND_TIMEOUT_MS });
    client.on('error', () => {}); // reported through 'close'; an unhandled 'error' is only logged
    client.on('close', () => deaths.push(Date.now()));
    return client;
  });
  return {
    name: 'ioredis',
    deaths,
    get: (key) => clients[0]!.get(key),
    live: () => clients.filter((c) => c.status === 'ready').length,
    warm: () => clients.every((c) => c.status === 'ready'),
    close: async () => {
      for (const c of clients) c.disconnect();
    },
  };
}

/**
 * Runs one scenario on a fresh server with both sides warmed up (every connection ready
 * and heartbeated), then closes everything.
 */
async function withClients<T>(body: (server: RedisServer, sides: Side[]) => Promise<T>): Promise<T> {
  const server = await startRedis();
  const sides: Side[] = [];
  try {
    await server.command(['SET', 'k', 'v']);
    sides.push(wirewardenSide(server), ioredisSide(server));
    if (!(await until(() => sides.every((s) => s.warm()), 30_000))) throw new Error('the clients did not connect within 30 s');
    await sleep(2 * INTERVAL_MS); // RTT samples: probe timeouts have adapted
    return await body(server, sides);
  } finally {
    server.thaw();
    for (const s of sides) await s.close();
    await server.stop();
  }
}

// ── 1. frozen Redis ──

interface FreezeResult {
  /** Freeze → the N-th connection found dead; undefined when not within the limit. */
  readonly allDeadMs: number | undefined;
  readonly firstDeadMs: number | undefined;
  readonly get: Outcome;
}

function frozen(): Promise<Record<string, FreezeResult>> {
  return withClients(async (server, sides) => {
    const before = sides.map((s) => s.deaths.length);
    server.freeze();
    const t0 = Date.now();
    const gets = sides.map((s) => timed(() => s.get('k')));
    await until(() => sides.every((s, i) => s.deaths.length - before[i]! >= N), FREEZE_LIMIT_MS);
    const out: Record<string, FreezeResult> = {};
    for (const [i, s] of sides.entries()) {
      const d = s.deaths.slice(before[i]!).map((t) => t - t0);
      out[s.name] = { allDeadMs: d.length >= N ? d[N - 1] : undefined, firstDeadMs: d[0], get: await gets[i]! };
    }
    return out;
  });
}

// ── 2. stalled Redis ──

interface StallResult {
  readonly died: number;
  readonly get: Outcome;
}

function stalls(): Promise<Record<string, StallResult>[]> {
  return withClients(async (server, sides) => {
    const rows: Record<string, StallResult>[] = [];
    for (const seconds of STALLS_S) {
      const before = sides.map((s) => s.deaths.length);
      const stall = server.command(['DEBUG', 'SLEEP', seconds], seconds * 1000 + 10_000);
      await sleep(100); // the server is asleep now
      const gets = await Promise.all(sides.map((s) => timed(() => s.get('k'))));
      await stall;
      // Deaths come during the stall; after it, wait for every side to be whole again.
      await sleep(INTERVAL_MS);
      await until(() => sides.every((s) => s.live() === N), 30_000);
      rows.push(Object.fromEntries(sides.map((s, i) => [s.name, { died: s.deaths.length - before[i]!, get: gets[i]! }])));
    }
    return rows;
  });
}

// ── 3. short outages ──

interface OutageResult {
  /** Server answering again → a GET succeeded. */
  readonly servedMs: number;
  /** Server answering again → N connections usable. */
  readonly allBackMs: number;
}

async function serveAgain(side: Side, back: number): Promise<OutageResult> {
  let servedMs = Number.NaN;
  while (Number.isNaN(servedMs) && Date.now() - back < 60_000) {
    const r = await timed(() => side.get('k'));
    if (r.ok) servedMs = Date.now() - back;
    else await sleep(10);
  }
  await until(() => side.live() === N, 60_000 - (Date.now() - back));
  return { servedMs, allBackMs: side.live() === N ? Date.now() - back : Number.NaN };
}

function outages(): Promise<Record<string, OutageResult[]>> {
  return withClients(async (server, sides) => {
    const out: Record<string, OutageResult[]> = Object.fromEntries(sides.map((s) => [s.name, []]));
    for (let k = 0; k < OUTAGES; k++) {
      await sleep(OUTAGE_GAP_MS);
      await server.kill();
      await sleep(DOWN_MS);
      await server.restart(); // resolves once the new process answers
      const back = Date.now();
      const results = await Promise.all(sides.map((s) => serveAgain(s, back)));
      for (const [i, s] of sides.entries()) out[s.name]!.push(results[i]!);
      process.stdout.write(`  outage ${k + 1}: ${sides.map((s, i) => `${s.name} served after ${fmt(results[i]!.servedMs)} ms, all back ${fmt(results[i]!.allBackMs)} ms`).join('; ')}\n`);
    }
    return out;
  });
}

// ── report ──

const fmt = (n: number | undefined, digits = 0): string => (n !== undefined && Number.isFinite(n) ? n.toFixed(digits) : '—');
const secs = (ms: number | undefined): string => (ms === undefined || !Number.isFinite(ms) ? '—' : `${(ms / 1000).toFixed(2)} s`);
const getText = (o: Outcome): string => (o.ok ? `ok after ${secs(o.ms)}` : `failed after ${secs(o.ms)} (${o.error})`);
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

process.stdout.write(
  `redis liveness: ${N} connections per client, wirewarden heartbeat intervalMs ${INTERVAL_MS} (other heartbeat options default), ` +
    `command timeout ${COMMAND_TIMEOUT_MS} ms on both, ${RUNS} run(s), ${OUTAGES} outages of ${DOWN_MS} ms\n` +
    `machine: nproc ${availableParallelism()}, node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, load ${load()}\n`,
);

const names = ['wirewarden', 'ioredis'];
const freezes: Record<string, FreezeResult>[] = [];
const stallRuns: Record<string, StallResult>[][] = [];
for (let r = 0; r < RUNS; r++) {
  const f = await frozen();
  freezes.push(f);
  process.stdout.write(`run ${r + 1} freeze: ${names.map((n) => `${n} all ${N} dead ${secs(f[n]!.allDeadMs)}, GET ${getText(f[n]!.get)}`).join('; ')}\n`);
  const s = await stalls();
  stallRuns.push(s);
  process.stdout.write(`run ${r + 1} stalls: ${s.map((row, i) => `${STALLS_S[i]} s: ${names.map((n) => `${n} ${row[n]!.died} died, GET ${getText(row[n]!.get)}`).join(', ')}`).join(' | ')}\n`);
}
process.stdout.write('outages:\n');
const outageRuns = await outages();

const detection = (n: string): string => {
  const all = freezes.map((f) => f[n]!.allDeadMs);
  const found = all.filter((x): x is number => x !== undefined);
  const firsts = freezes.map((f) => f[n]!.firstDeadMs).filter((x): x is number => x !== undefined);
  const first = firsts.length === 0 ? 'no connection closed' : `first after ${secs(median(firsts))}`;
  if (found.length === 0) return `not detected within ${FREEZE_LIMIT_MS / 1000} s (${first})`;
  const missed = found.length < all.length ? `; ${all.length - found.length} of ${all.length} runs not within ${FREEZE_LIMIT_MS / 1000} s` : '';
  return `${secs(median(found))} (${first}${missed})`;
};
const freezeGet = (n: string): string => {
  const gets = freezes.map((f) => f[n]!.get);
  const failed = gets.filter((g) => !g.ok);
  return failed.length > 0
    ? `fails after ${secs(median(failed.map((g) => g.ms)))} (${[...new Set(failed.map((g) => g.error))].join(', ')})`
    : `answered after ${secs(median(gets.map((g) => g.ms)))}`;
};
const stallCell = (i: number, n: string): string => {
  const runs = stallRuns.map((s) => s[i]![n]!);
  const died = runs.map((x) => x.died);
  const ok = runs.filter((x) => x.get.ok).length;
  return `${died.join(' / ')} of ${N} died; GET ok ${ok}/${runs.length}` + (ok < runs.length ? ` (${[...new Set(runs.filter((x) => !x.get.ok).map((x) => x.get.error))].join(', ')})` : '');
};
const outageCell = (n: string, f: (o: OutageResult) => number): string => {
  const xs = outageRuns[n]!.map(f);
  return `${secs(median(xs))} (max ${secs(Math.max(...xs))})`;
};

process.stdout.write(
  `\n| scenario | wirewarden (heartbeat ${INTERVAL_MS} ms, requestTimeoutMs ${COMMAND_TIMEOUT_MS}) | ioredis (defaults, commandTimeout ${COMMAND_TIMEOUT_MS}) |\n` +
    '| --- | --- | --- |\n' +
    `| frozen (SIGSTOP): all ${N} connections known dead, median of ${RUNS} | ${detection('wirewarden')} | ${detection('ioredis')} |\n` +
    `| frozen: a GET sent at the freeze | ${freezeGet('wirewarden')} | ${freezeGet('ioredis')} |\n` +
    STALLS_S.map((s, i) => `| DEBUG SLEEP ${s}: connections died (per run); GET sent during it | ${stallCell(i, 'wirewarden')} | ${stallCell(i, 'ioredis')} |\n`).join('') +
    `| ${OUTAGES} outages (kill, ${DOWN_MS / 1000} s down): server answering → GET served, median | ${outageCell('wirewarden', (o) => o.servedMs)} | ${outageCell('ioredis', (o) => o.servedMs)} |\n` +
    `| same: server answering → all ${N} connections back, median | ${outageCell('wirewarden', (o) => o.allBackMs)} | ${outageCell('ioredis', (o) => o.allBackMs)} |\n`,
);
