import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { constantBackoff, exponentialBackoff, grpcBackoff, defaultBackoff, type Jitter } from '../../src/supervisor/backoff.js';
import { hasCode } from '../../src/errors.js';

const cap = (initialMs: number, maxMs: number, multiplier: number, attempt: number) =>
  Math.min(maxMs, Math.round(initialMs * multiplier ** (attempt - 1)));

/** initialMs <= maxMs, a multiplier, an attempt and a random draw in [0, 1). */
const params = fc
  .record({
    initialMs: fc.integer({ min: 1, max: 10_000 }),
    extraMs: fc.integer({ min: 0, max: 200_000 }),
    multiplier: fc.double({ min: 1, max: 4, noNaN: true }),
    attempt: fc.integer({ min: 1, max: 60 }),
    r: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  })
  .map((p) => ({ ...p, maxMs: p.initialMs + p.extraMs }));

const unitDouble = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

const policy = (p: { initialMs: number; maxMs: number; multiplier: number }, jitter: Jitter) =>
  exponentialBackoff({ initialMs: p.initialMs, maxMs: p.maxMs, multiplier: p.multiplier, jitter });

describe('exponentialBackoff properties', () => {
  test('none is exactly exponential, capped at maxMs', () => {
    fc.assert(fc.property(params, (p) => {
      expect(policy(p, 'none').delayMs(p.attempt, undefined, () => p.r)).toBe(cap(p.initialMs, p.maxMs, p.multiplier, p.attempt));
    }));
    const b = exponentialBackoff({ initialMs: 100, maxMs: 1000, multiplier: 2, jitter: 'none' });
    expect([1, 2, 3, 4, 5, 6].map((n) => b.delayMs(n, undefined, Math.random))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  test('full jitter stays in [0, cap] and is an integer', () => {
    fc.assert(fc.property(params, (p) => {
      const d = policy(p, 'full').delayMs(p.attempt, undefined, () => p.r);
      expect(Number.isInteger(d)).toBe(true);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(cap(p.initialMs, p.maxMs, p.multiplier, p.attempt));
    }));
  });

  test('equal jitter stays in [cap/2, cap]', () => {
    fc.assert(fc.property(params, (p) => {
      const c = cap(p.initialMs, p.maxMs, p.multiplier, p.attempt);
      const d = policy(p, 'equal').delayMs(p.attempt, undefined, () => p.r);
      expect(d).toBeGreaterThanOrEqual(c / 2);
      expect(d).toBeLessThanOrEqual(c);
    }));
  });

  test('decorrelated stays in [initialMs, 3·prev] and never exceeds maxMs', () => {
    fc.assert(fc.property(params, fc.option(fc.integer({ min: 0, max: 400_000 }), { nil: undefined }), (p, prevRaw) => {
      // The range is only non-empty when 3·prev >= initialMs; smaller "previous" delays never come from this policy.
      const prev = prevRaw === undefined ? undefined : Math.max(Math.ceil(p.initialMs / 3), prevRaw);
      const d = policy(p, 'decorrelated').delayMs(p.attempt, prev, () => p.r);
      expect(d).toBeGreaterThanOrEqual(p.initialMs);
      expect(d).toBeLessThanOrEqual(3 * (prev ?? p.initialMs));
      expect(d).toBeLessThanOrEqual(p.maxMs);
    }));
  });

  test('the same attempt, previous delay and random give the same delay', () => {
    const jitters: Jitter[] = ['none', 'full', 'equal', 'decorrelated', 'proportional', 'phased'];
    fc.assert(fc.property(params, fc.constantFrom(...jitters), fc.option(fc.integer({ min: 1, max: 100_000 }), { nil: undefined }), unitDouble, (p, jitter, prev, phase) => {
      const a = policy(p, jitter).delayMs(p.attempt, prev, () => p.r, phase);
      const b = policy(p, jitter).delayMs(p.attempt, prev, () => p.r, phase);
      expect(a).toBe(b);
    }));
  });

  test('full jitter spreads over the whole range, not a single value', () => {
    const b = exponentialBackoff({ initialMs: 1000, maxMs: 1000, jitter: 'full' });
    expect(b.delayMs(1, undefined, () => 0)).toBe(0);
    expect(b.delayMs(1, undefined, () => 0.999_999)).toBe(1000);
    expect(b.delayMs(1, undefined, () => 0.5)).toBe(500);
  });

  test('a random source outside [0, 1) cannot break the bounds', () => {
    const b = exponentialBackoff({ initialMs: 100, maxMs: 100, jitter: 'full' });
    expect(b.delayMs(1, undefined, () => 1)).toBeLessThanOrEqual(100);
    expect(b.delayMs(1, undefined, () => 7)).toBeLessThanOrEqual(100);
    expect(b.delayMs(1, undefined, () => Number.NaN)).toBe(0);
    expect(b.delayMs(1, undefined, () => -3)).toBe(0);
  });
});

describe("phased jitter: one phase per child, attempt k at φ of the k-th window", () => {
  const capOr0 = (p: { initialMs: number; maxMs: number; multiplier: number }, k: number) => (k === 0 ? 0 : cap(p.initialMs, p.maxMs, p.multiplier, k));

  test('a phased delay is an integer in [cap(k−1), cap(k)], never above maxMs', () => {
    fc.assert(fc.property(params, unitDouble, (p, phase) => {
      const d = policy(p, 'phased').delayMs(p.attempt, undefined, () => p.r, phase);
      expect(Number.isInteger(d)).toBe(true);
      expect(d).toBeGreaterThanOrEqual(capOr0(p, p.attempt - 1));
      expect(d).toBeLessThanOrEqual(capOr0(p, p.attempt));
      expect(d).toBeLessThanOrEqual(p.maxMs);
    }));
  });

  test('it reads the phase, not random or the previous delay', () => {
    fc.assert(fc.property(params, unitDouble, unitDouble, fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: undefined }), (p, phase, r2, prev) => {
      const b = policy(p, 'phased');
      expect(b.delayMs(p.attempt, prev, () => r2, phase)).toBe(b.delayMs(p.attempt, undefined, () => p.r, phase));
    }));
  });

  test('phase 0 gives cap(k−1), a phase just below 1 gives cap(k)', () => {
    fc.assert(fc.property(params, (p) => {
      const b = policy(p, 'phased');
      expect(b.delayMs(p.attempt, undefined, () => p.r, 0)).toBe(capOr0(p, p.attempt - 1));
      expect(b.delayMs(p.attempt, undefined, () => p.r, 1 - Number.EPSILON)).toBe(capOr0(p, p.attempt));
    }));
    const b = exponentialBackoff({ initialMs: 100, maxMs: 2000, multiplier: 2, jitter: 'phased' });
    expect([1, 2, 3, 4, 5, 6, 7].map((k) => b.delayMs(k, undefined, Math.random, 0))).toEqual([0, 100, 200, 400, 800, 1600, 2000]);
    expect([1, 2, 3, 4, 5, 6, 7].map((k) => b.delayMs(k, undefined, Math.random, 0.25))).toEqual([25, 125, 250, 500, 1000, 1700, 2000]);
  });

  test('the first k delays add up to S(k−1) + φ·cap(k): attempt k fires at φ of its window', () => {
    fc.assert(fc.property(params, unitDouble, (p, phase) => {
      const b = policy(p, 'phased');
      let sum = 0;
      let windowStart = 0; // S(k−1), the sum of the first k−1 caps
      for (let k = 1; k <= p.attempt; k++) {
        sum += b.delayMs(k, undefined, () => p.r, phase);
        // Exact up to one rounding, never drifting with k.
        expect(Math.abs(sum - (windowStart + phase * capOr0(p, k)))).toBeLessThanOrEqual(0.5);
        windowStart += capOr0(p, k);
      }
    }));
  });

  test('once the caps saturate, the period is exactly maxMs', () => {
    fc.assert(fc.property(params, unitDouble, (p, phase) => {
      const b = policy(p, 'phased');
      const k = p.attempt + 1;
      if (capOr0(p, k - 1) === p.maxMs) expect(b.delayMs(k, undefined, () => p.r, phase)).toBe(p.maxMs);
    }));
  });

  test('a phase outside [0, 1) is clamped; without one, random gives a fresh phase in the same range', () => {
    const b = exponentialBackoff({ initialMs: 100, maxMs: 2000, multiplier: 2, jitter: 'phased' });
    expect(b.delayMs(3, undefined, () => 0.5, Number.NaN)).toBe(200);
    expect(b.delayMs(3, undefined, () => 0.5, -1)).toBe(200);
    expect(b.delayMs(3, undefined, () => 0.5, 7)).toBe(400);
    expect(b.delayMs(3, undefined, () => 0.5)).toBe(300);
    expect(b.options).toEqual({ initialMs: 100, maxMs: 2000, multiplier: 2, jitter: 'phased' });
  });
});

describe('presets', () => {
  test('gRPC: 1 s, ×1.6, ±20 %, max 120 s (jitter after the cap, as in gRPC)', () => {
    const g = grpcBackoff();
    expect(g.options).toEqual({ initialMs: 1000, maxMs: 120_000, multiplier: 1.6, jitter: 'proportional', jitterRatio: 0.2 });
    const mid = () => 0.5;
    expect([1, 2, 3].map((n) => g.delayMs(n, undefined, mid))).toEqual([1000, 1600, 2560]);
    expect(g.delayMs(30, undefined, mid)).toBe(120_000);
    expect(g.delayMs(30, undefined, () => 0)).toBe(96_000);
    expect(g.delayMs(30, undefined, () => 0.999_999_9)).toBe(144_000);
    fc.assert(fc.property(fc.integer({ min: 1, max: 40 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (n, r) => {
      const c = cap(1000, 120_000, 1.6, n);
      const d = g.delayMs(n, undefined, () => r);
      expect(d).toBeGreaterThanOrEqual(Math.floor(c * 0.8));
      expect(d).toBeLessThanOrEqual(Math.ceil(c * 1.2));
    }));
  });

  test('default: exponential, full jitter, 100 ms .. 30 s, ×2', () => {
    expect(defaultBackoff().options).toEqual({ initialMs: 100, maxMs: 30_000, multiplier: 2, jitter: 'full' });
  });

  test('constantBackoff returns its delay, spread by jitterRatio when asked', () => {
    expect(constantBackoff({ delayMs: 250 }).delayMs(7, 250, () => 0.9)).toBe(250);
    const j = constantBackoff({ delayMs: 1000, jitterRatio: 0.1 });
    fc.assert(fc.property(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (r) => {
      const d = j.delayMs(1, undefined, () => r);
      expect(d).toBeGreaterThanOrEqual(900);
      expect(d).toBeLessThanOrEqual(1100);
    }));
  });
});

describe('validation', () => {
  const message = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      expect(hasCode(err, 'WW_INVALID_OPTION')).toBe(true);
      return (err as Error).message;
    }
    throw new Error('expected a throw');
  };

  test('options name the path, the limit and the value', () => {
    expect(message(() => exponentialBackoff({ initialMs: 0 }))).toBe('exponentialBackoff.initialMs must be an integer in [1, 2147483647] (ms), got 0');
    expect(message(() => exponentialBackoff({ initialMs: 500, maxMs: 100 }))).toBe('exponentialBackoff.maxMs must be an integer >= initialMs (500), got 100');
    expect(message(() => exponentialBackoff({ multiplier: 0.5 }))).toBe('exponentialBackoff.multiplier must be a finite number >= 1, got 0.5');
    expect(message(() => exponentialBackoff({ jitter: 'wild' as Jitter }))).toBe(
      'exponentialBackoff.jitter must be one of "none", "full", "equal", "decorrelated", "proportional", "phased", got "wild"',
    );
    expect(message(() => exponentialBackoff({ jitter: 'full', jitterRatio: 0.2 }))).toMatch(/jitterRatio only applies to jitter "proportional"/);
    expect(message(() => exponentialBackoff({ initialMS: 5 } as never))).toMatch(/^exponentialBackoff\.initialMS is not a known option/);
    expect(message(() => constantBackoff({ delayMs: -1 }))).toBe('constantBackoff.delayMs must be an integer in [0, 2147483647] (ms), got -1');
    expect(message(() => constantBackoff({ jitterRatio: 2 }))).toBe('constantBackoff.jitterRatio must be a finite number in [0, 1], got 2');
  });

  test('attempts are 1-based integers', () => {
    const b = exponentialBackoff();
    expect(message(() => b.delayMs(0, undefined, Math.random))).toBe('backoff attempt must be an integer >= 1, got 0');
    expect(message(() => b.delayMs(1.5, undefined, Math.random))).toBe('backoff attempt must be an integer >= 1, got 1.5');
  });
});
