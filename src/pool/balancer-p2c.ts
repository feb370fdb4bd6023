/**
 * Power of two choices over a peak-EWMA load score (Finagle's `p2cPeakEwma`, Tower's
 * `p2c::Balance` over `load::PeakEwma`).
 *
 *   a ← draw ∝ weight among usable          score(c) = latency(c) × (inFlight(c) × maxWeight / weight(c) + 1)
 *   b ← draw ∝ weight among usable ≠ a      b only if its score is lower by more than 2 %, else a
 *
 * Why two random draws rather than the global minimum: the minimum sends every caller of
 * a burst to the same "best" endpoint until its counts catch up (herding); two draws
 * spread them while still steering away from the loaded or slow (Mitzenmacher). Why
 * latency × (in flight + 1): it estimates how long a new request would wait there, so an
 * endpoint ten times slower needs ten times fewer requests in flight to look as cheap.
 * The +1 is the request about to be sent. With equal weights this is Finagle's and
 * Tower's score exactly.
 *
 * Weights. The in-flight count is scaled to the heaviest candidate's (a weight-1
 * endpoint's 2 in flight count as 6 next to a weight-3 one), so under load the shares
 * settle at the weights. The +1 is not scaled: dividing the whole score by the weight, as
 * Finagle's weighted P2C does, makes the heavier endpoint win every comparison while
 * nothing is in flight (weights 1:2:3 served sequentially measured 0 % : 15 % : 85 %).
 * Idle, equally fast candidates then tie, and ties go to `a`, drawn in proportion to
 * weight: the shares are the weights'. Scores within 2 % count as a tie — estimates of
 * equally fast endpoints differ by that much from jitter and from decaying since their
 * last reply (peak-ewma.ts), and a faster endpoint is not worth bending the weights for
 * less than that.
 *
 * Unknown latency (no reply measured yet), as Finagle: an idle unmeasured candidate
 * scores 0 — it is tried at once, and its first reply measures it — while a busy one
 * scores a large penalty plus its load, so a new endpoint gets one request at a time
 * until it is measured rather than a burst's worth sent blind.
 *
 * Starvation: a candidate avoided after a slow reply is not measured again, but its
 * estimate decays toward 0 (peak-ewma.ts), so its score falls until a draw picks it and
 * its next reply tells what it is worth now.
 *
 * Cost per pick: three passes over the candidates (total weight, the two draws; no
 * allocation), two `random()` calls and two `Math.exp`.
 */
import type { BalanceCandidate, Balancer } from './balancer.js';

/** What a busy, unmeasured candidate costs: above any real latency × load, below overflow. */
const UNKNOWN_PENALTY = 2 ** 40;

/** Scores closer than this (relative) are a tie, which goes to the first draw. */
const TIE = 0.02;

/**
 * The score of one candidate at `nowMs`, lower is better; `maxWeight` is the heaviest
 * usable candidate's weight.
 */
export function peakEwmaScore(c: BalanceCandidate, nowMs: number, maxWeight: number): number {
  const load = (c.inFlight * maxWeight) / c.weight + 1;
  const estimateMs = c.latency?.estimateMs(nowMs);
  if (estimateMs === undefined) return c.inFlight === 0 ? 0 : UNKNOWN_PENALTY + load;
  return estimateMs * load;
}

/**
 * @example
 * const balancer = p2cPeakEwma(rt.random);
 * const i = balancer.pick([{ usable: true, inFlight: 3, weight: 1, latency }], now);
 */
export function p2cPeakEwma(random: () => number): Balancer {
  return {
    strategy: 'p2c-peak-ewma',
    pick(candidates, nowMs) {
      let total = 0;
      let maxWeight = 0;
      let usable = 0;
      let only = -1;
      for (let i = 0; i < candidates.length; i++) {
        const c = candidates[i]!;
        if (!c.usable) continue;
        total += c.weight;
        if (c.weight > maxWeight) maxWeight = c.weight;
        usable++;
        only = i;
      }
      if (usable <= 1) return only;
      const a = draw(candidates, random() * total, -1);
      const b = draw(candidates, random() * (total - candidates[a]!.weight), a);
      const scoreA = peakEwmaScore(candidates[a]!, nowMs, maxWeight);
      return peakEwmaScore(candidates[b]!, nowMs, maxWeight) < scoreA * (1 - TIE) ? b : a;
    },
  };
}

/**
 * The usable candidate (other than `skip`) whose weight interval holds `point`, in
 * [0, total weight of those). Falls back to the last such candidate when rounding leaves
 * `point` at the very end.
 */
function draw(candidates: readonly BalanceCandidate[], point: number, skip: number): number {
  let last = -1;
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i]!;
    if (!c.usable || i === skip) continue;
    point -= c.weight;
    if (point < 0) return i;
    last = i;
  }
  return last;
}
