/**
 * Closed-loop throughput for the dispatch benches: `callers` concurrent callers each await
 * one operation, then start the next, until `ops` operations completed. Contenders are
 * measured in rounds (order rotated each round, round 0 discarded as warm-up), so drift
 * and GC hit them alike, and each contender's throughput is compared with the baseline's
 * in the same round: the median of those per-round ratios is what the bars read.
 */
import { median } from './storm-stats.js';

export interface Contender {
  readonly name: string;
  /** Builds the client (connections open and warm); `op` is one operation. */
  open(): Promise<{ op: (caller: number, i: number) => Promise<unknown>; close(): Promise<void> }>;
}

/** Ops per second of `callers` closed loops running `op` until `ops` completed. */
export async function closedLoop(op: (caller: number, i: number) => Promise<unknown>, callers: number, ops: number): Promise<number> {
  let started = 0;
  const caller = async (c: number) => {
    while (started < ops) await op(c, started++);
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: callers }, (_, c) => caller(c)));
  return ops / ((performance.now() - t0) / 1000);
}

export interface RoundsResult {
  /** Ops/s per contender, one per measured round. */
  readonly opsPerSec: Map<string, number[]>;
}

export async function rounds(contenders: readonly Contender[], runs: number, callers: number, ops: number, log = false): Promise<RoundsResult> {
  const opsPerSec = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (let round = 0; round <= runs; round++) {
    const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]!);
    for (const c of order) {
      const client = await c.open();
      try {
        const rate = await closedLoop(client.op, callers, ops);
        if (round > 0) opsPerSec.get(c.name)!.push(rate);
        if (log) process.stderr.write(`  round ${round}${round === 0 ? ' (warm-up)' : ''}: ${c.name} ${(rate / 1000).toFixed(1)} k/s\n`);
      } finally {
        await client.close();
      }
    }
  }
  return { opsPerSec };
}

/** Median of per-round ratios to `baseline`, with their range. */
export function ratioText(result: RoundsResult, name: string, baseline: string): string {
  const xs = result.opsPerSec.get(name)!;
  const base = result.opsPerSec.get(baseline);
  if (base === undefined) return '—';
  const r = xs.map((x, i) => x / base[i]!);
  return `${median(r).toFixed(2)}× (${Math.min(...r).toFixed(2)}–${Math.max(...r).toFixed(2)})`;
}

export function ratio(result: RoundsResult, name: string, baseline: string): number {
  const xs = result.opsPerSec.get(name)!;
  const base = result.opsPerSec.get(baseline)!;
  return median(xs.map((x, i) => x / base[i]!));
}

export const fmtRate = (opsPerSec: number): string => `${(opsPerSec / 1000).toFixed(1)} k/s`;
