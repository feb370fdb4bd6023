/**
 * Reconnect storm: 10k supervised connections (one one-for-one supervisor, permanent
 * children, exponential backoff 100 ms .. 2 s, ×2) against a wire server in a child
 * process, which is killed (SIGKILL) and restarted on the same port after ~1 s. Measured
 * from the restart: time until all 10k are `ready` again, and dial starts per 100 ms
 * (peak, mean over the recovery window, peak/mean), with `jitter: 'full'`, `'phased'` and
 * `'none'` side by side in one run, each repeated (medians reported).
 *
 * Bars: all ready within `maxMs + 2 s`; peak/mean ≤ 1.5 with jitter. Full jitter cannot
 * meet the second one (the residual of a uniform delay falls linearly, so peak/mean ≥ 2,
 * see `helpers/storm-model.ts`); phased jitter (one phase per child) is built to, and the
 * bar is checked on it, with full jitter's figure beside it.
 *
 * Each storm gets a fresh server port below the ephemeral range (32768–60999): the
 * previous storm's sockets linger in TIME_WAIT on theirs, and a port inside the range
 * could be taken by one of our own outgoing connections while the server is down. Modes
 * alternate order from one repetition to the next, and a smaller unrecorded storm warms
 * the JIT first.
 *
 * Run: `npx tsx --expose-gc bench/reconnect-storm.ts` or `npx tsx src/cli.ts bench
 * reconnect-storm`. Options: `--connections 10000 --runs 3 --down-ms 1000 --quick`.
 * Needs `ulimit -n` ≥ connections + 1024 (each side of the loopback holds one fd per
 * connection; the server is another process with its own limit).
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { exponentialBackoff, type Jitter } from '../src/supervisor/backoff.js';
import { modelRecovery } from './helpers/storm-model.js';
import { runStorm, type StormOptions, type StormRun } from './helpers/storm-run.js';
import { median, type DialRate } from './helpers/storm-stats.js';

const { values } = parseArgs({
  options: {
    connections: { type: 'string' },
    runs: { type: 'string' },
    'down-ms': { type: 'string', default: '1000' },
    quick: { type: 'boolean', default: false },
  },
  strict: true,
});
const quick = values.quick;
const CONNECTIONS = Number(values.connections ?? (quick ? 2000 : 10_000));
const RUNS = Number(values.runs ?? (quick ? 1 : 3));
const DOWN_MS = Number(values['down-ms']);
const INITIAL_MS = 100;
const MAX_MS = 2000;
const BUCKET_MS = 100;
const FD_HEADROOM = 1024;
const MODES: readonly Jitter[] = ['full', 'phased', 'none'];

for (const [name, v, min] of [['--connections', CONNECTIONS, 1], ['--runs', RUNS, 1], ['--down-ms', DOWN_MS, 0]] as const) {
  if (!Number.isInteger(v) || v < min) {
    process.stderr.write(`${name} must be an integer >= ${min}, got ${String(v)}\n`);
    process.exit(1);
  }
}

/** The soft fd limit this process inherited (what a shell's `ulimit -n` says). */
function fdLimit(): number {
  try {
    const out = execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
    return out === 'unlimited' ? Number.POSITIVE_INFINITY : Number(out);
  } catch {
    return Number.NaN;
  }
}

const limit = fdLimit();
if (!(limit >= CONNECTIONS + FD_HEADROOM)) {
  process.stderr.write(
    `reconnect-storm needs ulimit -n >= ${CONNECTIONS + FD_HEADROOM} (${CONNECTIONS} connections + ${FD_HEADROOM} spare), ` +
      `this shell allows ${String(limit)}.\nRaise it for this shell (ulimit -n ${CONNECTIONS + FD_HEADROOM}) or run fewer ` +
      `connections (--connections ${Math.max(1, Math.floor((Number.isFinite(limit) ? limit : 0) - FD_HEADROOM))}).\n`,
  );
  process.exit(1);
}
if (typeof globalThis.gc !== 'function') process.stdout.write('note: run with --expose-gc for steadier heap figures\n');

/** A port below the ephemeral range, different for every storm. */
let nextPort = 20_000 + Math.floor(Math.random() * 6000);
async function storm(jitter: Jitter, connections: number): Promise<StormRun> {
  for (let tries = 0; ; tries++) {
    const port = nextPort;
    nextPort = nextPort >= 32_000 ? 20_000 : nextPort + 7;
    const options: StormOptions = {
      connections, jitter, initialMs: INITIAL_MS, maxMs: MAX_MS, downMs: DOWN_MS, bucketMs: BUCKET_MS, port, phaseLimitMs: 60_000,
    };
    try {
      return await runStorm(options);
    } catch (err) {
      // Another program holds the port: take the next one.
      if (tries < 5 && String(err).includes('EADDRINUSE')) continue;
      throw err;
    }
  }
}

const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toFixed(digits) : '—');
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

process.stdout.write(
  `reconnect storm: ${CONNECTIONS} connections, backoff ${INITIAL_MS}..${MAX_MS} ms ×2, down ~${DOWN_MS} ms, ${RUNS} run(s) per mode\n` +
    `machine: nproc ${availableParallelism()}, node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, load ${load()}\n`,
);

process.stdout.write('warm-up (not recorded)…\n');
await storm('full', Math.min(CONNECTIONS, 2000));

/** A measured storm and what a perfect client would have done in the same outage. */
interface Result {
  readonly run: StormRun;
  readonly model: DialRate;
}

