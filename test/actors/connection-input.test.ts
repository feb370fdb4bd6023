/**
 * Input validation at actor creation: typed errors naming the option path, unknown keys
 * rejected, cross-field bounds, defaults in one frozen object, shared resolution.
 */
import { describe, expect, it } from 'vitest';
import { VirtualTimeScheduler } from 'rxjs';
import { createActor } from 'xstate';
import { InvalidOptionError } from '../../src/errors.js';
import { connectionMachine } from '../../src/actors/connection-machine.js';
import { defaultHeartbeat, parseConnectionInput, parseHeartbeat } from '../../src/actors/connection-input.js';
import type { ConnectionInput } from '../../src/actors/connection-types.js';
import { FakeProtocol } from './helpers/fake-protocol.js';
import { FakeTransport } from './helpers/fake-transport.js';

const vts = new VirtualTimeScheduler();
const protocol = new FakeProtocol({ scheduler: vts });
const transport = new FakeTransport({ scheduler: vts });
const base: ConnectionInput = { endpoint: { host: '127.0.0.1', port: 7000 }, protocol, transport, scheduler: vts };

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as InvalidOptionError).code).toBe('WW_INVALID_OPTION');
    return (err as Error).message;
  }
  throw new Error('expected an InvalidOptionError');
}

describe('heartbeat options', () => {
  it('defaults live in one frozen object', () => {
    expect(defaultHeartbeat).toEqual({
      intervalMs: 5000, minTimeoutMs: 100, maxTimeoutMs: 2000, suspectProbes: 2,
      suspectBackoffMultiplier: 2, eluWeight: 0.5, adaptive: false,
    });
    expect(Object.isFrozen(defaultHeartbeat)).toBe(true);
    const h = parseHeartbeat(undefined);
    expect(h).toMatchObject({ ...defaultHeartbeat, minIntervalMs: 1250, maxIntervalMs: 20_000 });
    expect(Object.isFrozen(h)).toBe(true);
  });

  it('names the path, the expected shape and the value', () => {
    expect(message(() => parseHeartbeat({ intervalMs: -5 }))).toBe('heartbeat.intervalMs must be an integer in [1, 2147483647] (ms), got -5');
    expect(message(() => parseHeartbeat({ intervalMs: 1.5 }))).toBe('heartbeat.intervalMs must be an integer in [1, 2147483647] (ms), got 1.5');
    expect(message(() => parseHeartbeat({ suspectBackoffMultiplier: 0.5 }))).toMatch(/^heartbeat\.suspectBackoffMultiplier must be a finite number in \[1, 100\], got 0\.5$/);
    expect(message(() => parseHeartbeat({ adaptive: 'yes' }))).toBe('heartbeat.adaptive must be a boolean, got "yes"');
  });

  it('rejects unknown keys', () => {
    expect(message(() => parseHeartbeat({ intervalMS: 1000 }))).toMatch(/^heartbeat\.intervalMS is not a known option/);
  });

  it('checks cross-field bounds', () => {
    expect(message(() => parseHeartbeat({ minTimeoutMs: 3000 }))).toBe(
      'heartbeat.minTimeoutMs must be an integer <= heartbeat.maxTimeoutMs (2000), got 3000');
    expect(message(() => parseHeartbeat({ intervalMs: 1000, minIntervalMs: 2000 }))).toMatch(/minIntervalMs must be an integer <= heartbeat\.intervalMs \(1000\)/);
    expect(message(() => parseHeartbeat({ intervalMs: 1000, maxIntervalMs: 500 }))).toMatch(/maxIntervalMs must be an integer >= heartbeat\.intervalMs \(1000\)/);
  });

  it('resolves one input object once (connections sharing options share the result)', () => {
    const options = { intervalMs: 1000 };
    expect(parseHeartbeat(options)).toBe(parseHeartbeat(options));
    expect(parseHeartbeat(undefined)).toBe(parseHeartbeat(undefined));
  });

  it('shares one resolved heartbeat between equal options objects (a literal per connection)', () => {
    const a = parseHeartbeat({ intervalMs: 1234, suspectProbes: 1 });
    expect(parseHeartbeat({ suspectProbes: 1, intervalMs: 1234 })).toBe(a);
    expect(parseHeartbeat({ intervalMs: 1234, suspectProbes: 1, minIntervalMs: 309 })).toBe(a); // 309 is its default
    expect(parseHeartbeat({ intervalMs: 1234, suspectProbes: 2 })).not.toBe(a);
    expect(parseHeartbeat({ intervalMs: 1234, suspectProbes: 1, adaptive: true })).not.toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
  });
});

describe('connection input', () => {
  it('fills the timeout defaults', () => {
    expect(parseConnectionInput(base)).toMatchObject({ connectTimeoutMs: 10_000, handshakeTimeoutMs: 10_000, closeTimeoutMs: 5000 });
  });

  it('requires a protocol, an endpoint with a port or a path, and known keys', () => {
    expect(message(() => parseConnectionInput({ ...base, protocol: undefined as never }))).toMatch(/^connection\.protocol must be a Protocol/);
    expect(message(() => parseConnectionInput({ ...base, endpoint: { host: 'x' } }))).toMatch(/^connection\.endpoint must be an object with a port/);
    expect(message(() => parseConnectionInput({ ...base, endpoint: { port: 70_000 } }))).toMatch(/^connection\.endpoint\.port must be an integer in \[1, 65535\]/);
    expect(message(() => parseConnectionInput({ ...base, connectTimeoutMs: 0 }))).toBe('connection.connectTimeoutMs must be an integer in [1, 2147483647] (ms), got 0');
    expect(message(() => parseConnectionInput({ ...base, retries: 3 } as never))).toMatch(/^connection\.retries is not a known option/);
    expect(message(() => parseConnectionInput({ ...base, scheduler: {} as never }))).toMatch(/^connection\.scheduler must be a SchedulerLike/);
  });

  it('never prints the protocol object (it may hold a token)', () => {
    const leaky = { name: 'leaky', token: 's3cr3t', open: 1 };
    const msg = message(() => parseConnectionInput({ ...base, protocol: leaky as never }));
    expect(msg).not.toContain('s3cr3t');
  });

  it('a bad option fails at actor creation, before any dial', () => {
    const fresh = new FakeTransport({ scheduler: vts });
    const actor = createActor(connectionMachine, { input: { ...base, transport: fresh, heartbeat: { intervalMs: -5 } } });
    const snap = actor.getSnapshot();
    expect(snap.status).toBe('error');
    expect(snap.error).toBeInstanceOf(InvalidOptionError);
    expect((snap.error as Error).message).toBe('connection.heartbeat.intervalMs must be an integer in [1, 2147483647] (ms), got -5');
    const errors: unknown[] = [];
    actor.subscribe({ error: (e) => errors.push(e) });
    actor.start();
    expect(errors).toHaveLength(1);
    expect(fresh.dials).toHaveLength(0);
  });
});
