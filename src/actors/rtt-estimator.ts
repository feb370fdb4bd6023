/**
 * Probe timeouts for the heartbeat, as pure functions of measured round trips.
 *
 * The base timeout follows RFC 6298 §2 (TCP's retransmission timer): a smoothed RTT and
 * its mean deviation, `RTO = SRTT + 4·RTTVAR`. It adapts to the path instead of using one
 * guess for a LAN peer and a cross-region one. Two departures from the RFC, both
 * deliberate:
 * - no clock-granularity term `G` and no 1 s floor: the caller clamps to
 *   `[minTimeoutMs, maxTimeoutMs]`, which plays both roles and is configurable;
 * - before any sample the timeout is `maxTimeoutMs` (the RFC's "initial RTO"), so a first
 *   probe over a slow path is not mistaken for a dead peer.
 *
 * The base is then widened by the process's own event-loop utilisation: a saturated loop
 * reads replies late, and must not accuse a healthy peer. The scaled value is at most
 * `maxTimeoutMs × (1 + eluWeight)` because `elu` is clamped to [0, 1]; that is the bound
 * documented for detection time.
 *
 * Everything here is allocation-light and side-effect free, so it is unit-tested alone and
 * called from machine `assign`s.
 *
 * @example
 * let est = updateRttEstimate(undefined, 40);   // { srttMs: 40, rttvarMs: 20 }
 * est = updateRttEstimate(est, 60);             // { srttMs: 42.5, rttvarMs: 20 }
 * retransmitTimeoutMs(est, { minTimeoutMs: 100, maxTimeoutMs: 2000 }); // 123
 */
import { clampDurationMs } from '../options.js';

/** RFC 6298 state: smoothed round-trip time and its mean deviation, in ms. */
export interface RttEstimate {
  readonly srttMs: number;
  readonly rttvarMs: number;
}

/** The clamp applied to every probe timeout. */
export interface TimeoutBounds {
  readonly minTimeoutMs: number;
  readonly maxTimeoutMs: number;
}

/** RFC 6298 gains: α = 1/8 for SRTT, β = 1/4 for RTTVAR, K = 4. */
const ALPHA = 1 / 8;
const BETA = 1 / 4;
const K = 4;

/**
 * Folds one RTT sample into the estimate (RFC 6298 §2.2–2.3).
 * First sample: `SRTT = R, RTTVAR = R/2`; then `RTTVAR ← 3/4·RTTVAR + 1/4·|SRTT − R|`
 * followed by `SRTT ← 7/8·SRTT + 1/8·R` (the RFC updates RTTVAR with the old SRTT).
 *
 * @example
 * updateRttEstimate(undefined, 10); // { srttMs: 10, rttvarMs: 5 }
 */
export function updateRttEstimate(prev: RttEstimate | undefined, sampleMs: number): RttEstimate {
  const r = sampleMs > 0 && Number.isFinite(sampleMs) ? sampleMs : 0;
  if (prev === undefined) return { srttMs: r, rttvarMs: r / 2 };
  const rttvarMs = (1 - BETA) * prev.rttvarMs + BETA * Math.abs(prev.srttMs - r);
  const srttMs = (1 - ALPHA) * prev.srttMs + ALPHA * r;
  return { srttMs, rttvarMs };
}

/**
 * `SRTT + 4·RTTVAR`, rounded up to a whole ms and clamped to the bounds; `maxTimeoutMs`
 * before any sample.
 *
 * @example
 * retransmitTimeoutMs(undefined, { minTimeoutMs: 100, maxTimeoutMs: 2000 }); // 2000
 */
export function retransmitTimeoutMs(est: RttEstimate | undefined, bounds: TimeoutBounds): number {
  if (est === undefined) return bounds.maxTimeoutMs;
  return clamp(Math.ceil(est.srttMs + K * est.rttvarMs), bounds.minTimeoutMs, bounds.maxTimeoutMs);
}

/**
 * Widens a base timeout by event-loop utilisation: `base × (1 + eluWeight × elu)`, with
 * `elu` clamped to [0, 1] (a misbehaving load gauge cannot stretch it further), rounded up,
 * and at most `MAX_DURATION_MS` (a valid `maxTimeoutMs` × 101 would overflow the timer and
 * fire at once).
 *
 * @example
 * loadScaledTimeoutMs(2000, 0.5, 1); // 3000
 */
export function loadScaledTimeoutMs(baseMs: number, eluWeight: number, elu: number): number {
  const load = Number.isFinite(elu) ? clamp(elu, 0, 1) : 0;
  return clampDurationMs(Math.ceil(baseMs * (1 + eluWeight * load)));
}

/**
 * The next suspect probe's base timeout: the previous one × `multiplier`, at most
 * `maxTimeoutMs` (so `1 + suspectProbes` probes never wait longer than that many maxima).
 *
 * @example
 * suspectTimeoutMs(800, 2, 2000); // 1600
 * suspectTimeoutMs(1600, 2, 2000); // 2000
 */
export function suspectTimeoutMs(prevMs: number, multiplier: number, maxTimeoutMs: number): number {
  return Math.min(maxTimeoutMs, Math.ceil(prevMs * multiplier));
}

function clamp(value: number, min: number, max: number): number {
  return value < min ? min : value > max ? max : value;
}
