import { describe, expect, it } from 'vitest';
import type { Lease } from '../../src/pool/lease.js';
import { Waiter, WaiterQueue, type RejectLease, type ResolveLease, type WaiterOwner } from '../../src/pool/waiter-queue.js';

const owner: WaiterOwner<unknown> = { onWaiterAbort: () => {}, onWaiterTimeout: () => {} };
const waiter = (t = 0) => new Waiter<unknown>(owner, t, 1000, undefined, undefined);

/** Live entries from the head: plain ones by enqueue time, waiters as objects. */
function contents(q: WaiterQueue<unknown>): unknown[] {
  const out: unknown[] = [];
  for (let i = q.head; i !== -1; i = q.next(i)) {
    const e = q.entry(i);
    out.push(typeof e === 'function' ? q.timeOf(i) : e);
  }
  return out;
}

function pushPlain(q: WaiterQueue<unknown>, t: number): Promise<Lease<unknown>> {
  let resolve: ResolveLease<unknown> | undefined;
  let reject: RejectLease | undefined;
  const p = new Promise<Lease<unknown>>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  q.push(resolve!, reject!, t, Number.NaN);
  return p;
}

describe('WaiterQueue (ring)', () => {
  it('is FIFO across plain entries and waiter objects, with tombstone removal anywhere', () => {
    const q = new WaiterQueue<unknown>();
    const w2 = waiter(2);
    const w4 = waiter(4);
    pushPlain(q, 1);
    q.pushWaiter(w2);
    pushPlain(q, 3);
    q.pushWaiter(w4);
    expect(contents(q)).toEqual([1, w2, 3, w4]);
    q.removeWaiter(w2); // a tombstone in the middle
    q.removeWaiter(w2); // no-op
    expect(contents(q)).toEqual([1, 3, w4]);
    expect(q.size).toBe(3);
    q.removeAt(q.head); // the head: tombstones behind it are skipped
    expect(contents(q)).toEqual([3, w4]);
    expect(q.timeOf(q.head)).toBe(3);
    const w0 = waiter(0);
    q.unshiftWaiter(w0);
    expect(contents(q)).toEqual([w0, 3, w4]);
    expect(w0.queued).toBe(true);
    q.removeWaiter(w4);
    q.removeWaiter(w0);
    q.removeAt(q.head);
    expect(q.size).toBe(0);
    expect(q.head).toBe(-1);
    expect(q.length).toBe(0);
  });

  it('grows past its capacity, keeping order and the waiters\' indices', () => {
    const q = new WaiterQueue<unknown>();
    const ws: Waiter<unknown>[] = [];
    for (let i = 0; i < 100; i++) {
      if (i % 3 === 0) {
        const w = waiter(i);
        ws.push(w);
        q.pushWaiter(w);
      } else pushPlain(q, i);
      if (i === 5) q.removeAt(q.head); // wrap the head before growing
    }
    expect(ws[0]!.queued).toBe(false); // removed as the head
    for (const w of ws.slice(1)) expect(q.entry(w.index)).toBe(w);
    expect(contents(q).map((e) => (typeof e === 'number' ? e : (e as Waiter<unknown>).enqueuedAt))).toEqual(
      Array.from({ length: 99 }, (_, i) => i + 1),
    );
  });

  it('handles 100k entries with removals in linear total time', () => {
    const q = new WaiterQueue<unknown>();
    const ws = Array.from({ length: 100_000 }, (_, i) => waiter(i));
    for (const w of ws) q.pushWaiter(w);
    for (let i = 0; i < ws.length; i += 2) q.removeWaiter(ws[i]!);
    let n = 0;
    while (q.size > 0) {
      q.removeAt(q.head);
      n++;
    }
    expect(n).toBe(50_000);
  });

  it('a waiter object is its own abort listener and owns its promise', async () => {
    let aborted: Waiter<unknown> | undefined;
    const w = new Waiter<unknown>({ onWaiterAbort: (x) => (aborted = x), onWaiterTimeout: () => {} }, 0, 10, undefined, undefined);
    const ac = new AbortController();
    ac.signal.addEventListener('abort', w, { once: true });
    ac.abort();
    expect(aborted).toBe(w);
    w.reject(new Error('x'));
    await expect(w.promise).rejects.toThrow('x');
  });

  it('plain entries keep their own promise\'s resolvers', async () => {
    const q = new WaiterQueue<unknown>();
    const a = pushPlain(q, 1);
    const b = pushPlain(q, 2);
    const first = q.entry(q.head) as (l: Lease<unknown>) => void;
    q.removeAt(q.head);
    first('A' as unknown as Lease<unknown>);
    q.rejectOf(q.head)!(new Error('B'));
    await expect(a).resolves.toBe('A');
    await expect(b).rejects.toThrow('B');
  });
});
