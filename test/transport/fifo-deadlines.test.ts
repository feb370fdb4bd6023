import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { FifoDeadlines } from '../../src/transport/fifo-deadlines.js';
import { advance } from './helpers.js';

describe('FifoDeadlines (one timer for same-duration deadlines)', () => {
  it('expires entries at their deadline, in order, with a single timer', () => {
    const vts = new VirtualTimeScheduler();
    const expired: Array<[string, number]> = [];
    const d = new FifoDeadlines<string>(vts, 1000, (k) => expired.push([k, vts.now()]), 100);
    d.add('a');
    advance(vts, 50);
    d.add('b');
    expect(vts.actions.length).toBe(1);
    advance(vts, 949);
    expect(expired).toEqual([]);
    advance(vts, 1);
    expect(expired).toEqual([['a', 1000]]);
    advance(vts, 100); // b was due at 1050, the timer re-armed no sooner than 1000 + 100
    expect(expired).toEqual([['a', 1000], ['b', 1100]]);
    expect(d.armed).toBe(false);
  });

  it('deleted entries never expire; an emptied set keeps its timer until it lapses once', () => {
    const vts = new VirtualTimeScheduler();
    const expired: number[] = [];
    const d = new FifoDeadlines<number>(vts, 500, (k) => expired.push(k));
    expect(d.armed).toBe(false);
    d.add(1);
    d.add(2);
    d.delete(1);
    d.delete(2);
    expect(d.armed).toBe(true); // not cancelled: the next add reuses it
    advance(vts, 500);
    expect(d.armed).toBe(false); // fired, found nothing, did not re-arm
    expect(vts.actions.filter((a) => !a.closed)).toHaveLength(0);
    advance(vts, 10_000);
    expect(expired).toEqual([]);
  });

  it('sequential add/delete pairs share one timer instead of one each', () => {
    const vts = new VirtualTimeScheduler();
    const d = new FifoDeadlines<number>(vts, 500, () => {});
    const scheduled = vts.actions.length;
    for (let i = 0; i < 100; i++) {
      d.add(i);
      d.delete(i);
    }
    expect(vts.actions.length - scheduled).toBe(1);
    d.clear();
    expect(d.armed).toBe(false);
    expect(vts.actions.filter((a) => !a.closed)).toHaveLength(0);
  });

  it('expires late by at most resolutionMs under a steady stream of entries', () => {
    const vts = new VirtualTimeScheduler();
    const lateness: number[] = [];
    const started = new Map<number, number>();
    const d = new FifoDeadlines<number>(vts, 1000, (k) => lateness.push(vts.now() - started.get(k)! - 1000));
    for (let i = 0; i < 300; i++) {
      started.set(i, vts.now());
      d.add(i);
      advance(vts, 7);
    }
    advance(vts, 2000);
    expect(lateness).toHaveLength(300);
    expect(Math.min(...lateness)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...lateness)).toBeLessThanOrEqual(d.resolutionMs);
  });

  it('an entry added from onExpire does not delay entries already due', () => {
    const vts = new VirtualTimeScheduler();
    const expired: string[] = [];
    const d = new FifoDeadlines<string>(vts, 100, (k) => {
      expired.push(k);
      if (k === 'a') d.add('c');
    }, 10);
    d.add('a');
    d.add('b');
    advance(vts, 100);
    expect(expired).toEqual(['a', 'b']);
    advance(vts, 110);
    expect(expired).toEqual(['a', 'b', 'c']);
    d.clear();
    expect(d.armed).toBe(false);
  });
});
