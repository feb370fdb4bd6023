/**
 * `rt.createPool` validates every option at its boundary with `pool.` paths, before any
 * actor or socket exists, and names pools under the runtime's root.
 */
import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ChildExistsError, InvalidOptionError } from '../../src/errors.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { constantBackoff } from '../../src/supervisor/backoff.js';
import { createSupervisorHandle } from '../../src/supervisor/supervisor-handle.js';
import { wire } from '../../src/transport/wire.js';

const endpoints = [{ host: '127.0.0.1', port: 7000 }];
const protocol = wire();

function rootChildren(rt: Runtime): string[] {
  return createSupervisorHandle('root', 'root', () => rt.root).children().map((c) => c.id);
}

function message(rt: Runtime, options: Record<string, unknown>): string {
  try {
    rt.createPool({ endpoints, protocol, ...options } as Parameters<Runtime['createPool']>[0]);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as InvalidOptionError).code).toBe('WW_INVALID_OPTION');
    return (err as Error).message;
  }
  throw new Error('expected InvalidOptionError');
}

describe('rt.createPool options', () => {
  it('names the option path, the expected shape and the value; creates nothing on failure', async () => {
    const rt = createRuntime({ scheduler: new VirtualTimeScheduler() });
    expect(message(rt, { max: 0 })).toBe('pool.max must be an integer >= 1, got 0');
    expect(message(rt, { heartbeat: { intervalMs: -5 } })).toBe('pool.heartbeat.intervalMs must be an integer in [1, 2147483647] (ms), got -5');
    expect(message(rt, { heartbeat: { minTimeoutMs: 500, maxTimeoutMs: 100 } })).toMatch(/^pool\.heartbeat\.minTimeoutMs must be an integer <= pool\.heartbeat\.maxTimeoutMs \(100\)/);
    expect(message(rt, { heartbeat: { interval: 5 } })).toMatch(/^pool\.heartbeat\.interval is not a known option/);
    expect(message(rt, { protocol: { name: 'x', open: () => {} } })).toMatch(/^pool\.protocol must be a Protocol \(an object with probe, close and exactly one of open and connect\), got/);
    expect(message(rt, { transport: { kind: 'tcp' } })).toMatch(/^pool\.transport must be a Transport \(an object with a dial function\), got/);
    expect(message(rt, { backoff: { initialMs: 10 } })).toMatch(/^pool\.backoff must be a backoff policy \(an object with delayMs\(attempt, prevMs, random\)\), got/);
    expect(message(rt, { id: 'a/b' })).toBe('pool.id must be a non-empty string without "/", got "a/b"');
    expect(message(rt, { connectTimeoutMs: 0 })).toBe('pool.connectTimeoutMs must be an integer in [1, 2147483647] (ms), got 0');
    expect(message(rt, { validationTimeoutMs: 0 })).toBe('pool.validationTimeoutMs must be an integer in [1, 2147483647] (ms), got 0');
    expect(message(rt, { logger: {} })).toMatch(/^pool\.logger must be a logger \(an object with a warn function\), got/);
    expect(message(rt, { maxSize: 3 })).toMatch(/^pool\.maxSize is not a known option \(known: endpoints, protocol/);
    expect(rootChildren(rt)).toEqual([]);
    await rt.shutdown();
  });

  it('names pools pool-1, pool-2… skipping taken ids; a duplicate id is WW_CHILD_EXISTS', async () => {
    const rt = createRuntime({ scheduler: new VirtualTimeScheduler() });
    const backoff = constantBackoff({ delayMs: 1000 });
    const a = rt.createPool({ endpoints, protocol, backoff });
    rt.createSupervisor({ id: 'pool-2' });
    const b = rt.createPool({ endpoints, protocol, backoff });
    const named = rt.createPool({ id: 'orders', endpoints, protocol, backoff });
    expect([a.id, b.id, named.id]).toEqual(['pool-1', 'pool-3', 'orders']);
    expect(() => rt.createPool({ id: 'orders', endpoints, protocol })).toThrow(ChildExistsError);
    expect(rootChildren(rt)).toEqual(['pool-1', 'pool-2', 'pool-3', 'orders']);
    expect(a.options.validationTimeoutMs).toBe(5000);
    expect(Object.isFrozen(a.options)).toBe(true);
    await rt.shutdown();
  });
});
