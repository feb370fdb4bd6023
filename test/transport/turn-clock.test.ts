import { asyncScheduler, VirtualTimeScheduler } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FifoDeadlines } from '../../src/transport/fifo-deadlines.js';
import { READS_PER_READING, turnNow } from '../../src/transport/turn-clock.js';
import { advance } from './helpers.js';

describe('turnNow (the real clock read once per turn)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('reads Date.now once for the requests of one turn, again in the next turn', async () => {
    await Promise.resolve(); // a fresh turn: no reading left from an earlier test
    let t = 1_000;
    const now = vi.spyOn(Date, 'now').mockImplementation(() => t);
    expect(turnNow(asyncScheduler)).toBe(1_000);
    t = 1_005;
    expect(turnNow(asyncScheduler)).toBe(1_000);
    expect(turnNow(asyncScheduler)).toBe(1_000);
    expect(now).toHaveBeenCalledTimes(1);
    await Promise.resolve();
    expect(turnNow(asyncScheduler)).toBe(1_005);
    expect(now).toHaveBeenCalledTimes(2);
  });

  it('reads again after READS_PER_READING uses within one long synchronous run', async () => {
    await Promise.resolve();
    let t = 0;
    const now = vi.spyOn(Date, 'now').mockImplementation(() => ++t);
    const seen = new Set<number>();
    for (let i = 0; i < READS_PER_READING * 3; i++) seen.add(turnNow(asyncScheduler));
    expect(now).toHaveBeenCalledTimes(3);
    expect([...seen]).toEqual([1, 2, 3]);
  });

  it('reads a virtual scheduler every time: its time moves inside a synchronous run', () => {
    const vts = new VirtualTimeScheduler();
    expect(turnNow(vts)).toBe(0);
    advance(vts, 40);
    expect(turnNow(vts)).toBe(40);
  });

  it('FifoDeadlines on the real clock stamps a turn’s entries from one reading', async () => {
    await Promise.resolve();
    let t = 10_000;
    const now = vi.spyOn(Date, 'now').mockImplementation(() => t);
    const d = new FifoDeadlines<number>(asyncScheduler, 1_000, () => {});
    for (let i = 0; i < 10; i++) d.add(i);
    // One read for the stamps, one to arm the timer (exact, off the per-entry path).
    expect(now).toHaveBeenCalledTimes(2);
    d.clear();
  });
});
