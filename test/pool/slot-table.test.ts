/**
 * SlotTable.move: the one method that changes a slot's state, and every count with it.
 */
import { describe, expect, it } from 'vitest';
import type { LeaseOwner } from '../../src/pool/lease.js';
import { parsePoolOptions } from '../../src/pool/pool-options.js';
import { SlotTable } from '../../src/pool/slot-table.js';

const owner: LeaseOwner<string> = { releaseLease: () => {}, destroyLease: () => {} };

function table() {
  const o = parsePoolOptions({ endpoints: [{ host: 'a', port: 1 }, { host: 'b', port: 1 }], protocol: {} });
  const t = new SlotTable<string>(o.endpoints, 'conn-', owner);
  const [a, b] = t.endpoints;
  return { t, a: a!, b: b! };
}

const figures = (t: SlotTable<string>) => ({ open: t.open, idle: t.idle.length, leased: t.leased, pending: t.pending, size: t.size });

describe('SlotTable.move', () => {
  it('keeps the pool and endpoint counts in step with every transition', () => {
    const { t, a } = table();
    const s = t.add(a, 0);
    expect(figures(t)).toEqual({ open: 0, idle: 0, leased: 0, pending: 1, size: 1 });
    expect([a.open, a.pending]).toEqual([0, 1]);

    t.markReady(s, 'session', 10, Infinity);
    expect(s.state).toBe('pending'); // ready is recorded, the move places it
    t.move(s, 'idle', 10);
    expect(figures(t)).toEqual({ open: 1, idle: 1, leased: 0, pending: 0, size: 1 });
    expect([a.open, a.pending, s.since]).toEqual([1, 0, 10]);

    t.move(s, 'leased', 11);
    expect(figures(t)).toEqual({ open: 1, idle: 0, leased: 1, pending: 0, size: 1 });
    t.move(s, 'resetting', 12);
    expect(figures(t)).toEqual({ open: 1, idle: 0, leased: 0, pending: 0, size: 1 });
    t.move(s, 'idle', 13);
    t.move(s, 'probing', 14);
    expect(figures(t)).toEqual({ open: 1, idle: 0, leased: 0, pending: 0, size: 1 });

    const incarnation = s.incarnation;
    t.move(s, 'pending', 20); // died: being replaced
    expect(figures(t)).toEqual({ open: 0, idle: 0, leased: 0, pending: 1, size: 1 });
    expect([a.open, a.pending, s.since, s.conn, s.incarnation]).toEqual([0, 1, 20, undefined, incarnation + 1]);

    t.remove(s, true, 30);
    expect(figures(t)).toEqual({ open: 0, idle: 0, leased: 0, pending: 0, size: 0 });
    expect([a.open, a.pending, t.slots.length, t.closing.has(s)]).toEqual([0, 0, 0, true]);
    t.move(s, 'idle', 31); // closing is terminal
    expect([s.state, t.idle.length]).toEqual(['closing', 0]);
  });

  it('leaving leased drops the lease; leaving the ready states drops the session', () => {
    const { t, a } = table();
    const s = t.add(a, 0);
    t.markReady(s, 'session', 0, Infinity);
    t.move(s, 'leased', 0);
    s.lease = {} as never;
    s.acquireStack = new Error('here');
    t.move(s, 'idle', 1);
    expect([s.lease, s.acquireStack, s.conn]).toEqual([undefined, undefined, 'session']);
    t.remove(s, false, 2);
    expect([s.conn, t.closing.size]).toEqual([undefined, 0]);
  });

  it('takes an idle slot off the stack wherever it is, and moving to the same state does nothing', () => {
    const { t, a, b } = table();
    const slots = [t.add(a, 0), t.add(b, 0), t.add(a, 0)];
    for (const s of slots) {
      t.markReady(s, s.id, 0, Infinity);
      t.move(s, 'idle', 0);
    }
    t.move(slots[2]!, 'idle', 1);
    expect(t.idle.map((s) => s.id)).toEqual(['conn-1', 'conn-2', 'conn-3']);
    t.move(slots[1]!, 'leased', 2); // from the middle
    expect(t.idle.map((s) => s.id)).toEqual(['conn-1', 'conn-3']);
    t.move(slots[2]!, 'leased', 2); // the top
    expect(t.idle.map((s) => s.id)).toEqual(['conn-1']);
    expect([a.open, b.open, t.leased]).toEqual([2, 1, 2]);
  });
});
