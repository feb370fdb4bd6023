import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/errors.js';
import { parsePoolOptions, poolDefaults } from '../../src/pool/pool-options.js';

const protocol = { name: 'fake', open: async () => ({}), probe: async () => {}, close: async () => {} };
const base = { endpoints: [{ host: '127.0.0.1', port: 7000 }], protocol };

function message(input: unknown): string {
  try {
    parsePoolOptions(input);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as InvalidOptionError).code).toBe('WW_INVALID_OPTION');
    return (err as Error).message;
  }
  throw new Error('expected InvalidOptionError');
}

describe('pool options', () => {
  it('fills every default from one frozen object and freezes the result', () => {
    const o = parsePoolOptions(base);
    expect(Object.isFrozen(poolDefaults)).toBe(true);
    expect(Object.isFrozen(o)).toBe(true);
    expect(o).toMatchObject({ ...poolDefaults, leakReclaimGraceMs: 0 });
    expect(o.endpoints).toEqual([{ host: '127.0.0.1', port: 7000, priority: 0, weight: 1 }]);
    expect(o.maxWaiting).toBe(Number.POSITIVE_INFINITY);
  });

  it('names the path, the expected shape and the value', () => {
    expect(message({ ...base, max: 0 })).toBe('pool.max must be an integer >= 1, got 0');
    expect(message({ ...base, acquireTimeoutMs: -5 })).toBe('pool.acquireTimeoutMs must be an integer in [1, 2147483647] (ms), got -5');
    expect(message({ ...base, lifetimeJitter: 2 })).toBe('pool.lifetimeJitter must be a finite number in [0, 1], got 2');
    expect(message({ ...base, idleTimeoutMs: '10' })).toBe('pool.idleTimeoutMs must be an integer in [0, 2147483647] (ms), got "10"');
    expect(message({ ...base, maxWaiting: -1 })).toBe('pool.maxWaiting must be an integer >= 0 or Infinity, got -1');
    expect(message({ ...base, reclaimLeaked: 'yes' })).toBe('pool.reclaimLeaked must be a boolean, got "yes"');
    expect(message({ ...base, housekeepingIntervalMs: 0 })).toBe('pool.housekeepingIntervalMs must be an integer in [1, 2147483647] (ms), got 0');
    expect(message({ ...base, protocol: undefined })).toBe('pool.protocol must be a protocol object, got undefined');
    expect(message({ ...base, heartbeat: 5 })).toBe('pool.heartbeat must be an object, got 5');
  });

  it('validates endpoints: at least one, host+port or path, bounds, no duplicates', () => {
    expect(message({ ...base, endpoints: [] })).toMatch(/^pool\.endpoints must be an array of at least 1/);
    expect(message({ ...base, endpoints: [{ host: 'a' }] })).toBe('pool.endpoints[0] must have a host and a port, or a path');
    expect(message({ ...base, endpoints: [{ host: 'a', port: 70000 }] })).toBe(
      'pool.endpoints[0].port must be an integer in [1, 65535], got 70000',
    );
    expect(message({ ...base, endpoints: [{ path: '/tmp/s', port: 1 }] })).toBe(
      'pool.endpoints[0] must have either a path or a host and port, not both',
    );
    expect(message({ ...base, endpoints: [{ host: 'a', port: 1, weight: 0 }] })).toBe(
      'pool.endpoints[0].weight must be an integer in [1, 1000], got 0',
    );
    expect(message({ ...base, endpoints: [{ host: 'a', port: 1 }, { host: 'a', port: 1, priority: 1 }] })).toBe(
      'pool.endpoints[1] duplicates pool.endpoints[0] (a:1)',
    );
    expect(parsePoolOptions({ ...base, endpoints: [{ path: '/tmp/s', priority: 2, weight: 3 }] }).endpoints[0]).toEqual({
      path: '/tmp/s', priority: 2, weight: 3,
    });
  });

  it('rejects unknown keys at every level', () => {
    expect(message({ ...base, maxSize: 3 })).toMatch(/^pool\.maxSize is not a known option \(known: endpoints, protocol/);
    expect(message({ ...base, endpoints: [{ host: 'a', port: 1, tls: true }] })).toMatch(/^pool\.endpoints\[0\]\.tls is not a known option/);
  });

  it('checks fields against each other with messages naming both', () => {
    expect(message({ ...base, min: 12, max: 10 })).toBe('pool.min must be <= pool.max (10), got 12');
    expect(message({ ...base, reclaimLeaked: true })).toBe('pool.reclaimLeaked requires pool.leakDetectionMs >= 1, got 0');
    expect(message({ ...base, leakDetectionMs: 1000, leakReclaimGraceMs: 5 })).toBe(
      'pool.leakReclaimGraceMs requires pool.reclaimLeaked true, got false',
    );
    expect(message({ ...base, resetOnRelease: true })).toBe('pool.resetOnRelease requires a protocol with a reset() method');
  });

  it('defaults the reclaim grace to leakDetectionMs and accepts Infinity for maxWaiting', () => {
    const o = parsePoolOptions({ ...base, leakDetectionMs: 2000, reclaimLeaked: true, maxWaiting: Infinity });
    expect(o.leakReclaimGraceMs).toBe(2000);
    expect(o.maxWaiting).toBe(Infinity);
    expect(parsePoolOptions({ ...base, resetOnRelease: true, protocol: { ...protocol, reset: async () => {} } }).resetOnRelease).toBe(true);
  });
});
