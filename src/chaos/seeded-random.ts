/**
 * Seeded randomness for chaos runs: the same seed gives the same jitter, toxicity rolls
 * and backoff delays, so a simulated run replays exactly.
 *
 * mulberry32: 32 bits of state, one multiply-xorshift round per draw. It is not a
 * cryptographic generator and does not need to be; it is small, fast, and its output
 * passes the statistical tests that matter for jitter. Independent streams (runtime,
 * network, workload) are derived from one seed with `deriveSeed`, so that drawing more
 * numbers in one place (a new toxic) does not shift every other draw of the run.
 */

/**
 * A uniform generator in [0, 1) from a 32-bit seed.
 *
 * @example
 * const random = seededRandom(42);
 * random(); // 0.6011037519201636, every time
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A seed for one named stream of a run (`runtime`, `network`…), stable across versions:
 * FNV-1a of the name mixed with the run's seed.
 *
 * @example
 * const networkRandom = seededRandom(deriveSeed(seed, 'network'));
 */
export function deriveSeed(seed: number, stream: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < stream.length; i++) {
    h ^= stream.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A fresh seed for runs that were not given one (printed, so the run can be replayed). */
export function randomSeed(): number {
  return Math.floor(Math.random() * 0x1_0000_0000) >>> 0;
}
