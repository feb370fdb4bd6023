/**
 * The opt-in adaptive heartbeat interval (`heartbeat.adaptive: true`), as pure functions.
 *
 * The trade-off: a long interval costs less (fewer probes across 10k connections) but
 * detects a dead peer later. We lengthen only while the path is demonstrably steady and
 * back off sharply after any doubt, TCP-congestion-window style (multiplicative growth
 * and decrease, in opposite directions):
 * - after a successful probe whose RTT estimate is *stable*, `interval × 1.5`, at most
 *   `maxIntervalMs`. Stable means `RTTVAR ≤ SRTT / 4`: the variance term of the RFC 6298
 *   timeout (`4·RTTVAR`) is no larger than the smoothed RTT itself. A first sample
 *   (`RTTVAR = SRTT / 2`) is never stable, so growth starts only after a few agreeing
 *   samples (the fourth with a constant RTT);
 * - after a suspicion that turned out false (`suspect` → `ready`), `interval / 2`, at
 *   least `minIntervalMs`: the peer or the path hiccuped, so look more often for a while.
 *
 * @example
 * lengthenIntervalMs(4000, { srttMs: 10, rttvarMs: 1 }, 20_000); // 6000
 * shortenIntervalMs(6000, 1000);                                   // 3000
 */
import type { RttEstimate } from './rtt-estimator.js';

/** Multiplicative growth per stable probe. */
export const ADAPTIVE_GROWTH_FACTOR = 1.5;

/** True when the estimate's variance is small relative to the RTT (`RTTVAR ≤ SRTT / 4`). */
export function isStableRtt(est: RttEstimate | undefined): boolean {
  return est !== undefined && est.rttvarMs <= est.srttMs / 4;
}

/**
 * The interval after a successful probe: grown by {@link ADAPTIVE_GROWTH_FACTOR} when the
 * RTT is stable, unchanged otherwise; never above `maxIntervalMs`.
 *
 * @example
 * lengthenIntervalMs(4000, { srttMs: 10, rttvarMs: 5 }, 20_000); // 4000 (not stable yet)
 */
export function lengthenIntervalMs(currentMs: number, est: RttEstimate | undefined, maxIntervalMs: number): number {
  if (!isStableRtt(est)) return currentMs;
  return Math.max(currentMs, Math.min(maxIntervalMs, Math.round(currentMs * ADAPTIVE_GROWTH_FACTOR)));
}

/**
 * The interval after a false suspicion: halved, never below `minIntervalMs`.
 *
 * @example
 * shortenIntervalMs(1500, 1000); // 1000
 */
export function shortenIntervalMs(currentMs: number, minIntervalMs: number): number {
  return Math.min(currentMs, Math.max(minIntervalMs, Math.round(currentMs / 2)));
}
