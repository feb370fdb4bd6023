import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/chaos/seeded-random.js';
import { parseOptions, shape } from '../../src/options.js';
import {
  BALANCE_STRATEGIES, balanceOption, createBalancer, latencyDecayOption, type BalanceCandidate, type BalanceStrategy,
} from '../../src/pool/balancer.js';
import { peakEwmaScore } from '../../src/pool/balancer-p2c.js';
import { PeakEwma } from '../../src/pool/peak-ewma.js';

const cand = (weight = 1, inFlight = 0, usable = true, latency?: PeakEwma): BalanceCandidate => ({ weight, inFlight, usable, latency });
const measured = (ms: number, at = 0): PeakEwma => {
  const e = new PeakEwma(10_000);
  e.observe(ms, at);
  return e;
};

function shares(strategy: BalanceStrategy, candidates: BalanceCandidate[], picks: number, seed = 1): number[] {
  const b = createBalancer(strategy, seededRandom(seed));
  const count = candidates.map(() => 0);
  for (let i = 0; i < picks; i++) count[b.pick(candidates, 0)]!++;
  return count.map((n) => n / picks);
}

describe('createBalancer', () => {
  it('builds each strategy the `balance` option names, p2c-peak-ewma by default', () => {
    for (const s of BALANCE_STRATEGIES) expect(createBalancer(s).strategy).toBe(s);
    expect(createBalancer().strategy).toBe('p2c-peak-ewma');
  });

  it('refuses an unknown strategy with WW_INVALID_OPTION naming the path and the choices', () => {
    expect(() => createBalancer('fastest' as BalanceStrategy)).toThrow(expect.objectContaining({ code: 'WW_INVALID_OPTION' }));
    const schema = shape({ balance: balanceOption, latencyDecayMs: latencyDecayOption });
    expect(() => parseOptions('pool', schema, { balance: 'fastest' })).toThrow(
      'pool.balance must be one of "p2c-peak-ewma", "least-connections", "round-robin", got "fastest"',
    );
    expect(() => parseOptions('pool', schema, { latencyDecayMs: 0 })).toThrow('pool.latencyDecayMs must be an integer in [1, 2147483647] (ms), got 0');
    expect(parseOptions('pool', schema, {})).toEqual({ balance: 'p2c-peak-ewma', latencyDecayMs: 1000 });
  });
});

describe.each(BALANCE_STRATEGIES)('%s', (strategy) => {
  it('answers -1 when no candidate is usable, and the only usable one otherwise', () => {
    const b = createBalancer(strategy, seededRandom(3));
    expect(b.pick([], 0)).toBe(-1);
    expect(b.pick([cand(1, 0, false), cand(5, 0, false)], 0)).toBe(-1);
    const picked = new Set(Array.from({ length: 100 }, () => b.pick([cand(9, 0, false), cand(1, 7), cand(9, 0, false)], 0)));
    expect([...picked]).toEqual([1]);
  });

  it('never picks an unusable (suspect, refused, draining) candidate, even the cheapest and heaviest', () => {
    const b = createBalancer(strategy, seededRandom(4));
    // the unusable one is idle, fast and heavy: the best choice if it were allowed
    const candidates = [cand(1, 5, true, measured(20)), cand(1000, 0, false, measured(0.1)), cand(1, 3, true, measured(20))];
    const picked = new Set<number>();
    for (let i = 0; i < 10_000; i++) picked.add(b.pick(candidates, i));
    expect(picked.has(1)).toBe(false);
    expect(picked.size).toBeGreaterThan(0);
  });

  it('honours weights within ±5 % over 10k picks among equal candidates', () => {
    const weights = [1, 2, 3, 4];
    const total = 10;
    const got = shares(strategy, weights.map((w) => cand(w)), 10_000);
    for (const [i, w] of weights.entries()) {
      expect(Math.abs(got[i]! - w / total) / (w / total)).toBeLessThanOrEqual(0.05);
    }
  });
});