const results: Record<string, Result[]> = Object.fromEntries(MODES.map((m) => [m, []]));
for (let r = 0; r < RUNS; r++) {
  for (const jitter of r % 2 === 0 ? MODES : [...MODES].reverse()) {
    globalThis.gc?.();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const run = await storm(jitter, CONNECTIONS);
    const policy = exponentialBackoff({ initialMs: INITIAL_MS, maxMs: MAX_MS, multiplier: 2, jitter });
    const model = modelRecovery(CONNECTIONS, policy, run.downMs, BUCKET_MS, r + 1);
    results[jitter]!.push({ run, model });
    process.stdout.write(
      `run ${r + 1} ${jitter.padEnd(6)}: start ${fmt(run.startMs)} ms, all ready ${fmt(run.initialReadyMs)} ms ` +
        `(${fmt(run.startCpuUs)} µs CPU/conn), down ${fmt(run.downMs)} ms (${run.outageDials} refused dials), ` +
        `recovery ${fmt(run.recoveryMs)} ms (${fmt(run.stormCpuUs)} µs CPU/conn since the kill), ` +
        `dials/100 ms peak ${run.rate.peak} mean ${fmt(run.rate.mean)} (×${fmt(run.rate.peakToMean, 2)}), ` +
        `ELU ${fmt(run.recoveryElu, 2)}, server CPU ${fmt(run.serverCpuMs)} ms, ` +
        `heap ${fmt(run.heapBytesPerConnection / 1024, 1)} KiB/conn, load ${load()}\n` +
        `    dials per 100 ms: ${run.rate.buckets.join(' ')}\n` +
        `    exits after the server was back: ${Object.entries(run.recoveryExits).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}\n` +
        `    model (a client with no CPU cost, same outage): peak ${model.peak} mean ${fmt(model.mean)} (×${fmt(model.peakToMean, 2)}), ` +
        `all dialed within ${fmt(model.buckets.length * BUCKET_MS)} ms: ${model.buckets.join(' ')}\n`,
    );
  }
}

const bar = MAX_MS + 2000;
const pct = (n: number): string => `${fmt((100 * n) / CONNECTIONS)} %`;
const rows = MODES.map((jitter) => {
  const runs = results[jitter]!.map((r) => r.run);
  const models = results[jitter]!.map((r) => r.model);
  const m = (f: (r: StormRun) => number): number => median(runs.map(f));
  const range = (f: (r: StormRun) => number): string => `${fmt(Math.min(...runs.map(f)))}–${fmt(Math.max(...runs.map(f)))}`;
  return {
    jitter,
    start: m((r) => r.startMs),
    initial: m((r) => r.initialReadyMs),
    startCpu: m((r) => r.startCpuUs),
    down: m((r) => r.downMs),
    outageDials: m((r) => r.outageDials),
    recovery: m((r) => r.recoveryMs),
    recoveryRange: range((r) => r.recoveryMs),
    stormCpu: m((r) => r.stormCpuUs),
    peak: m((r) => r.rate.peak),
    mean: m((r) => r.rate.mean),
    ratio: m((r) => r.rate.peakToMean),
    elu: m((r) => r.recoveryElu),
    modelPeak: median(models.map((d) => d.peak)),
    modelRatio: median(models.map((d) => d.peakToMean)),
    modelSpanMs: median(models.map((d) => d.buckets.length * BUCKET_MS)),
  };
});

process.stdout.write(
  `\nmedians of ${RUNS} run(s) per mode:\n\n` +
    '| jitter | start N actors | all ready at start | CPU/conn | down | refused dials | recovery: all ready | range | CPU/conn since kill | dials/100 ms: peak | mean | peak/mean | ELU | model: peak | peak/mean | all dialed within |\n' +
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n' +
    rows
      .map((r) =>
        `| ${r.jitter} | ${fmt(r.start)} ms | ${fmt(r.initial)} ms | ${fmt(r.startCpu)} µs | ${fmt(r.down)} ms | ${fmt(r.outageDials)} | ` +
        `**${fmt(r.recovery)} ms** | ${r.recoveryRange} ms | ${fmt(r.stormCpu)} µs | ${fmt(r.peak)} (${pct(r.peak)}) | ${fmt(r.mean)} | ` +
        `**${fmt(r.ratio, 2)}** | ${fmt(r.elu, 2)} | ${fmt(r.modelPeak)} (${pct(r.modelPeak)}) | ${fmt(r.modelRatio, 2)} | ${fmt(r.modelSpanMs)} ms |`)
      .join('\n') +
    '\n\n',
);
const row = (jitter: Jitter) => rows.find((r) => r.jitter === jitter)!;
const [full, phased, none] = [row('full'), row('phased'), row('none')];
const verdict = (ok: boolean): string => (ok ? 'PASS' : 'FAIL');
process.stdout.write(
  `bar: all ready within maxMs + 2 s = ${bar} ms — ` +
    rows.map((r) => `${r.jitter} ${fmt(r.recovery)} ms ${verdict(r.recovery <= bar)}`).join(', ') + '\n' +
    `bar: peak/mean <= 1.5 with jitter — phased ${fmt(phased.ratio, 2)} ${verdict(phased.ratio <= 1.5)} ` +
    `(a client with no CPU cost: ${fmt(phased.modelRatio, 2)}); full ${fmt(full.ratio, 2)} ${verdict(full.ratio <= 1.5)} ` +
    `(no CPU cost: ${fmt(full.modelRatio, 2)}, >= 2 by construction); no jitter: ${fmt(none.ratio, 2)}, ` +
    `model peak ${pct(none.modelPeak)} of N in 100 ms\n`,
);
