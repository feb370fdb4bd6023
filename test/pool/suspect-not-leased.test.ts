/**
 * Only `ready` connections are leased: a connection whose probe timed out (`suspect`,
 * secondary verification running) stays in the pool but is passed over until it
 * recovers. Virtual time, real supervisor and connection actors, in-memory network.
 */
import { describe, expect, it } from 'vitest';
import { shutdown, supervisedPool } from './helpers/supervised-pool.js';

const heartbeat = { intervalMs: 1000, minTimeoutMs: 50, maxTimeoutMs: 200, suspectProbes: 3 };

describe('suspect connections', () => {
  it('are not leased while suspect, and are leased again once ready', async () => {
    const t = supervisedPool({ min: 1, max: 1, heartbeat, acquireTimeoutMs: 5000 });
    await t.clock.advance(1);
    expect(t.pool.connections().map((c) => c.state)).toEqual(['ready']);

    t.net.hangChecks = true; // the peer stops answering probes
    let state = '';
    for (let i = 0; i < 40 && state !== 'suspect'; i++) {
      await t.clock.advance(50);
      state = t.pool.connections()[0]!.state;
    }
    expect(state).toBe('suspect');
    expect(t.pool.stats()).toMatchObject({ open: 1, idle: 1, leased: 0 });

    let granted = false;
    const waiting = t.pool.acquire().then((lease) => {
      granted = true;
      return lease;
    });
    await t.clock.advance(1);
    expect(granted).toBe(false); // the only connection is suspect: the acquire waits

    t.net.hangChecks = false; // the next verification probe is answered
    for (let i = 0; i < 40 && !granted; i++) await t.clock.advance(50);
    expect(granted).toBe(true);
    expect(t.pool.connections()[0]!.state).toBe('ready');
    const lease = await waiting;
    expect(await lease.conn.request('after')).toBe('after');
    lease.release();
    await shutdown(t);
  });
});

describe('suspect connections on release', () => {
  it('a leased connection is never probed, so a silent lease never turns suspect', async () => {
    const t = supervisedPool({ min: 1, max: 1, heartbeat, acquireTimeoutMs: 5000 });
    await t.clock.advance(1);
    const lease = await t.pool.acquire();
    t.net.hangChecks = true;
    for (let i = 0; i < 100; i++) await t.clock.advance(50);
    expect(t.pool.connections()[0]!.state).toBe('ready');
    lease.release();
    let state = '';
    for (let i = 0; i < 40 && state !== 'suspect'; i++) {
      await t.clock.advance(50);
      state = t.pool.connections()[0]!.state;
    }
    expect(state).toBe('suspect'); // idle again: probed on its grid, and the silence is noticed
    t.net.hangChecks = false;
    await shutdown(t);
  });

  it('are not handed to a waiting acquirer; the waiter gets it once it is ready again', async () => {
    const t = supervisedPool({ min: 1, max: 1, heartbeat, acquireTimeoutMs: 5000 });
    await t.clock.advance(1);
    t.net.hangChecks = true; // the peer stops answering probes
    // A leased connection is never probed: lease it while its probe is already out.
    let state = '';
    for (let i = 0; i < 300 && state !== 'probing'; i++) {
      await t.clock.advance(10);
      state = t.pool.connections()[0]!.state;
    }
    expect(state).toBe('probing');
    const first = await t.pool.acquire();
    for (let i = 0; i < 40 && state !== 'suspect'; i++) {
      await t.clock.advance(50);
      state = t.pool.connections()[0]!.state;
    }
    expect(state).toBe('suspect');

    let granted = false;
    const waiting = t.pool.acquire().then((lease) => {
      granted = true;
      return lease;
    });
    first.release();
    await t.clock.advance(1);
    expect(granted).toBe(false); // released while suspect: it rests idle, the waiter keeps waiting
    expect(t.pool.stats()).toMatchObject({ idle: 1, leased: 0, waiting: 1 });

    t.net.hangChecks = false;
    for (let i = 0; i < 40 && !granted; i++) await t.clock.advance(50);
    expect(granted).toBe(true);
    const lease = await waiting;
    expect(await lease.conn.request('x')).toBe('x');
    lease.release();
    await shutdown(t);
  });
});
