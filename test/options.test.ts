import { describe, expect, it } from 'vitest';
import { arrayOf, boolean, integer, number, oneOf, optional, parseOptions, shape, string } from '../src/options.js';
import { InvalidOptionError } from '../src/errors.js';

const heartbeat = shape({
  intervalMs: integer({ min: 1, default: 5000 }),
  ratio: number({ min: 0, max: 1, default: 0.5 }),
  adaptive: boolean({ default: false }),
  mode: oneOf(['a', 'b'] as const, { default: 'a' }),
  name: optional(string({ nonEmpty: true })),
  hosts: arrayOf(string(), { default: () => [] }),
  required: integer({ min: 0 }),
});

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as InvalidOptionError).code).toBe('WW_INVALID_OPTION');
    return (err as Error).message;
  }
  throw new Error('expected a throw');
}

describe('parseOptions', () => {
  it('fills defaults and freezes the result', () => {
    const v = parseOptions('heartbeat', heartbeat, { required: 0 });
    expect(v).toEqual({ intervalMs: 5000, ratio: 0.5, adaptive: false, mode: 'a', hosts: [], required: 0 });
    expect(Object.isFrozen(v)).toBe(true);
  });

  it('names the path, the expected shape and the value', () => {
    expect(message(() => parseOptions('heartbeat', heartbeat, { required: 0, intervalMs: -5 }))).toBe(
      'heartbeat.intervalMs must be an integer >= 1, got -5',
    );
    expect(message(() => parseOptions('heartbeat', heartbeat, { required: 0, ratio: 2 }))).toBe(
      'heartbeat.ratio must be a finite number in [0, 1], got 2',
    );
    expect(message(() => parseOptions('heartbeat', heartbeat, { required: 0, mode: 'c' }))).toBe(
      'heartbeat.mode must be one of "a", "b", got "c"',
    );
    expect(message(() => parseOptions('heartbeat', heartbeat, { required: 0, hosts: ['x', 3] }))).toBe(
      'heartbeat.hosts[1] must be a string, got 3',
    );
    expect(message(() => parseOptions('heartbeat', heartbeat, {}))).toBe(
      'heartbeat.required must be an integer >= 0, got undefined',
    );
  });

  it('rejects unknown keys and lists the known ones', () => {
    const m = message(() => parseOptions('heartbeat', heartbeat, { required: 0, intervalMS: 5 }));
    expect(m).toContain('heartbeat.intervalMS is not a known option');
    expect(m).toContain('intervalMs');
  });

  it('never coerces: strings, NaN and non-integers are refused', () => {
    expect(() => parseOptions('heartbeat', heartbeat, { required: 0, intervalMs: '5000' })).toThrow(InvalidOptionError);
    expect(() => parseOptions('heartbeat', heartbeat, { required: 0, intervalMs: 1.5 })).toThrow(InvalidOptionError);
    expect(() => parseOptions('heartbeat', heartbeat, { required: 0, ratio: Number.NaN })).toThrow(InvalidOptionError);
    expect(() => parseOptions('heartbeat', heartbeat, 'nope')).toThrow('heartbeat must be an object, got "nope"');
  });

  it('does not echo long strings in full', () => {
    const m = message(() => parseOptions('heartbeat', heartbeat, { required: 0, adaptive: 'x'.repeat(500) }));
    expect(m.length).toBeLessThan(120);
  });
});
