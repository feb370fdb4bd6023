import { describe, expect, it } from 'vitest';
import { makePool, track } from './helpers/make-pool.js';
import { drain } from './helpers/virtual-clock.js';

describe('stats() and connections()', () => {
  it('mirrors DBStats with a per-endpoint breakdown that adds up', async () => {
    const t = makePool({
      min: 0, max: 4, acquireTimeoutMs: 500,
      endpoints: [{ host: 'a', port: 1, weight: 1 }, { host: 'b', port: 1, weight: 1 }],
    });
    const ws = [track(t.pool.acquire()), track(t.pool.acquire()), track(t.pool.acquire())];
    t.source.ready(t.source.opened[0]!);
    t.source.ready(t.source.opened[1]!);
    t.source.failDial(t.source.opened[2]!);
    await t.clock.advance(200);
    ws[0]!.value!.release(); // handed to the third waiter, which waited 200 ms
    await drain();
    const s = t.pool.stats();
    expect(s).toMatchObject({
      max: 4, min: 0, open: 2, leased: 2, idle: 0, pending: 1, waiting: 0,
      waitCount: 3, waitDurationMs: 200, timeouts: 0, acquired: 3,
    });
    // the slot whose dial to a failed moved to b, which is live (failover)
    expect(s.endpoints).toEqual({
      'a:1': { open: 1, leased: 1, idle: 0, shared: 0, pending: 0, inFlight: 0, failures: 1 },
      'b:1': { open: 1, leased: 1, idle: 0, shared: 0, pending: 1, inFlight: 0, failures: 0 },
    });
    expect(Object.isFrozen(s)).toBe(true);
    for (const key of ['open', 'leased', 'idle', 'pending'] as const) {
      expect(Object.values(s.endpoints).reduce((n, e) => n + e[key], 0)).toBe(s[key]);
    }
    expect(s.closed).toEqual({ idle: 0, lifetime: 0, dead: 0, leaked: 0, 'reset-failed': 0, validation: 0, destroyed: 0, shutdown: 0, removed: 0, stale: 0 });
  });

  it('connections() lists each slot with the source\'s state and RTT', async () => {
    const t = makePool({ max: 2 });
    track(t.pool.acquire());
    track(t.pool.acquire());
    await t.clock.advance(40);
    t.source.ready(t.source.opened[0]!);
    await drain();
    expect(t.pool.connections()).toEqual([
      { id: 'conn-1', endpoint: '127.0.0.1:7000', state: 'ready', leased: true, inFlight: 0, rttMs: 1, since: 40 },
      { id: 'conn-2', endpoint: '127.0.0.1:7000', state: 'dialing', leased: false, inFlight: 0, since: 0 },
    ]);
  });
});
