/**
 * Probe deadlines shared across connections: one timer per (scheduler, timeout), exact
 * expiry, and no timer left once the last probe is answered.
 */
import { describe, expect, it, vi } from 'vitest';
import { VirtualTimeScheduler } from 'rxjs';
import { deadlineListCount, probeDeadlines, type ProbeOwner } from '../../src/actors/probe-deadlines.js';

function owner(log: string[], name: string, at: () => number): ProbeOwner {
  return { probeExpired: () => log.push(`${name}@${at()}`) };
}

describe('probeDeadlines', () => {
  it('serves every probe with the same timeout from one timer, expiring each exactly', () => {
    const vts = new VirtualTimeScheduler();
    const log: string[] = [];
    const list = probeDeadlines(vts, 100);
    expect(probeDeadlines(vts, 100)).toBe(list);
    expect(probeDeadlines(vts, 150)).not.toBe(list);
    const [a, b, c] = ['a', 'b', 'c'].map((n) => owner(log, n, () => vts.now()));
    list.add(a!);
    let bSlot = -1;
    vts.schedule(() => { bSlot = list.add(b!); }, 30);
    vts.schedule(() => list.add(c!), 30);
    vts.schedule(() => list.delete(bSlot, b!), 60); // b's reply came
    vts.flush();
    expect(log).toEqual(['a@100', 'c@130']);
  });

  it('drops its timer when the last pending probe is answered', () => {
    const vts = new VirtualTimeScheduler();
    const list = probeDeadlines(vts, 100);
    const o = owner([], 'o', () => vts.now());
    const slot = list.add(o);
    expect(list.armed).toBe(true);
    list.delete(slot, o);
    expect(list.armed).toBe(false);
    expect(vts.actions.filter((x) => !x.closed)).toHaveLength(0);
  });

  it('keeps exact deadlines through holes, re-arming, a refill after going idle, and compaction', () => {
    const vts = new VirtualTimeScheduler();
    const log: string[] = [];
    const list = probeDeadlines(vts, 10);
    const owners = Array.from({ length: 3000 }, (_, i) => owner(log, `o${i}`, () => vts.now()));
    // One probe per ms; every other one is answered after 5 ms.
    owners.forEach((o, i) => vts.schedule(() => {
      const slot = list.add(o);
      if (i % 2 === 1) vts.schedule(() => list.delete(slot, o), 5);
    }, i));
    vts.flush();
    const expired = owners.filter((_, i) => i % 2 === 0).map((_, k) => `o${2 * k}@${2 * k + 10}`);
    expect(log).toEqual(expired);
    expect(list.size).toBe(0);
    expect(list.armed).toBe(false);
    // Idle, then used again: the slots start over, the deadline is still exact.
    log.length = 0;
    const t0 = vts.now();
    vts.schedule(() => list.add(owners[0]!), 100);
    vts.flush();
    expect(log).toEqual([`o0@${t0 + 100 + 10}`]);
  });

  it('returns a handle instead of writing into its owner; a stale handle deletes nothing', () => {
    const vts = new VirtualTimeScheduler();
    const log: string[] = [];
    const list = probeDeadlines(vts, 100);
    const o = Object.freeze(owner(log, 'o', () => vts.now())); // frozen: the list cannot write into it
    const first = list.add(o);
    const second = list.add(o);
    expect(second).not.toBe(first);
    list.delete(first, o);
    list.delete(first, o); // twice: a no-op
    list.delete(second, owner([], 'other', () => 0)); // someone else's handle: a no-op
    expect(list.size).toBe(1);
    vts.flush();
    expect(log).toEqual(['o@100']);
    list.delete(second, o); // already expired: a no-op
    expect(list.size).toBe(0);
  });

  it('prunes idle lists once a scheduler holds many, keeping the ones in use', () => {
    const vts = new VirtualTimeScheduler();
    const busy = probeDeadlines(vts, 7);
    const held = owner([], 'held', () => 0);
    busy.add(held);
    // Every distinct timeout makes a list (RTT-adaptive, load-scaled, capped probes).
    for (let ms = 1000; ms < 1500; ms++) {
      const list = probeDeadlines(vts, ms);
      list.delete(list.add(held), held);
    }
    expect(deadlineListCount(vts)).toBeLessThanOrEqual(64);
    // The list with a probe waiting was kept, and still expires it.
    expect(probeDeadlines(vts, 7)).toBe(busy);
    expect(busy.size).toBe(1);
  });

  it('isolates a throwing owner: the owners after it expire, later probes still get the timer, the throw is rethrown later', () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    try {
      const vts = new VirtualTimeScheduler();
      const log: string[] = [];
      const list = probeDeadlines(vts, 50);
      const thrower: ProbeOwner = { probeExpired: () => { log.push(`a@${vts.now()}`); throw new Error('owner broke'); } };
      list.add(thrower);
      list.add(owner(log, 'b', () => vts.now()));
      vts.schedule(() => list.add(owner(log, 'c', () => vts.now())), 20);
      vts.flush();
      expect(log).toEqual(['a@50', 'b@50', 'c@70']);
      expect(list.armed).toBe(false);
      // Added after the throw, while idle: armed again, and expires.
      list.add(owner(log, 'd', () => vts.now()));
      expect(list.armed).toBe(true);
      vts.flush();
      expect(log.at(-1)).toBe('d@120');
      expect(() => vi.runOnlyPendingTimers()).toThrow('owner broke');
    } finally {
      vi.useRealTimers();
    }
  });
});
