/**
 * The circuit breaker's sliding window of call outcomes, kept in plain typed arrays so that
 * recording a call is a few integer operations: no allocation, no event, no clock read for
 * the count-based window.
 *
 *   count-based (resilience4j COUNT_BASED): the last `size` calls, a ring of outcome bits
 *     ┌───┬───┬───┬───┬───┐   each record overwrites the oldest and adjusts the totals
 *     │ F │ . │ S │FS │ . │   F failed, S slow
 *     └───┴───┴───┴───┴───┘
 *   time-based (TIME_BASED): the calls of the last `sizeMs`, in BUCKETS partial totals,
 *   each covering sizeMs / BUCKETS; a bucket is cleared when time moves past it, so the
 *   totals cover between sizeMs − sizeMs/BUCKETS and sizeMs (opossum's rolling buckets,
 *   resilience4j's partial aggregations).
 *
 * A failed call that is also slow counts in both totals (resilience4j's slow failed calls).
 */

export interface CallWindow {
  /** Calls in the window. */
  readonly calls: number;
  readonly failures: number;
  readonly slowCalls: number;
  /** Records one call at `now` (ignored by the count-based window). */
  record(failed: boolean, slow: boolean, now: number): void;
  /** Records `count` successful, fast calls at `now`: what `count` × `record(false, false, now)` would. */
  recordSuccesses(count: number, now: number): void;
  /** Drops what has aged out by `now` (a no-op for the count-based window). */
  advance(now: number): void;
  /** Forgets every call (on a state change). */
  reset(): void;
}

const FAILED = 1;
const SLOW = 2;

/** The last `size` calls. */
export class CountWindow implements CallWindow {
  readonly #ring: Uint8Array;
  #next = 0;
  calls = 0;
  failures = 0;
  slowCalls = 0;

  constructor(size: number) {
    this.#ring = new Uint8Array(size);
  }

  record(failed: boolean, slow: boolean): void {
    const ring = this.#ring;
    const i = this.#next;
    if (this.calls === ring.length) {
      const old = ring[i]!;
      if (old & FAILED) this.failures--;
      if (old & SLOW) this.slowCalls--;
    } else {
      this.calls++;
    }
    ring[i] = (failed ? FAILED : 0) | (slow ? SLOW : 0);
    if (failed) this.failures++;
    if (slow) this.slowCalls++;
    this.#next = i + 1 === ring.length ? 0 : i + 1;
  }

  recordSuccesses(count: number): void {
    // Only the last `size` calls are kept: more successes than that leave a window of successes.
    for (let n = Math.min(count, this.#ring.length); n > 0; n--) this.record(false, false);
  }

  advance(): void {}

  reset(): void {
    this.#next = 0;
    this.calls = 0;
    this.failures = 0;
    this.slowCalls = 0;
  }
}

/** Buckets per time-based window: a bucket's age is the window's resolution. */
export const BUCKETS = 10;

/** A bucket number's slot, also for times before 0 (a virtual clock may start anywhere). */
const slotOf = (bucket: number): number => ((bucket % BUCKETS) + BUCKETS) % BUCKETS;

/** The calls of the last `sizeMs`, in {@link BUCKETS} buckets. */
export class TimeWindow implements CallWindow {
  readonly #bucketMs: number;
  readonly #calls = new Int32Array(BUCKETS);
  readonly #failures = new Int32Array(BUCKETS);
  readonly #slow = new Int32Array(BUCKETS);
  /** The newest bucket's number (time / bucketMs); buckets older than head − BUCKETS + 1 are empty. */
  #head = Number.NEGATIVE_INFINITY;
  calls = 0;
  failures = 0;
  slowCalls = 0;

  constructor(sizeMs: number) {
    this.#bucketMs = sizeMs / BUCKETS;
  }

  record(failed: boolean, slow: boolean, now: number): void {
    this.advance(now);
    const slot = slotOf(this.#head);
    this.#calls[slot]!++;
    this.calls++;
    if (failed) {
      this.#failures[slot]!++;
      this.failures++;
    }
    if (slow) {
      this.#slow[slot]!++;
      this.slowCalls++;
    }
  }

  recordSuccesses(count: number, now: number): void {
    if (count <= 0) return;
    this.advance(now);
    this.#calls[slotOf(this.#head)]! += count;
    this.calls += count;
  }

  advance(now: number): void {
    const bucket = Math.floor(now / this.#bucketMs);
    if (bucket <= this.#head) return;
    // Clear every bucket between the old head and the new one (at most all of them):
    // amortised O(1) per call, whatever the gap.
    const from = Math.max(this.#head + 1, bucket - BUCKETS + 1);
    for (let b = from; b <= bucket; b++) this.#clear(slotOf(b));
    this.#head = bucket;
  }

  reset(): void {
    for (let i = 0; i < BUCKETS; i++) this.#clear(i);
  }

  #clear(slot: number): void {
    this.calls -= this.#calls[slot]!;
    this.failures -= this.#failures[slot]!;
    this.slowCalls -= this.#slow[slot]!;
    this.#calls[slot] = 0;
    this.#failures[slot] = 0;
    this.#slow[slot] = 0;
  }
}
