import { describe, expect, it } from 'vitest';
import { Waiter, WaiterQueue, type WaiterOwner } from '../../src/pool/waiter-queue.js';

const owner: WaiterOwner<unknown> = { onWaiterAbort: () => {}, onWaiterTimeout: () => {} };
const make = (n: number) => Array.from({ length: n }, (_, i) => new Waiter(owner, i, 1000, undefined));

describe('WaiterQueue', () => {
  it('is FIFO, with O(1) removal anywhere and re-queueing at the head', () => {
    const q = new WaiterQueue<unknown>();
    const [a, b, c, d] = make(4) as [Waiter<unknown>, Waiter<unknown>, Waiter<unknown>, Waiter<unknown>];
    for (const w of [a, b, c, d]) q.push(w);
    q.remove(c);
    q.remove(c); // no-op
    expect([...q]).toEqual([a, b, d]);
    expect(q.shift()).toBe(a);
    q.unshift(a);
    q.remove(d);
    expect([...q]).toEqual([a, b]);
    expect(q.size).toBe(2);
    expect(q.shift()).toBe(a);
    expect(q.shift()).toBe(b);
    expect(q.shift()).toBeUndefined();
    expect(q.size).toBe(0);
    expect(q.first).toBeUndefined();
  });

  it('handles 100k waiters with removals in linear total time', () => {
    const q = new WaiterQueue<unknown>();
    const ws = make(100_000);
    for (const w of ws) q.push(w);
    for (let i = 0; i < ws.length; i += 2) q.remove(ws[i]!);
    let n = 0;
    while (q.shift()) n++;
    expect(n).toBe(50_000);
  });

  it('each waiter is its own abort listener and settles its promise', async () => {
    let aborted: Waiter<unknown> | undefined;
    const w = new Waiter<unknown>({ onWaiterAbort: (x) => (aborted = x), onWaiterTimeout: () => {} }, 0, 10, undefined);
    const ac = new AbortController();
    ac.signal.addEventListener('abort', w, { once: true });
    ac.abort();
    expect(aborted).toBe(w);
    w.reject(new Error('x'));
    await expect(w.promise).rejects.toThrow('x');
  });
});
