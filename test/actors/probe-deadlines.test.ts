/**
 * Probe deadlines shared across connections: one timer per (scheduler, timeout), exact
 * expiry, and no timer left once the last probe is answered.
 */
import { describe, expect, it } from 'vitest';
import { VirtualTimeScheduler } from 'rxjs';
import { probeDeadlines, type ProbeOwner } from '../../src/actors/probe-deadlines.js';

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
    vts.schedule(() => list.add(b!), 30);
    vts.schedule(() => list.add(c!), 30);
    vts.schedule(() => list.delete(b!, true), 60); // b's reply came
    vts.flush();
    expect(log).toEqual(['a@100', 'c@130']);
  });

  it('drops its timer when the last pending probe is answered', () => {
    const vts = new VirtualTimeScheduler();
    const list = probeDeadlines(vts, 100);
    const o = owner([], 'o', () => vts.now());
    list.add(o);
    expect(list.armed).toBe(true);
    list.delete(o, true);
    expect(list.armed).toBe(false);
    expect(vts.actions.filter((x) => !x.closed)).toHaveLength(0);
  });
});