describe('p2c-peak-ewma', () => {
  it('scores latency × (in flight scaled to the heaviest weight + 1)', () => {
    expect(peakEwmaScore(cand(1, 0, true, measured(10)), 0, 1)).toBe(10);
    expect(peakEwmaScore(cand(1, 4, true, measured(10)), 0, 1)).toBe(50);
    // weight 1 next to a weight-2 candidate: its 4 in flight count as 8
    expect(peakEwmaScore(cand(1, 4, true, measured(10)), 0, 2)).toBe(90);
    expect(peakEwmaScore(cand(2, 4, true, measured(10)), 0, 2)).toBe(50);
  });

  it('tries an unmeasured idle candidate at once, but sends a busy unmeasured one nothing more while another can serve', () => {
    const idleUnknown = peakEwmaScore(cand(1, 0), 0, 1);
    const busyUnknown = peakEwmaScore(cand(1, 1), 0, 1);
    const slowKnown = peakEwmaScore(cand(1, 100, true, measured(1000)), 0, 1);
    expect(idleUnknown).toBe(0);
    expect(busyUnknown).toBeGreaterThan(slowKnown);
    const b = createBalancer('p2c-peak-ewma', seededRandom(5));
    for (let i = 0; i < 1000; i++) expect(b.pick([cand(1, 9, true, measured(5)), cand(1, 1)], 0)).toBe(0);
  });

  it('prefers the faster of two equally loaded candidates, and the less loaded of two equally fast ones', () => {
    const b = createBalancer('p2c-peak-ewma', seededRandom(6));
    for (let i = 0; i < 1000; i++) {
      expect(b.pick([cand(1, 2, true, measured(30)), cand(1, 2, true, measured(3))], 0)).toBe(1);
      expect(b.pick([cand(1, 1, true, measured(3)), cand(1, 4, true, measured(3))], 0)).toBe(0);
    }
  });

  it('decides the same way for the same random draws (seeded runs replay)', () => {
    const candidates = [cand(1, 3, true, measured(4)), cand(2, 1, true, measured(9)), cand(3, 5, true, measured(2))];
    const run = () => Array.from({ length: 200 }, (_, i) => createBalancer('p2c-peak-ewma', seededRandom(i)).pick(candidates, 0));
    expect(run()).toEqual(run());
  });
});

describe('round-robin', () => {
  it('interleaves by weight, smoothly (nginx): 5, 1, 1 → a a b a c a a', () => {
    const b = createBalancer('round-robin');
    const candidates = [cand(5), cand(1), cand(1)];
    const seq = Array.from({ length: 14 }, () => 'abc'[b.pick(candidates, 0)]).join('');
    expect(seq).toBe('aabacaa'.repeat(2));
  });

  it('ignores load and latency', () => {
    const b = createBalancer('round-robin');
    const candidates = [cand(1, 100, true, measured(500)), cand(1, 0, true, measured(1))];
    expect(Array.from({ length: 4 }, () => b.pick(candidates, 0))).toEqual([0, 1, 0, 1]);
  });
});

describe('least-connections', () => {
  it('picks the fewest in flight per unit of weight', () => {
    const b = createBalancer('least-connections');
    expect(b.pick([cand(2, 4), cand(1, 3)], 0)).toBe(0); // 2 per unit against 3
    expect(b.pick([cand(2, 8), cand(1, 3)], 0)).toBe(1); // 4 against 3
    // latency does not count
    expect(b.pick([cand(1, 1, true, measured(500)), cand(1, 2, true, measured(1))], 0)).toBe(0);
  });

  it('breaks ties by weighted round-robin instead of always the first listed', () => {
    const b = createBalancer('least-connections');
    const candidates = [cand(1, 2), cand(2, 4), cand(1, 9)];
    const seq = Array.from({ length: 6 }, () => b.pick(candidates, 0));
    expect(seq.filter((i) => i === 0)).toHaveLength(2);
    expect(seq.filter((i) => i === 1)).toHaveLength(4);
  });
});
