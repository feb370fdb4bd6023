/**
 * A connection whose stream is destroyed before its death reaches the pool (resp() destroys
 * its session on a request timeout; the socket's 'close' comes a loop turn later): nobody
 * is handed it meanwhile — not the next dispatch, not a queued one, not the next acquire —
 * and its death is counted at once, so that the replacement serves them.
 */
import { describe, expect, it } from 'vitest';
import type { FakeConn } from './helpers/fake-source.js';
import { gate, makePool, shareableProtocol, track } from './helpers/make-pool.js';
import { drain } from './helpers/virtual-clock.js';

/** A stream the test destroys by hand (what the pool reads of a Duplex). */
function stream(): { destroyed: boolean; errored: Error | null } {
  return { destroyed: false, errored: null };
}

describe('a connection whose stream is already destroyed', () => {
  it('is not granted to the dispatch queued behind the one that destroyed it; the replacement is', async () => {
    const t = makePool({ protocol: shareableProtocol(1), min: 1, max: 1 });
    const [slot] = t.source.opened;
    const s = stream();
    t.source.ready(slot!, s);
    const work = gate();
    const first = track(t.pool.dispatch(() => work.promise));
    const ran: number[] = [];
    const queued = track(t.pool.dispatch((conn: FakeConn) => void ran.push(conn.serial)));
    await drain();
    // The request timed out: the protocol rejects it and destroys the stream.
    s.destroyed = true;
    s.errored = new Error('request timed out');
    work.reject(s.errored);
    await drain();
    expect(first.error).toBe(s.errored);
    expect(queued.settled).toBe(0);
    expect(slot!.state).toBe('pending');
    expect(t.pool.stats().closed.dead).toBe(1);
    // The socket's 'close' arrives: the source's late report changes nothing.
    t.source.die(slot!);
    expect(t.pool.stats().closed.dead).toBe(1);
    t.source.ready(slot!, stream());
    await drain();
    expect(queued.settled).toBe(1);
    expect(queued.error).toBeUndefined();
    expect(ran).toEqual([2]);
    await t.pool.close();
  });

  it('is not handed from a released lease to the queued acquire', async () => {
    const t = makePool({ min: 1, max: 1 });
    const [slot] = t.source.opened;
    const s = stream();
    t.source.ready(slot!, s);
    const lease = await t.pool.acquire();
    const next = track(t.pool.acquire());
    s.destroyed = true;
    lease.release();
    await drain();
    expect(next.settled).toBe(0);
    expect(slot!.state).toBe('pending');
    const conn = t.source.ready(slot!, stream());
    await drain();
    expect(next.value!.conn).toBe(conn);
    next.value!.release();
    await t.pool.close();
  });

  it('is passed over by acquire and dispatch while idle (a command of its last holder timed out)', async () => {
    const t = makePool({ protocol: shareableProtocol(4), min: 2, max: 2 });
    const [a, b] = t.source.opened;
    const sa = stream();
    t.source.ready(a!, sa);
    t.source.ready(b!, stream());
    const held = await t.pool.acquire(); // b: the most recently ready
    expect(held.slot).toBe(b);
    sa.destroyed = true;
    // The dispatch passes a over (no connection with room: it queues), the acquire reports its death.
    const d = track(t.pool.dispatch(() => 'ran'));
    await drain();
    expect(d.settled).toBe(0);
    const c = track(t.pool.acquire());
    await drain();
    expect(c.settled).toBe(0);
    expect(a!.state).toBe('pending');
    expect(t.pool.stats().closed.dead).toBe(1);
    held.release();
    await t.pool.close();
  });

  it('takes no more queued dispatches while others still run on it', async () => {
    const t = makePool({ protocol: shareableProtocol(2), min: 1, max: 1 });
    const [slot] = t.source.opened;
    const s = stream();
    t.source.ready(slot!, s);
    const w1 = gate();
    const w2 = gate();
    const first = track(t.pool.dispatch(() => w1.promise));
    track(t.pool.dispatch(() => w2.promise));
    const ran: number[] = [];
    const queued = track(t.pool.dispatch((conn: FakeConn) => void ran.push(conn.serial)));
    await drain();
    s.destroyed = true;
    w1.reject(new Error('request timed out'));
    await drain();
    expect(first.settled).toBe(1);
    expect(queued.settled).toBe(0);
    expect(ran).toEqual([]);
    w2.resolve('ok');
    await drain();
    await t.pool.close();
  });
});
