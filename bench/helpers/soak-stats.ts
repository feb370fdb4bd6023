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
 * The heap trend of the samples taken at or after `warmupS`.
 *
 * @example
 * heapTrend([{ atS: 60, heapBytes: 10e6, … }, { atS: 660, heapBytes: 10.1e6, … }], 60).percentPer10Min // 1
 */
export function heapTrend(samples: readonly HeapSample[], warmupS: number): HeapTrend {
  const after = samples.filter((s) => s.atS >= warmupS);
  const baselineBytes = after[0]?.heapBytes ?? 0;
  const slopeBytesPerS = leastSquaresSlope(after.map((s) => ({ x: s.atS, y: s.heapBytes })));
  return {
    samples: after.length,
    baselineBytes,
    slopeBytesPerS,
    percentPer10Min: baselineBytes === 0 ? 0 : (slopeBytesPerS * 600 * 100) / baselineBytes,
  };
}
