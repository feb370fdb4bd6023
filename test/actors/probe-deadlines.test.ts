/**
 * Probe deadlines shared across connections: one timer per (scheduler, timeout), exact
 * expiry, and no timer left once the last probe is answered.
 */
import { describe, expect, it } from 'vitest';
import { VirtualTimeScheduler } from 'rxjs';
import { probeDeadlines, type ProbeOwner } from '../../src/actors/probe-deadlines.js';

function owner(log: string[], name: string, at: () => number): ProbeOwner {
  return { probeSlot: -1, probeExpired: () => log.push(`${name}@${at()}`) };
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
    vts.schedule(() => list.add(b!), 30);
    vts.schedule(() => list.add(c!), 30);
    vts.schedule(() => list.delete(b!), 60); // b's reply came
    vts.flush();
    expect(log).toEqual(['a@100', 'c@130']);
  });

  it('drops its timer when the last pending probe is answered', () => {
    const vts = new VirtualTimeScheduler();
    const list = probeDeadlines(vts, 100);
    const o = owner([], 'o', () => vts.now());
    list.add(o);
    expect(list.armed).toBe(true);
    list.delete(o);
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
      list.add(o);
      if (i % 2 === 1) vts.schedule(() => list.delete(o), 5);
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
});
