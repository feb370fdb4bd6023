/**
 * PingTable: the latest ping inline and older ones aside, one shared abort listener per
 * signal however many pings and sessions use it, and aborts that reach exactly the
 * pings pending on the aborted signal.
 */
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors.js';
import { isRecyclableAbortListener, PingTable, type PendingPing } from '../../src/transport/ping-table.js';

function ping(signal?: AbortSignal): PendingPing & { outcome: () => string } {
  let outcome = 'pending';
  return {
    resolve: (rtt) => void (outcome = `rtt ${rtt}`),
    reject: (err) => void (outcome = hasCode(err, 'WW_ABORTED') ? 'aborted' : 'failed'),
    sentAt: 0,
    signal,
    outcome: () => outcome,
  };
}

describe('PingTable', () => {
  it('matches PONGs to pings in any order, several in flight', () => {
    const t = new PingTable('peer');
    const pings = [1, 2, 3].map(() => ping());
    pings.forEach((p, i) => t.add(i + 1, p));
    expect(t.size).toBe(3);
    expect(t.take(2)).toBe(pings[1]);
    expect(t.take(2)).toBeUndefined();
    expect(t.take(3)).toBe(pings[2]);
    expect(t.take(1)).toBe(pings[0]);
    expect(t.size).toBe(0);
  });

  it('keeps one listener on a signal however many pings and tables use it', () => {
    const ac = new AbortController();
    const a = new PingTable('a');
    const b = new PingTable('b');
    for (let id = 1; id <= 100; id++) {
      a.add(id, ping(ac.signal));
      b.add(id, ping(ac.signal));
      a.take(id);
      b.take(id);
    }
    const listeners = getEventListeners(ac.signal, 'abort');
    expect(listeners).toHaveLength(1);
    expect(isRecyclableAbortListener(listeners[0])).toBe(true);
    expect(isRecyclableAbortListener(() => {})).toBe(false);
  });

  it('an abort rejects exactly the pings pending on that signal, in every table', () => {
    const shared = new AbortController();
    const other = new AbortController();
    const a = new PingTable('a');
    const b = new PingTable('b');
    const answered = ping(shared.signal);
    const a1 = ping(shared.signal);
    const a2 = ping(other.signal);
    const b1 = ping(shared.signal);
    const b2 = ping();
    a.add(1, answered);
    a.take(1);
    a.add(2, a1);
    a.add(3, a2);
    b.add(1, b1);
    b.add(2, b2);
    shared.abort(new Error('timeout'));
    expect([answered, a1, a2, b1, b2].map((p) => p.outcome())).toEqual(['pending', 'aborted', 'pending', 'aborted', 'pending']);
    expect(a.take(2)).toBeUndefined();
    expect(a.take(3)).toBe(a2);
    expect(b.take(2)).toBe(b2);
  });

  it('remembers the last ping aborted by its signal for one late PONG (takeLate), and forgets it on clear()', () => {
    const t = new PingTable('peer');
    const a = new AbortController();
    const first = ping(a.signal);
    t.add(1, first);
    a.abort();
    expect(first.outcome()).toBe('aborted');
    expect(t.take(1)).toBeUndefined();
    expect(t.takeLate(2)).toBeUndefined(); // another id: not that ping
    expect(t.takeLate(1)).toBe(first);
    expect(t.takeLate(1)).toBeUndefined(); // once
    const b = new AbortController();
    t.add(2, ping(b.signal));
    b.abort();
    t.clear();
    expect(t.takeLate(2)).toBeUndefined();
  });

  it('after clear(), an abort reaches nothing the table held', () => {
    const ac = new AbortController();
    const t = new PingTable('peer');
    const p = ping(ac.signal);
    t.add(1, p);
    expect(t.clear()).toEqual([p]);
    ac.abort();
    expect(p.outcome()).toBe('pending');
    expect(t.size).toBe(0);
  });
});
