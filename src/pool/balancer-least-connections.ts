/**
 * Weighted least-connections for shared dispatch (nginx `least_conn`): the usable
 * candidate with the fewest dispatches in flight per unit of weight; ties in smooth
 * weighted round-robin.
 *
 *   score(c) = inFlight(c) / weight(c)          compared exactly: inFlight(a) × weight(b) vs inFlight(b) × weight(a)
 *   among the lowest: each gains its weight, the richest is chosen and pays their total
 *
 * Load-aware but latency-blind: a slow endpoint is avoided only as far as its replies
 * pile up in flight, which is what p2c-peak-ewma adds to. Without the weighted
 * tie-break, idle candidates (all at 0) would all go to the first one listed; with it,
 * idle traffic follows the weights as round-robin's does and no usable candidate waits
 * forever.
 *
 * The pool's choice of an endpoint for a *new connection* (`weightedLeastConnections`,
 * choose-endpoint.ts) is a different decision: it counts connections, not dispatches.
 */
import type { Balancer } from './balancer.js';

/**
 * @example
 * const balancer = leastConnections();
 * balancer.pick([{ usable: true, inFlight: 4, weight: 2 }, { usable: true, inFlight: 3, weight: 1 }], now); // 0
 */
export function leastConnections(): Balancer {
  let credit = new Float64Array(8);
  return {
    strategy: 'least-connections',
    pick(candidates) {
      if (credit.length < candidates.length) {
        const grown = new Float64Array(Math.max(candidates.length, credit.length * 2));
        grown.set(credit);
        credit = grown;
      }
      let least = -1;
      for (let i = 0; i < candidates.length; i++) {
        const c = candidates[i]!;
        if (!c.usable) continue;
        if (least < 0) least = i;
        else {
          const l = candidates[least]!;
          if (c.inFlight * l.weight < l.inFlight * c.weight) least = i;
        }
      }
      if (least < 0) return -1;
      const l = candidates[least]!;
      let total = 0;
      let best = -1;
      for (let i = least; i < candidates.length; i++) {
        const c = candidates[i]!;
        if (!c.usable || c.inFlight * l.weight !== l.inFlight * c.weight) continue;
        credit[i]! += c.weight;
        total += c.weight;
        if (best < 0 || credit[i]! > credit[best]!) best = i;
      }
      credit[best]! -= total;
      return best;
    },
  };
}
