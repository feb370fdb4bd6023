/**
 * A classic (Prometheus) histogram cell: cumulative counts per upper bound, a sum and a
 * count, kept by wirewarden itself rather than by prom-client. `observe` is a short loop
 * over a `Float64Array` with no allocation and no label hashing (prom-client's
 * `Histogram.observe` hashes its labels object on every call, ~1 µs); the labels are
 * resolved once per series, and prom-client only reads the cells when scraped.
 *
 * Buckets are in seconds (Prometheus base units) and must be strictly increasing; `+Inf`
 * is implicit (the count).
 */
/** Probe round trips: loopback (sub-millisecond) to a slow WAN path. */
export const RTT_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
]);

/** Last byte to dead: bounded below by the suspicion window (seconds by default). */
export const DETECTION_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 60,
]);

/** Time a queued acquire waited for a connection (prom-client's default buckets, 1 ms below). */
export const WAIT_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

export class HistogramCell {
  /** Upper bounds, seconds, increasing. */
  readonly bounds: readonly number[];
  /** Non-cumulative counts per bound (cumulated when read). */
  readonly #counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.#counts = new Float64Array(bounds.length);
  }

  observe(seconds: number): void {
    const bounds = this.bounds;
    this.sum += seconds;
    this.count++;
    for (let i = 0; i < bounds.length; i++) {
      if (seconds <= bounds[i]!) {
        this.#counts[i]!++;
        return;
      }
    }
  }

  /** Counts per bucket, not cumulated, with the overflow (> last bound) last: OpenTelemetry's layout. */
  bucketCounts(): number[] {
    const out = Array.from(this.#counts);
    let inBounds = 0;
    for (const c of out) inBounds += c;
    out.push(this.count - inBounds);
    return out;
  }

  /** Cumulative counts per bound, as Prometheus reports them (`le`). */
  cumulative(): number[] {
    const out = new Array<number>(this.bounds.length);
    let acc = 0;
    for (let i = 0; i < this.bounds.length; i++) out[i] = acc += this.#counts[i]!;
    return out;
  }
}
