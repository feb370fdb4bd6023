/**
 * The balancers driving a closed-loop workload in virtual time (helpers/balancer-sim.ts):
 * callers send, wait for the reply and send again; replies take a seeded random time per
 * endpoint and feed each endpoint's peak-EWMA estimate, as the pool's dispatch does.
 */
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/chaos/seeded-random.js';
import { BALANCE_STRATEGIES } from '../../src/pool/balancer.js';
import { simulate } from './helpers/balancer-sim.js';

/** Endpoint 2 is slow: 50 ms ± 25 ms, as the tail-latency bench's latency toxic; the others 0.5–1 ms. */
const oneSlow = (e: number, random: () => number) => (e === 2 ? 25 + 50 * random() : 0.5 + 0.5 * random());

describe('under load', () => {
  it.each(BALANCE_STRATEGIES)('%s honours weights within ±5 % with 60 callers on equally fast endpoints', (strategy) => {
    const weights = [1, 2, 3];
    const r = simulate({ strategy, weights, callers: 60, requests: 30_000, random: seededRandom(11), serviceMs: (_e, random) => 1 + random() });
    for (const [i, w] of weights.entries()) {
      expect(Math.abs(r.picks[i]! / 30_000 - w / 6) / (w / 6)).toBeLessThanOrEqual(0.05);
    }
  });

  it('p2c-peak-ewma sends a slow endpoint almost nothing and keeps the tail fast; round-robin does not', () => {
    const run = (strategy: (typeof BALANCE_STRATEGIES)[number]) =>
      simulate({ strategy, weights: [1, 1, 1], callers: 200, requests: 30_000, random: seededRandom(12), serviceMs: oneSlow });
    const p2c = run('p2c-peak-ewma');
    const rr = run('round-robin');
    const lc = run('least-connections');
    expect(p2c.picks[2]! / 30_000).toBeLessThan(0.005);
    expect(rr.picks[2]! / 30_000).toBeCloseTo(1 / 3, 2);
    expect(p2c.picks[2]!).toBeLessThan(lc.picks[2]!);
    expect(p2c.percentile(0.99)).toBeLessThanOrEqual(1);
    expect(p2c.percentile(0.99)).toBeLessThan(0.3 * rr.percentile(0.99));
  });

  it('p2c-peak-ewma sends a single sequential caller to the fast endpoints only', () => {
    const r = simulate({ strategy: 'p2c-peak-ewma', weights: [1, 1, 1], callers: 1, requests: 5_000, random: seededRandom(13), serviceMs: oneSlow });
    expect(r.picks[2]).toBeLessThan(5); // measured once, then avoided while its estimate decays
  });

  it.each(BALANCE_STRATEGIES)('%s never sends anything to an unusable (suspect) endpoint', (strategy) => {
    const r = simulate({
      strategy, weights: [1, 5, 1], unusable: [1], callers: 50, requests: 10_000, random: seededRandom(14), serviceMs: () => 1,
    });
    expect(r.picks[1]).toBe(0);
    expect(r.picks[0]! + r.picks[2]!).toBe(10_000);
  });
});

describe('no starvation', () => {
  it('p2c-peak-ewma avoids an endpoint after one slow reply, tries it again once its estimate decayed, and gives it its share back', () => {
    const decayMs = 1000;
    // endpoint 2 answers its 100th request in 500 ms, every other request in 1 ms
    let sentTo2 = 0;
    let spikeDoneMs = Number.NaN;
    const picksOf2: number[] = [];
    const picksAfter: number[] = [0, 0, 0];
    const r = simulate({
      strategy: 'p2c-peak-ewma', weights: [1, 1, 1], callers: 10, requests: 150_000, decayMs, random: seededRandom(15),
      serviceMs: (e, _random, nowMs) => {
        if (e !== 2 || ++sentTo2 !== 100) return 1;
        spikeDoneMs = nowMs + 500;
        return 500;
      },
      onPick: (e, nowMs) => {
        if (e === 2) picksOf2.push(nowMs);
        if (nowMs > 10_000) picksAfter[e]!++;
      },
    });
    const retryMs = picksOf2.find((t) => t > spikeDoneMs)!;
    const avoidedMs = retryMs - spikeDoneMs;
    // its 500 ms estimate must fall below the others' score, about 1 ms × (3 or 4 in
    // flight + 1): decayMs × ln(500 / 5) ≈ 4.6 s. Avoided that long, not much longer.
    expect(avoidedMs).toBeGreaterThan(3 * decayMs);
    expect(avoidedMs).toBeLessThan(7 * decayMs);
    expect(r.endMs).toBeGreaterThan(12_000);
    const after = picksAfter.reduce((a, b) => a + b, 0);
    expect(Math.abs(picksAfter[2]! / after - 1 / 3)).toBeLessThan(0.05 / 3);
  });

  it.each(BALANCE_STRATEGIES)('%s keeps sending a consistently slow endpoint something, at least every few time constants', (strategy) => {
    const decayMs = 250; // the run lasts about 15 of them
    const picksOf2: number[] = [];
    const r = simulate({
      strategy, weights: [1, 1, 1], callers: 20, requests: 100_000, decayMs, random: seededRandom(16), serviceMs: oneSlow,
      onPick: (e, nowMs) => void (e === 2 && picksOf2.push(nowMs)),
    });
    let longestGapMs = 0;
    for (let i = 1; i < picksOf2.length; i++) longestGapMs = Math.max(longestGapMs, picksOf2[i]! - picksOf2[i - 1]!);
    longestGapMs = Math.max(longestGapMs, r.endMs - picksOf2.at(-1)!);
    expect(r.endMs).toBeGreaterThan(12 * decayMs);
    expect(picksOf2.length).toBeGreaterThan(3);
    expect(longestGapMs).toBeLessThan(8 * decayMs);
  });
});
