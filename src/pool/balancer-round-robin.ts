/**
 * Smooth weighted round-robin (nginx's `ngx_http_upstream_get_peer`): blind to load and
 * latency, the baseline the other strategies are measured against.
 *
 *   each pick: every usable candidate gains its weight; the richest is chosen and pays
 *   the total gained.
 *
 * Weights 5, 1, 1 give a a b a c a a rather than a a a a a b c: shares are exact over
 * every cycle of (sum of weights) picks and the heavy candidate's turns are spread out.
 * A candidate that is not usable neither gains nor is chosen, so the others share its
 * turns while it is out. The position is kept per candidate index: the pool passes its
 * candidates in a stable order, and when the set changes the credits left over are at
 * most one cycle's worth, so the shares settle within a cycle.
 */
import type { Balancer } from './balancer.js';

/**
 * @example
 * const balancer = roundRobin();
 * balancer.pick([{ usable: true, inFlight: 0, weight: 2 }, { usable: true, inFlight: 0, weight: 1 }], now); // 0, then 1, then 0…
 */
export function roundRobin(): Balancer {
  let credit = new Float64Array(8);
  return {
    strategy: 'round-robin',
    pick(candidates) {
      if (credit.length < candidates.length) {
        const grown = new Float64Array(Math.max(candidates.length, credit.length * 2));
        grown.set(credit);
        credit = grown;
      }
      let total = 0;
      let best = -1;
      for (let i = 0; i < candidates.length; i++) {
        const c = candidates[i]!;
        if (!c.usable) continue;
        credit[i]! += c.weight;
        total += c.weight;
        if (best < 0 || credit[i]! > credit[best]!) best = i;
      }
      if (best >= 0) credit[best]! -= total;
      return best;
    },
  };
}
