import { describe, expect, it } from 'vitest';
import { PoolTimeoutError } from '../../src/errors.js';
import type { ChooseEndpoint } from '../../src/pool/connection-source.js';
import { makePool, track } from './helpers/make-pool.js';
import { drain } from './helpers/virtual-clock.js';

describe('growth and endpoints', () => {
  it('opens min at once, then one slot per waiter not covered by a pending dial, up to max', () => {
    const t = makePool({ min: 2, max: 5 });
    expect(t.source.opened).toHaveLength(2);
    track(t.pool.acquire());
    track(t.pool.acquire());
    expect(t.source.opened).toHaveLength(2); // two pending dials cover two waiters
    track(t.pool.acquire());
    expect(t.source.opened).toHaveLength(3);
    for (let i = 0; i < 10; i++) track(t.pool.acquire());
    expect(t.source.opened).toHaveLength(5);
    expect(t.pool.stats()).toMatchObject({ pending: 5, waiting: 13 });
  });

  it('fails a pending slot over to the live group, cycles while every endpoint fails, and returns', async () => {
    const t = makePool({
      max: 10,
      endpoints: [{ host: 'primary', port: 1, priority: 0 }, { host: 'backup', port: 1, priority: 1 }],
    });
    const failovers: unknown[] = [];
    const moves: string[] = [];
    t.pool.events$.subscribe((e) => {
      if (e.type === 'failover') failovers.push(e);
      if (e.type === 'priority-failover' || e.type === 'priority-failback') moves.push(`${e.type} ${e.from}->${e.to}`);
    });
    track(t.pool.acquire());
    const first = t.source.opened[0]!;
    expect(first.endpointKey).toBe('primary:1');
    t.source.failDial(first); // backup has not failed: the slot's next attempt dials it
    expect(first.endpointKey).toBe('backup:1');
    expect(failovers).toEqual([{ type: 'failover', at: 0, id: 'conn-1', from: 'primary:1', to: 'backup:1' }]);
    expect(moves).toEqual(['priority-failover 0->1']); // the primary is down: traffic moves to group 1
    track(t.pool.acquire());
    const second = t.source.opened[1]!;
    expect(second.endpointKey).toBe('backup:1'); // new slots go to the active group
    expect(t.source.opened).toHaveLength(2);

    t.source.failDial(first); // every endpoint failing: attempts cycle through the list
    expect(first.endpointKey).toBe('primary:1');
    t.source.failDial(first);
    expect(first.endpointKey).toBe('backup:1');
    t.source.failDial(first);
    expect(first.endpointKey).toBe('primary:1');
    expect(t.source.opened).toHaveLength(2); // moves never open anything

    t.source.ready(first); // the primary is back, the backup is down: traffic goes back at once
    await drain();
    expect(moves).toEqual(['priority-failover 0->1', 'priority-failover 1->0']);
    t.source.failDial(second); // a slot still failing on the backup follows it
    expect(second.endpointKey).toBe('primary:1');
    track(t.pool.acquire());
    track(t.pool.acquire());
    expect(t.source.opened.slice(2).map((s) => s.endpointKey)).toEqual(['primary:1', 'primary:1']);
    const s = t.pool.stats();
    expect(s.endpoints['primary:1']).toMatchObject({ open: 1, pending: 3 });
    expect(s.endpoints['backup:1']).toMatchObject({ open: 0, pending: 0 });
  });

  it('scouts a down primary while the backup serves: one slot pinned to it, no capacity for the queue', async () => {
    const t = makePool({ max: 4, endpoints: [{ host: 'primary', port: 1, priority: 0 }, { host: 'backup', port: 1, priority: 1 }] });
    track(t.pool.acquire());
    const first = t.source.opened[0]!;
    t.source.failDial(first);
    t.source.ready(first); // on the backup
    await drain();
    const scout = t.source.opened[1]!;
    expect([scout.endpointKey, scout.pinned]).toEqual(['primary:1', true]);
    t.source.failDial(scout); // a scout stays where it is, retried on the source's backoff
    expect(scout.endpointKey).toBe('primary:1');
    track(t.pool.acquire());
    track(t.pool.acquire());
    expect(t.source.opened.slice(2).map((s) => s.endpointKey)).toEqual(['backup:1', 'backup:1']); // the scout serves nobody yet
    t.source.ready(scout);
    await drain();
    expect(scout.pinned).toBe(false);
    expect(t.pool.stats().endpoints['primary:1']).toMatchObject({ open: 1 });
  });

  it('spreads connections by weight within a group', () => {
    const t = makePool({
      max: 6,
      endpoints: [{ host: 'a', port: 1, weight: 2 }, { host: 'b', port: 1, weight: 1 }],
    });
    for (let i = 0; i < 6; i++) track(t.pool.acquire());
    const counts = t.source.opened.reduce<Record<string, number>>((acc, s) => {
      acc[s.endpointKey] = (acc[s.endpointKey] ?? 0) + 1;
      return acc;
    }, {});
    expect(counts).toEqual({ 'a:1': 4, 'b:1': 2 });
  });

  it('takes a pluggable endpoint policy', () => {
    const lastFirst: ChooseEndpoint = (endpoints) => endpoints.at(-1)!;
    const t = makePool({ endpoints: [{ host: 'a', port: 1 }, { host: 'z', port: 1 }] }, {}, { chooseEndpoint: lastFirst });
    track(t.pool.acquire());
    expect(t.source.opened[0]!.endpointKey).toBe('z:1');
  });

  it('waiters while the pool shrinks: dead connections are replaced and waiters served in order, or time out', async () => {
    const t = makePool({ max: 3, acquireTimeoutMs: 1000 });
    const first = [t.pool.acquire(), t.pool.acquire(), t.pool.acquire()];
    t.source.readyAll();
    const leases = await Promise.all(first);
    const waiters = Array.from({ length: 5 }, () => track(t.pool.acquire()));
    // two leased connections die: their holders lose them, the source replaces them
    t.source.die(t.source.opened[0]!);
    t.source.die(t.source.opened[1]!);
    expect(leases[0]!.active).toBe(false);
    expect(t.pool.stats()).toMatchObject({ open: 1, leased: 1, pending: 2, waiting: 5 });
    expect(t.source.opened).toHaveLength(3); // replacements, not new slots
    await t.clock.advance(100);
    t.source.readyAll();
    await drain();
    expect(waiters.map((w) => w.settled)).toEqual([1, 1, 0, 0, 0]);
    // the source gives up on the third: a new slot is opened for the waiters
    t.source.sink.onClosed(t.source.opened[2]!, new Error('gave up'));
    expect(t.source.opened).toHaveLength(4);
    expect(leases[2]!.active).toBe(false);
    t.source.readyAll();
    await drain();
    expect(waiters.map((w) => w.settled)).toEqual([1, 1, 1, 0, 0]);
    await t.clock.advance(900 + 20); // queued behind others: up to one waiter tick late
    expect(waiters[3]!.error).toBeInstanceOf(PoolTimeoutError);
    expect(waiters[4]!.error).toBeInstanceOf(PoolTimeoutError);
    expect(t.pool.stats()).toMatchObject({ open: 3, leased: 3, pending: 0, waiting: 0, timeouts: 2, closed: { dead: 3 } });
  });
});
