/**
 * Seeded randomness for the fuzzer: every case draws from its own generator, derived from
 * the run's seed and the case's index, so case 123 456 of a run can be replayed alone
 * (`--case 123456`) without generating the 123 455 before it, and a change in one
 * generator does not shift every later case.
 *
 * mulberry32 (the chaos toolkit's `seededRandom`) behind a small class with the draws a
 * generator needs; not cryptographic, and it need not be.
 */
import { deriveSeed, seededRandom } from '../src/chaos/seeded-random.js';

export class Rng {
  readonly #next: () => number;

  constructor(seed: number) {
    this.#next = seededRandom(seed);
  }

  /** The generator for case `index` of a run (and of one target: `stream` names it). */
  static forCase(seed: number, stream: string, index: number): Rng {
    // Two mixing rounds: neighbouring indexes must not give correlated first draws.
    const base = deriveSeed(seed, stream);
    return new Rng(Math.imul(base ^ (index >>> 0), 0x9e3779b1) ^ Math.imul(index >>> 0, 0x85ebca6b) ^ (base >>> 7));
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.#next();
  }

  /** Uniform integer in [min, max] (inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.#next() * (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.#next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.#next() * items.length)]!;
  }

  /** An index into `weights`, chosen in proportion to them. */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let r = this.#next() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i]!;
      if (r < 0) return i;
    }
    return weights.length - 1;
  }

  /** A size that is usually small and sometimes large: log-uniform in [0, max]. */
  size(max: number): number {
    return Math.min(max, Math.floor(Math.exp(this.#next() * Math.log(max + 1))) - 1 + (this.chance(0.1) ? 1 : 0));
  }

  /** `length` random bytes. */
  bytes(length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i++) out[i] = Math.floor(this.#next() * 256);
    return out;
  }

  /**
   * A random well-formed string: printable ASCII, any ASCII, or any code point outside the
   * surrogate range (a lone surrogate cannot survive UTF-8, so it could not round-trip).
   */
  string(maxLength: number): string {
    const n = this.size(maxLength);
    const kind = this.int(0, 2);
    let s = '';
    for (let i = 0; i < n; i++) {
      if (kind === 0) s += String.fromCharCode(this.int(0x20, 0x7e));
      else if (kind === 1) s += String.fromCharCode(this.int(0, 0x7f));
      else {
        const cp = this.int(0, 0x10ffff - 0x800);
        s += String.fromCodePoint(cp < 0xd800 ? cp : cp + 0x800);
      }
    }
    return s;
  }
}
