/**
 * Statistics of a reconnect storm: dial starts bucketed per `bucketMs` over a window, the
 * busiest bucket against the window's mean, and medians across runs.
 *
 * The grid is fixed (bucket 0 starts at the window's start), as a dashboard would plot a
 * dial rate. The mean divides by the window's exact length in buckets, so a last, partial
 * bucket neither inflates nor dilutes it.
 */

export interface DialRate {
  /** Dial starts per bucket, in window order. */
  readonly buckets: readonly number[];
  /** The busiest bucket. */
  readonly peak: number;
  /** Dial starts per bucket, averaged over the whole window. */
  readonly mean: number;
  /** `peak / mean`: 1 is a perfectly even spread; N buckets' worth is one synchronised burst. */
  readonly peakToMean: number;
  readonly total: number;
}

/** Buckets `times` (ms, any origin) that fall in `[start, end]`. */
export function dialRate(times: readonly number[], start: number, end: number, bucketMs: number): DialRate {
  const spanMs = Math.max(end - start, 1);
  const count = Math.ceil(spanMs / bucketMs);
  const buckets = new Array<number>(count).fill(0);
  let total = 0;
  for (const t of times) {
    if (t < start || t > end) continue;
    buckets[Math.min(count - 1, Math.floor((t - start) / bucketMs))]!++;
    total++;
  }
  const mean = total / (spanMs / bucketMs);
  const peak = Math.max(...buckets);
  return { buckets, peak, mean, peakToMean: mean > 0 ? peak / mean : 0, total };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
