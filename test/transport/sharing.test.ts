/**
 * `SessionSharing` for wire() and custom(): wire() is shareable (256 in flight, the
 * server's per-client default, no enter/leave since nothing needs the session alone), and
 * one wire session carries that many concurrent callers on a real loopback server with
 * every reply matched; custom() shares only when asked, with `sharing` validated at
 * construction and kept as given.
 */
import { asyncScheduler } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors.js';
import { custom } from '../../src/transport/custom.js';
import { tcp } from '../../src/transport/tcp.js';
import { createWireServer } from '../../src/transport/wire-server.js';
import { DEFAULT_MAX_IN_FLIGHT_PER_CLIENT } from '../../src/transport/wire-server-options.js';
import { wire } from '../../src/transport/wire.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('wire() sharing', () => {
  it('is shareable up to the server\'s per-client limit, with nothing to refuse', () => {
    const sharing = wire().sharing!;
    expect(sharing).toEqual({ maxInFlight: 256 });
    expect(sharing.maxInFlight).toBe(DEFAULT_MAX_IN_FLIGHT_PER_CLIENT);
    expect(Object.isFrozen(sharing)).toBe(true);
  });

  it('one session carries maxInFlight concurrent callers on a real loopback server, each reply to its caller', async () => {
    let running = 0;
    let peak = 0;
    const server = createWireServer({
      handler: async (payload) => {
        peak = Math.max(peak, ++running);
        await new Promise((r) => setImmediate(r));
        running--;
        return { echo: payload };
      },
    });
    cleanups.push(() => server.close({ graceful: false }));
    const { port } = (await server.listen()) as { port: number };
    const protocol = wire();
    const stream = await tcp().dial({ port }, { connectTimeoutMs: 2000 });
    const session = await protocol.open(stream, {
      signal: new AbortController().signal, endpoint: { host: '127.0.0.1', port }, markAlive: () => {}, scheduler: asyncScheduler,
    });
    cleanups.push(() => session.destroy());
    const n = protocol.sharing!.maxInFlight;
    const replies = await Promise.all(Array.from({ length: n }, (_, i) => session.request({ caller: i })));
    expect(replies).toEqual(Array.from({ length: n }, (_, i) => ({ echo: { caller: i } })));
    expect(peak).toBe(n); // all in flight at once, none held back by the server
  });
});

describe('custom() sharing (opt-in)', () => {
  const base = { open: async () => ({}), probe: async () => {}, close: async () => {} };

  it('absent unless given; given, it is validated, frozen, and its enter/leave are the caller\'s', () => {
    expect(custom(base).sharing).toBeUndefined();
    const entered: object[] = [];
    const enter = (s: object): void => void entered.push(s);
    const sharing = custom({ ...base, sharing: { maxInFlight: 8, enter } }).sharing!;
    expect(sharing.maxInFlight).toBe(8);
    expect(Object.isFrozen(sharing)).toBe(true);
    expect(sharing.leave).toBeUndefined();
    const session = {};
    sharing.enter!(session);
    expect(entered).toEqual([session]);
    const connectMode = custom({ connect: async () => ({}), probe: async () => {}, close: async () => {}, sharing: { maxInFlight: 1 } });
    expect(connectMode.sharing).toEqual({ maxInFlight: 1 });
    // canShare, the pool's check before enter, is the caller's as well.
    const canShare = (s: { idle?: boolean }): boolean => s.idle === true;
    const withCheck = custom({ ...base, sharing: { maxInFlight: 2, canShare } }).sharing!;
    expect(withCheck.canShare).toBe(canShare);
    expect([withCheck.canShare!({ idle: true }), withCheck.canShare!({})]).toEqual([true, false]);
  });

  it.each([
    [{ maxInFlight: 0 }, 'custom.sharing.maxInFlight must be an integer in [1, 2147483647], got 0'],
    [{ maxInFlight: 1.5 }, 'custom.sharing.maxInFlight must be an integer in [1, 2147483647], got 1.5'],
    [{}, 'custom.sharing.maxInFlight must be an integer in [1, 2147483647], got undefined'],
    [{ maxInFlight: 4, enter: 'yes' }, 'custom.sharing.enter must be a function'],
    [{ maxInFlight: 4, canShare: true }, 'custom.sharing.canShare must be a function'],
    [{ maxInFlight: 4, max: 5 }, 'custom.sharing.max is not a known option'],
    [true, 'custom.sharing must be an object'],
  ])('refuses %j at construction', (sharing, message) => {
    let caught: unknown;
    try {
      custom({ ...base, sharing: sharing as never });
    } catch (err) {
      caught = err;
    }
    expect(hasCode(caught, 'WW_INVALID_OPTION')).toBe(true);
    expect((caught as Error).message).toContain(message);
  });
});
