/**
 * Properties of the balancers and the latency estimate over arbitrary candidate sets,
 * loads, latencies, weights and random streams (fast-check).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/chaos/seeded-random.js';
import { BALANCE_STRATEGIES, createBalancer, type BalanceCandidate } from '../../src/pool/balancer.js';
import { PeakEwma } from '../../src/pool/peak-ewma.js';

const candidateArb = fc.record({
  usable: fc.boolean(),
  inFlight: fc.integer({ min: 0, max: 1000 }),
  weight: fc.integer({ min: 1, max: 1000 }),
  latencyMs: fc.option(fc.double({ min: 0, max: 10_000, noNaN: true }), { nil: undefined }),
  sampledAtMs: fc.integer({ min: 0, max: 100_000 }),
});

function toCandidate(c: (typeof candidateArb extends fc.Arbitrary<infer T> ? T : never)): BalanceCandidate {
  const latency = new PeakEwma(10_000);
  if (c.latencyMs !== undefined) latency.observe(c.latencyMs, c.sampledAtMs);
  return { usable: c.usable, inFlight: c.inFlight, weight: c.weight, latency };
}

describe.each(BALANCE_STRATEGIES)('%s', (strategy) => {
  it('picks a usable candidate whenever there is one, and -1 only when there is none', () => {
    fc.assert(
      fc.property(fc.array(candidateArb, { maxLength: 12 }), fc.integer(), fc.integer({ min: 0, max: 200_000 }), (raw, seed, nowMs) => {
        const candidates = raw.map(toCandidate);
        const b = createBalancer(strategy, seededRandom(seed));
        for (let k = 0; k < 20; k++) {
          const i = b.pick(candidates, nowMs);
          if (candidates.some((c) => c.usable)) expect(candidates[i]?.usable).toBe(true);
          else expect(i).toBe(-1);
        }
      }),
    );
  });
});

describe('weights among equal candidates', () => {
  const weightsArb = fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 2, maxLength: 6 });

  it.each(['round-robin', 'least-connections'] as const)('%s gives each exactly its weight in every cycle of Σ weights picks', (strategy) => {
    fc.assert(
      fc.property(weightsArb, fc.integer({ min: 1, max: 3 }), (weights, cycles) => {
        const candidates = weights.map((weight) => ({ usable: true, inFlight: 0, weight }));
        const b = createBalancer(strategy);
        const total = weights.reduce((a, w) => a + w, 0);
        const count = weights.map(() => 0);
        for (let k = 0; k < total * cycles; k++) count[b.pick(candidates, 0)]!++;
        expect(count).toEqual(weights.map((w) => w * cycles));
      }),
    );
  });

  it('p2c-peak-ewma draws shares within 5 standard deviations of the weights (unmeasured and equally measured)', () => {
    fc.assert(
      fc.property(weightsArb, fc.integer(), fc.boolean(), (weights, seed, measured) => {
        const candidates = weights.map((weight) => {
          const latency = new PeakEwma(10_000);
          if (measured) latency.observe(3, 0);
          return { usable: true, inFlight: 0, weight, latency };
        });
        const b = createBalancer('p2c-peak-ewma', seededRandom(seed));
        const n = 20_000;
        const count = weights.map(() => 0);
        for (let k = 0; k < n; k++) count[b.pick(candidates, 0)]!++;
        const total = weights.reduce((a, w) => a + w, 0);
        for (const [i, w] of weights.entries()) {
          const p = w / total;
          expect(Math.abs(count[i]! - n * p)).toBeLessThanOrEqual(5 * Math.sqrt(n * p * (1 - p)));
        }
      }),
      { numRuns: 40 },
    );
  });
});

describe('PeakEwma', () => {
  const samplesArb = fc.array(fc.tuple(fc.double({ min: 0, max: 5000, noNaN: true }), fc.integer({ min: 0, max: 20_000 })), {
    minLength: 1,
    maxLength: 40,
  });

  it('after a sample: at least the sample, at most the larger of the sample and the estimate before it', () => {
    fc.assert(
      fc.property(samplesArb, fc.integer({ min: 1, max: 60_000 }), (samples, decayMs) => {
        const e = new PeakEwma(decayMs);
        let now = 0;
        for (const [rttMs, gapMs] of samples) {
          now += gapMs;
          const before = e.estimateMs(now);
          e.observe(rttMs, now);
          const after = e.estimateMs(now)!;
          expect(after).toBeGreaterThanOrEqual(rttMs);
          expect(after).toBeLessThanOrEqual(Math.max(rttMs, before ?? rttMs) * (1 + 1e-12));
          if (before === undefined || rttMs >= before) expect(after).toBe(rttMs);
        }
      }),
    );
  });

  it('without samples: never grows, and falls below any positive level in finite time', () => {
    fc.assert(
      fc.property(samplesArb, fc.integer({ min: 1, max: 60_000 }), fc.double({ min: 0.001, max: 100, noNaN: true }), (samples, decayMs, levelMs) => {
        const e = new PeakEwma(decayMs);
        let now = 0;
        for (const [rttMs, gapMs] of samples) e.observe(rttMs, (now += gapMs));
        let prev = e.estimateMs(now)!;
        for (let t = now; t <= now + 10 * decayMs; t += decayMs / 4) {
          const x = e.estimateMs(t)!;
          expect(x).toBeLessThanOrEqual(prev);
          prev = x;
        }
        const v = e.estimateMs(now)!;
        if (v > levelMs) expect(e.estimateMs(now + decayMs * Math.log(v / levelMs) + 1)!).toBeLessThan(levelMs);
      }),
    );
  });
});
