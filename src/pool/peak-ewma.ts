/**
 * A peak-sensitive moving average of response latency (Finagle's `PeakEwma`, Tower's
 * `load::PeakEwma`): the estimate a latency-aware balancer multiplies by the requests in
 * flight to rank endpoints.
 *
 *   sample slower than the estimate   → the estimate jumps to it at once (pessimistic)
 *   sample faster than the estimate   → blended in by weight 1 − e^(−Δ/τ), Δ since the last sample
 *   no sample for a while             → the estimate decays toward 0 by e^(−t/τ)
 *
 * Quick to penalise a slow endpoint, cautious to forgive it: one slow reply costs an
 * endpoint its traffic at once, while faster replies bring it back over about τ
 * (`decayMs`). The decay with no sample is what prevents starvation: an endpoint a
 * balancer stopped choosing because of an old spike looks cheaper and cheaper until it is
 * tried again, and its next reply says what it is worth now (Finagle and Tower decay the
 * same way, on every read).
 *
 * Reading is pure (`estimateMs(now)` changes nothing), so a balancer may read an estimate
 * any number of times per pick; only `observe` writes. Times are plain numbers from the
 * caller's clock (the runtime's scheduler, or a virtual one in tests): no clock is read here.
 *
 * @example
 * const latency = new PeakEwma(1000);
 * const t0 = clock.now();
 * await conn.command(['GET', 'k']);
 * latency.observe(clock.now() - t0, clock.now());
 * latency.estimateMs(clock.now()); // what the balancer weighs
 */
import { fail } from '../options.js';

/**
 * Default τ: 1 s, not Finagle's and Linkerd's 10 s. In one Node process a GC pause or a
 * busy event loop adds the same milliseconds to every endpoint's replies; a fast
 * endpoint then carries that peak as its estimate for ~τ and looks closer to a truly slow
 * one than it is. Measured with bench/tail-latency.ts (200 callers, one endpoint 50 ± 25 ms
 * slower, 3 rounds): τ 10 s sent the slow endpoint 0.64 % of requests (p99 15 ms), τ 1 s
 * 0.12 % (p99 5.6 ms); 300 ms was no better than 1 s. The price is a shorter memory: an
 * endpoint that was slow is tried again after a few seconds rather than tens.
 */
export const DEFAULT_LATENCY_DECAY_MS = 1000;

export class PeakEwma {
  /** τ, the time constant of both the blending toward faster samples and the idle decay. */
  readonly decayMs: number;
  #valueMs = 0;
  #stampMs = 0;
  #known = false;

  constructor(decayMs: number = DEFAULT_LATENCY_DECAY_MS) {
    if (!(decayMs > 0) || !Number.isFinite(decayMs)) fail('decayMs', 'a finite number > 0 (ms)', decayMs);
    this.decayMs = decayMs;
  }

  /** True once a sample was observed; before that the estimate is unknown. */
  get known(): boolean {
    return this.#known;
  }

  /**
   * The estimate at `nowMs`: the value after the last sample, decayed toward 0 since; or
   * `undefined` before the first sample (a balancer decides what unknown costs).
   */
  estimateMs(nowMs: number): number | undefined {
    if (!this.#known) return undefined;
    const idleMs = nowMs - this.#stampMs;
    return idleMs > 0 ? this.#valueMs * Math.exp(-idleMs / this.decayMs) : this.#valueMs;
  }

  /**
   * Records one response time `rttMs` completed at `nowMs`. Negative or non-finite
   * samples (a clock that stepped back) are ignored rather than poisoning the estimate.
   */
  observe(rttMs: number, nowMs: number): void {
    if (!(rttMs >= 0) || rttMs === Number.POSITIVE_INFINITY) return;
    if (!this.#known) {
      this.#known = true;
      this.#valueMs = rttMs;
      this.#stampMs = nowMs;
      return;
    }
    const decayed = this.estimateMs(nowMs)!;
    if (rttMs >= decayed) {
      this.#valueMs = rttMs;
    } else {
      const sinceMs = nowMs - this.#stampMs;
      const keep = sinceMs > 0 ? Math.exp(-sinceMs / this.decayMs) : 1;
      this.#valueMs = decayed * keep + rttMs * (1 - keep);
    }
    if (nowMs > this.#stampMs) this.#stampMs = nowMs;
  }
}
