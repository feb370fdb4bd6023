/**
 * Statistics of the soak (bench/soak.ts): the heap trend after warm-up, fitted by least
 * squares, as a percentage of the post-warm-up baseline per 10 minutes.
 *
 * Why a fit and not last − first: heap after GC still moves by a few hundred KB with what
 * is in flight at the instant of the sample (pending requests in a blackhole, a pool
 * refilling after a restart). Sampling on a grid that divides the chaos cycle makes each
 * cycle's samples land on the same phases, and the fit over whole cycles averages them out.
 */

export interface HeapSample {
  /** Seconds since the load started. */
  readonly atS: number;
  /** `heapUsed` right after a forced full GC, bytes. */
  readonly heapBytes: number;
  readonly rssBytes: number;
  /** The chaos phase running at the sample. */
  readonly phase: string;
  /** Bytes used per V8 heap space (`old_space`, `code_space`, …), to tell objects from code. */
  readonly spaces: Readonly<Record<string, number>>;
  /**
   * Of `heapBytes`, what compiled code and bytecode hold with their metadata
   * (`v8.getHeapCodeStatistics()`): it grows while rarely run paths (a fault's handling, run
   * once per chaos cycle) reach the JIT's thresholds, and is no leak of the program's data.
   */
  readonly codeBytes: number;
}

/** Least-squares slope of y over x (0 for fewer than two points). */
export function leastSquaresSlope(points: ReadonlyArray<{ readonly x: number; readonly y: number }>): number {
  const n = points.length;
  if (n < 2) return 0;
  let sx = 0;
  let sy = 0;
  for (const p of points) {
    sx += p.x;
    sy += p.y;
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export interface HeapTrend {
  /** Samples the fit used (after warm-up). */
  readonly samples: number;
  /** Heap at the first sample after warm-up, bytes. */
  readonly baselineBytes: number;
  /** Fitted growth, bytes per second. */
  readonly slopeBytesPerS: number;
  /** Fitted growth over 10 minutes, as a percentage of the baseline. */
  readonly percentPer10Min: number;
}

/**
 * The heap trend of the samples taken at or after `warmupS` (of `bytes`: the whole heap by
 * default; pass `(s) => s.heapBytes - s.codeBytes` for the program's data alone).
 *
 * @example
 * heapTrend([{ atS: 60, heapBytes: 10e6, … }, { atS: 660, heapBytes: 10.1e6, … }], 60).percentPer10Min // 1
 */
export function heapTrend(samples: readonly HeapSample[], warmupS: number, bytes: (s: HeapSample) => number = (s) => s.heapBytes): HeapTrend {
  const after = samples.filter((s) => s.atS >= warmupS);
  const baselineBytes = after[0] === undefined ? 0 : bytes(after[0]);
  const slopeBytesPerS = leastSquaresSlope(after.map((s) => ({ x: s.atS, y: bytes(s) })));
  return {
    samples: after.length,
    baselineBytes,
    slopeBytesPerS,
    percentPer10Min: baselineBytes === 0 ? 0 : (slopeBytesPerS * 600 * 100) / baselineBytes,
  };
}

/** Fitted growth of each V8 heap space after warm-up, KiB per minute (which one creeps). */
export function spaceSlopes(samples: readonly HeapSample[], warmupS: number): Record<string, number> {
  const after = samples.filter((s) => s.atS >= warmupS);
  const names = Object.keys(after[0]?.spaces ?? {});
  return Object.fromEntries(
    names.map((name) => [name, +((leastSquaresSlope(after.map((s) => ({ x: s.atS, y: s.spaces[name] ?? 0 }))) * 60) / 1024).toFixed(2)]),
  );
}
