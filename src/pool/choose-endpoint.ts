/**
 * The default endpoint policy: the lowest priority group that has a live endpoint,
 * then, within that group, the endpoint with the fewest connections per unit of weight.
 *
 * "Live" means its last dial did not fail (no consecutive failures). When every
 * endpoint is failing the lowest group is used anyway: the pool must keep trying
 * somewhere, and the source's backoff paces those attempts.
 *
 * Weighted least-connections instead of a weighted random draw: pools are small (tens of
 * connections), where a random draw strays far from the intended shares; counting
 * gives exact shares (weights 2:1 with 3 connections → 2 and 1) and is deterministic,
 * which keeps tests simple. `random` is kept in the signature for policies that need it
 * (power of two choices, jittered failback).
 *
 * @example
 * const pool = createPoolCore({ options, source, chooseEndpoint: weightedLeastConnections });
 */
import type { ChooseEndpoint, EndpointView } from './connection-source.js';

export const weightedLeastConnections: ChooseEndpoint = (endpoints) => {
  let group = Number.POSITIVE_INFINITY;
  let fallbackGroup = Number.POSITIVE_INFINITY;
  for (const e of endpoints) {
    const p = e.endpoint.priority;
    if (p < fallbackGroup) fallbackGroup = p;
    if (e.consecutiveFailures === 0 && p < group) group = p;
  }
  const anyLive = group !== Number.POSITIVE_INFINITY;
  if (!anyLive) group = fallbackGroup;
  let best: EndpointView | undefined;
  let bestLoad = Number.POSITIVE_INFINITY;
  for (const e of endpoints) {
    if (e.endpoint.priority !== group) continue;
    if (anyLive && e.consecutiveFailures > 0) continue;
    // +1: the share after adding this connection, so weight breaks ties at zero load.
    const load = (e.open + e.pending + 1) / e.endpoint.weight;
    if (load < bestLoad) {
      best = e;
      bestLoad = load;
    }
  }
  // endpoints is never empty (options require one), so best is set.
  return best!;
};
