/**
 * A closed-loop dispatch simulation in virtual time, for the balancer tests: `callers`
 * callers each send a request, wait for its reply and send the next, `requests` in all.
 * The balancer picks among endpoint loads (in flight, weight, peak-EWMA latency, usable)
 * exactly as the pool's dispatch does; a reply takes `serviceMs(endpoint, random)` of
 * virtual time and then feeds the endpoint's latency estimate. No timer, no sleep: the
 * clock jumps from one reply to the next.
 */
import { createBalancer, type BalanceCandidate, type BalanceStrategy } from '../../../src/pool/balancer.js';
import { PeakEwma } from '../../../src/pool/peak-ewma.js';

export class EndpointLoad implements BalanceCandidate {
  usable = true;
  inFlight = 0;
  readonly latency: PeakEwma;
  constructor(readonly weight: number, decayMs: number) {
    this.latency = new PeakEwma(decayMs);
  }
}

export interface SimOptions {
  readonly strategy: BalanceStrategy;
  readonly weights: readonly number[];
  /** Reply time of one request on endpoint `e` sent at `nowMs`. */
  readonly serviceMs: (e: number, random: () => number, nowMs: number) => number;
  readonly callers: number;
  readonly requests: number;
  readonly random: () => number;
  readonly decayMs?: number;
  /** Endpoints that are never usable (suspect, refused, draining). */
  readonly unusable?: readonly number[];
  /** Called for every request sent, with the endpoint chosen. */
  readonly onPick?: (e: number, nowMs: number) => void;
}

export interface SimResult {
  /** Requests sent to each endpoint. */
  readonly picks: number[];
  /** Reply times, sorted ascending. */
  readonly latenciesMs: Float64Array;
  /** Virtual time at which each endpoint was last picked. */
  readonly lastPickedMs: number[];
  readonly endMs: number;
  percentile(p: number): number;
}

export function simulate(o: SimOptions): SimResult {
  const balancer = createBalancer(o.strategy, o.random);
  const loads = o.weights.map((w) => new EndpointLoad(w, o.decayMs ?? 10_000));
  for (const e of o.unusable ?? []) loads[e]!.usable = false;
  const picks = o.weights.map(() => 0);
  const lastPickedMs = o.weights.map(() => Number.NaN);
  const latencies = new Float64Array(o.requests);
  // Pending replies, kept sorted by due time (latest first, so the next is popped from the end).
  const due: { at: number; sentAt: number; e: number }[] = [];
  let now = 0;
  let sent = 0;
  let done = 0;
  const send = () => {
    const e = balancer.pick(loads, now);
    if (e < 0) throw new Error('no usable endpoint');
    picks[e]!++;
    lastPickedMs[e] = now;
    o.onPick?.(e, now);
    loads[e]!.inFlight++;
    const at = now + o.serviceMs(e, o.random, now);
    let i = due.length;
    while (i > 0 && due[i - 1]!.at < at) i--;
    due.splice(i, 0, { at, sentAt: now, e });
    sent++;
  };
  for (let c = 0; c < o.callers && sent < o.requests; c++) send();
  while (due.length > 0) {
    const r = due.pop()!;
    now = r.at;
    const load = loads[r.e]!;
    load.inFlight--;
    load.latency.observe(now - r.sentAt, now);
    latencies[done++] = now - r.sentAt;
    if (sent < o.requests) send();
  }
  const sorted = latencies.sort();
  return {
    picks,
    latenciesMs: sorted,
    lastPickedMs,
    endMs: now,
    percentile: (p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!,
  };
}
