/**
 * Breaker options are validated once, with messages naming the path, the expected shape
 * and the value; the cross-field rules say both fields; nothing is coerced.
 */
import { describe, expect, it } from 'vitest';
import { breakerDefaults, parseBreakerOptions } from '../../../src/pool/health/breaker-options.js';

const invalid = (input: unknown) => {
  try {
    parseBreakerOptions(input, 'pool.breaker');
  } catch (err) {
    expect((err as { code?: string }).code).toBe('WW_INVALID_OPTION');
    return (err as Error).message;
  }
  throw new Error('accepted');
};

describe('parseBreakerOptions', () => {
  it('fills the documented defaults and freezes the result', () => {
    const o = parseBreakerOptions(undefined);
    expect(o).toMatchObject({ ...breakerDefaults });
    expect(Object.isFrozen(o)).toBe(true);
  });

  it('rejects bad values with the path, the shape and the value', () => {
    expect(invalid({ failureRateThreshold: 0 })).toBe('pool.breaker.failureRateThreshold must be a number in (0, 100] (percent), got 0');
    expect(invalid({ slowCallRateThreshold: 101 })).toBe('pool.breaker.slowCallRateThreshold must be a number in (0, 100] (percent), got 101');
    expect(invalid({ waitDurationInOpenStateMs: 1.5 })).toBe('pool.breaker.waitDurationInOpenStateMs must be an integer in [1, 2147483647] (ms), got 1.5');
    expect(invalid({ slidingWindowType: 'COUNT_BASED' })).toBe('pool.breaker.slidingWindowType must be one of "count-based", "time-based", got "COUNT_BASED"');
    expect(invalid({ permittedNumberOfCallsInHalfOpenState: 0 })).toContain('permittedNumberOfCallsInHalfOpenState must be an integer in [1, 10000], got 0');
    expect(invalid({ randomizationFactor: 2 })).toContain('randomizationFactor must be a finite number in [0, 1], got 2');
    expect(invalid({ waitDurationInOpenState: 5000 })).toMatch(/^pool\.breaker\.waitDurationInOpenState is not a known option/);
  });

  it('names both fields in the cross-field rules', () => {
    expect(invalid({ minimumNumberOfCalls: 30 })).toBe('pool.breaker.minimumNumberOfCalls must be <= pool.breaker.slidingWindowSize (20), got 30');
    expect(invalid({ slidingWindowSizeMs: 5000 })).toBe('pool.breaker.slidingWindowSizeMs requires pool.breaker.slidingWindowType "time-based", got "count-based"');
    expect(invalid({ slidingWindowType: 'time-based', slidingWindowSize: 10 })).toContain('pool.breaker.slidingWindowSize requires pool.breaker.slidingWindowType "count-based"');
    expect(invalid({ waitDurationInOpenStateMs: 5000, maxWaitDurationInOpenStateMs: 1000 }))
      .toBe('pool.breaker.maxWaitDurationInOpenStateMs must be >= pool.breaker.waitDurationInOpenStateMs (5000), got 1000');
  });

  it('a time-based window takes any minimumNumberOfCalls; a long first wait raises the default cap', () => {
    expect(parseBreakerOptions({ slidingWindowType: 'time-based', minimumNumberOfCalls: 500 }).slidingWindowSizeMs).toBe(10_000);
    expect(parseBreakerOptions({ waitDurationInOpenStateMs: 120_000 }).maxWaitDurationInOpenStateMs).toBe(120_000);
  });
});
