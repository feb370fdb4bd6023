/**
 * Closed-loop throughput for the dispatch benches: `callers` concurrent callers each await
 * one operation, then start the next, until `ops` operations completed. Contenders are
 * measured in rounds (order rotated each round, round 0 discarded as warm-up), so drift
 * and GC hit them alike, and each contender's throughput is compared with the baseline's
 * in the same round: the median of those per-round ratios is what the bars read.
 */
import { parseArgs } from 'node:util';
import { median } from './storm-stats.js';
import { threadCpuSeconds } from './thread-cpu.js';

export interface Contender {
  readonly name: string;
  /** Builds the client (connections open and warm); `op` is one operation. */
  open(): Promise<{ op: (caller: number, i: number) => Promise<unknown>; close(): Promise<void> }>;
}

/**
 * `callers` closed loops running `op` until `ops` completed: ops per wall-clock second,
 * and the client's main-thread CPU time per op in µs.
 */
export async function closedLoop(
  op: (caller: number, i: number) => Promise<unknown>, callers: number, ops: number,
): Promise<{ opsPerSec: number; cpuUsPerOp: number }> {
  let started = 0;
  const caller = async (c: number) => {
    while (started < ops) await op(c, started++);
  };
  const c0 = threadCpuSeconds();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: callers }, (_, c) => caller(c)));
  const wallS = (performance.now() - t0) / 1000;
  return { opsPerSec: ops / wallS, cpuUsPerOp: ((threadCpuSeconds() - c0) * 1e6) / ops };
}

export interface RoundsResult {
  /** Ops/s per contender, one per measured round. */
  readonly opsPerSec: Map<string, number[]>;
  /** The client's main-thread CPU µs per op, per contender and round. */
  readonly cpuUsPerOp: Map<string, number[]>;
  /** The server process's CPU µs per op (when `serverCpuMs` was given), per contender and round. */
  readonly serverUsPerOp: Map<string, number[]>;
}

/**
 * Runs every contender once per round. `serverCpuMs` (the server process's CPU time so
 * far, in ms) is read around each window, for the server's CPU per op.
 */
export async function rounds(
  contenders: readonly Contender[], runs: number, callers: number, ops: number, log = false, serverCpuMs?: () => number,
): Promise<RoundsResult> {
  const opsPerSec = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  const cpuUsPerOp = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  const serverUsPerOp = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (let round = 0; round <= runs; round++) {
    const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]!);
    for (const c of order) {
      const client = await c.open();
      try {
        const s0 = serverCpuMs?.() ?? 0;
        const r = await closedLoop(client.op, callers, ops);
        const serverUs = serverCpuMs === undefined ? Number.NaN : ((serverCpuMs() - s0) * 1000) / ops;
        if (round > 0) {
          opsPerSec.get(c.name)!.push(r.opsPerSec);
          cpuUsPerOp.get(c.name)!.push(r.cpuUsPerOp);
          serverUsPerOp.get(c.name)!.push(serverUs);
        }
        if (log) {
          process.stderr.write(`  round ${round}${round === 0 ? ' (warm-up)' : ''}: ${c.name} ${(r.opsPerSec / 1000).toFixed(1)} k/s, ${r.cpuUsPerOp.toFixed(2)} µs CPU/op\n`);
        }
      } finally {
        await client.close();
      }
    }
  }
  return { opsPerSec, cpuUsPerOp, serverUsPerOp };
}

/**
 * Requests per second this client and server could sustain with a core each, from the
 * CPU each spent per op: 1 / max(client, server). Independent of what else the machine
 * runs, unlike the wall-clock rate.
 */
export function capacity(result: RoundsResult, name: string): number {
  return 1e6 / Math.max(median(result.cpuUsPerOp.get(name)!), median(result.serverUsPerOp.get(name)!));
}

/** Median client CPU µs per op. */
export function cpuText(result: RoundsResult, name: string): string {
  return `${median(result.cpuUsPerOp.get(name)!).toFixed(2)} µs`;
}

/** Median of per-round ratios to `baseline`, with their range. */
export function ratioText(result: RoundsResult, name: string, baseline: string): string {
  const xs = result.opsPerSec.get(name)!;
  const base = result.opsPerSec.get(baseline);
  if (base === undefined) return '—';
  const r = xs.map((x, i) => x / base[i]!);
  return `${median(r).toFixed(2)}× (${Math.min(...r).toFixed(2)}–${Math.max(...r).toFixed(2)})`;
}

/** Median of per-round ratios to `baseline`; NaN when either was not run. */
export function ratio(result: RoundsResult, name: string, baseline: string): number {
  const xs = result.opsPerSec.get(name);
  const base = result.opsPerSec.get(baseline);
  if (xs === undefined || base === undefined) return Number.NaN;
  return median(xs.map((x, i) => x / base[i]!));
}

export const fmtRate = (opsPerSec: number): string => `${(opsPerSec / 1000).toFixed(1)} k/s`;

/** The flags both dispatch benches take: `--quick`, `--runs N`, `--ops N`, `--callers N`, `--only <prefix>`. */
export interface ClosedLoopArgs {
  readonly runs: number;
  readonly ops: number;
  readonly callers: number;
  readonly only: string | undefined;
}

/** Parses the dispatch benches' flags (exits with a message on a bad number). */
export function closedLoopArgs(defaultOps: number): ClosedLoopArgs {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      runs: { type: 'string' },
      ops: { type: 'string' },
      callers: { type: 'string', default: '100' },
      only: { type: 'string' },
    },
    strict: true,
  });
  const runs = Number(values.runs ?? (values.quick ? 1 : 5));
  const ops = Number(values.ops ?? (values.quick ? 20_000 : defaultOps));
  const callers = Number(values.callers);
  for (const [name, v] of [['--runs', runs], ['--ops', ops], ['--callers', callers]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      process.stderr.write(`${name} must be an integer >= 1, got ${String(v)}\n`);
      process.exit(1);
    }
  }
  return { runs, ops, callers, only: values.only };
}
