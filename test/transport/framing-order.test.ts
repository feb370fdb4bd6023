import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/errors.js';
import { FramingOrder } from '../../src/transport/framing-order.js';

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(err: Error): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets settled promises run their callbacks (microtasks only; no timer, no sleep). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

function harness(highWaterBytes = 1000) {
  const delivered: string[] = [];
  const errors: Error[] = [];
  const pressure: boolean[] = [];
  const order = new FramingOrder<string>({
    deliver: (item) => delivered.push(item),
    onError: (err) => errors.push(err),
    highWaterBytes,
    onPressure: (paused) => pressure.push(paused),
  });
  return { order, delivered, errors, pressure };
}

describe('FramingOrder', () => {
  it('delivers a ready item at once while nothing waits (the owner may skip the queue)', () => {
    const { order, delivered } = harness();
    expect(order.idle).toBe(true);
    order.push('a', 10);
    expect(delivered).toEqual(['a']);
    expect(order.idle).toBe(true);
    expect(order.waitingBytes).toBe(0);
  });

  it('holds later items behind a pending one and releases them in push order', async () => {
    const { order, delivered } = harness();
    const big = deferred<string>();
    order.push('first', 1);
    order.pushPending(big.promise, 500);
    order.push('after-1', 1);
    order.push('after-2', 1);
    expect(order.idle).toBe(false);
    expect(delivered).toEqual(['first']);
    big.resolve('big');
    await settle();
    expect(delivered).toEqual(['first', 'big', 'after-1', 'after-2']);
    expect(order.idle).toBe(true);
  });

  it('keeps order when pending items settle in reverse', async () => {
    const { order, delivered } = harness();
    const a = deferred<string>();
    const b = deferred<string>();
    order.pushPending(a.promise, 1);
    order.pushPending(b.promise, 1);
    order.push('c', 1);
    b.resolve('b');
    await settle();
    expect(delivered).toEqual([]);
    a.resolve('a');
    await settle();
    expect(delivered).toEqual(['a', 'b', 'c']);
  });

  it('delivers in push order for any interleaving of ready and pending items and settle order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.boolean(), { minLength: 1, maxLength: 30 }).chain((kinds) =>
          fc.tuple(fc.constant(kinds), fc.shuffledSubarray([...kinds.keys()], { minLength: kinds.length, maxLength: kinds.length })),
        ),
        async ([kinds, settleOrder]) => {
          const { order, delivered } = harness(1 << 30);
          const pending = new Map<number, Deferred<string>>();
          kinds.forEach((isPending, i) => {
            if (!isPending) return order.push(String(i), 1);
            const d = deferred<string>();
            pending.set(i, d);
            order.pushPending(d.promise, 1);
          });
          for (const i of settleOrder) {
            pending.get(i)?.resolve(String(i));
            await settle();
          }
          expect(delivered).toEqual(kinds.map((_, i) => String(i)));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('reports a rejection in its turn: earlier items are delivered first, later ones never', async () => {
    const { order, delivered, errors } = harness();
    const early = deferred<string>();
    const bad = deferred<string>();
    order.pushPending(early.promise, 1);
    order.pushPending(bad.promise, 1);
    order.push('later', 1);
    bad.reject(new ProtocolError('malformed inner'));
    await settle();
    expect(errors).toEqual([]);
    early.resolve('early');
    await settle();
    expect(delivered).toEqual(['early']);
    expect(errors.map((e) => e.message)).toEqual(['malformed inner']);
    expect(order.stopped).toBe(true);
    order.push('ignored', 1);
    expect(delivered).toEqual(['early']);
  });

  it('stops at a throwing deliver and reports its error once', async () => {
    const errors: Error[] = [];
    const seen: string[] = [];
    const order = new FramingOrder<string>({
      deliver: (item) => {
        seen.push(item);
        if (item === 'boom') throw new Error('handler failed');
      },
      onError: (err) => errors.push(err),
      highWaterBytes: 100,
    });
    const d = deferred<string>();
    order.pushPending(d.promise, 1);
    order.push('boom', 1);
    order.push('never', 1);
    d.resolve('ok');
    await settle();
    expect(seen).toEqual(['ok', 'boom']);
    expect(errors.map((e) => e.message)).toEqual(['handler failed']);
  });

  it('delivers items pushed from inside deliver after the ones already waiting', async () => {
    const delivered: string[] = [];
    const order: FramingOrder<string> = new FramingOrder<string>({
      deliver: (item) => {
        delivered.push(item);
        if (item === 'a') order.push('from-a', 1);
      },
      onError: () => undefined,
      highWaterBytes: 100,
    });
    const d = deferred<string>();
    order.pushPending(d.promise, 1);
    order.push('b', 1);
    d.resolve('a');
    await settle();
    expect(delivered).toEqual(['a', 'b', 'from-a']);
  });

  it('asks for backpressure above the high-water mark and releases it at half', async () => {
    const { order, pressure, delivered } = harness(100);
    const big = deferred<string>();
    order.pushPending(big.promise, 80);
    expect(pressure).toEqual([]);
    order.push('x', 30);
    expect(pressure).toEqual([true]);
    expect(order.paused).toBe(true);
    order.push('y', 30);
    expect(pressure).toEqual([true]);
    big.resolve('big');
    await settle();
    expect(delivered).toEqual(['big', 'x', 'y']);
    expect(pressure).toEqual([true, false]);
    expect(order.waitingBytes).toBe(0);
  });

  it('forgets everything on clear(): late settlements are ignored, and nothing is unhandled', async () => {
    const { order, delivered, errors } = harness();
    const a = deferred<string>();
    const b = deferred<string>();
    order.pushPending(a.promise, 5);
    order.pushPending(b.promise, 5);
    order.clear();
    expect(order.idle).toBe(true);
    expect(order.waitingBytes).toBe(0);
    a.resolve('late');
    b.reject(new Error('late failure'));
    await settle();
    expect(delivered).toEqual([]);
    expect(errors).toEqual([]);
    order.push('fresh', 1);
    expect(delivered).toEqual(['fresh']);
  });

  it('stays correct over many items (the slot array is compacted, order kept)', async () => {
    const { order, delivered } = harness(1 << 30);
    const expected: string[] = [];
    for (let round = 0; round < 50; round++) {
      const d = deferred<string>();
      order.pushPending(d.promise, 1);
      expected.push(`p${round}`);
      for (let i = 0; i < 5; i++) {
        order.push(`r${round}.${i}`, 1);
        expected.push(`r${round}.${i}`);
      }
      d.resolve(`p${round}`);
      if (round % 7 === 0) await settle();
    }
    await settle();
    expect(delivered).toEqual(expected);
    expect(order.idle).toBe(true);
  });
});
