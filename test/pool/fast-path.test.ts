/**
 * The lease path's cost model, asserted: no clock read, no scheduler action and no
 * event on acquire/release with an idle connection, and none per plain waiter while the
 * queue is already busy; timeouts of plain waiters are at most one waiter tick late and
 * never early.
 */
import { VirtualTimeScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { PoolTimeoutError } from '../../src/errors.js';
import { createPoolCore } from '../../src/pool/pool-core.js';
import { waiterTickMs } from '../../src/pool/waitlist.js';
import { FakeSource } from './helpers/fake-source.js';
import { makePool, protocol, track } from './helpers/make-pool.js';
import { drain } from './helpers/virtual-clock.js';

/** A virtual-time scheduler that counts clock reads and scheduled actions. */
function countingScheduler() {
  const vts = new VirtualTimeScheduler();
  const counts = { reads: 0, scheduled: 0 };
  const scheduler = {
    now: () => {
      counts.reads++;
      return vts.now();
    },
    schedule: (...args: unknown[]) => {
      counts.scheduled++;
      return (vts.schedule as (...a: unknown[]) => Subscription)(...args);
    },
  } as SchedulerLike;
  return { scheduler, counts };
}

function countingPool(options: Record<string, unknown>) {
  const { scheduler, counts } = countingScheduler();
  const source = new FakeSource();
  const pool = createPoolCore({
    options: { endpoints: [{ host: '127.0.0.1', port: 7000 }], protocol, ...options },
    source: source.factory,
    scheduler,
  });
  let events = 0;
  pool.events$.subscribe(() => events++);
  return { pool, source, counts, events: () => events };
}

describe('fast path', () => {
  it('acquire + release with an idle connection: no clock read, no timer, no event', async () => {
    const { pool, source, counts: scheduler, events } = countingPool({ min: 2, max: 2 });
    source.readyAll();
    const before = { reads: scheduler.reads, scheduled: scheduler.scheduled, events: events() };
    for (let i = 0; i < 1000; i++) (await pool.acquire()).release();
    expect({ reads: scheduler.reads, scheduled: scheduler.scheduled, events: events() }).toEqual(before);
    expect(pool.stats().acquired).toBe(1000);
  });

  it('queueing behind other waiters: no clock read and no timer per waiter', async () => {
    const { pool, source, counts: scheduler } = countingPool({ max: 1 });
    const first = track(pool.acquire()); // opens the slot, starts the tick
    const before = { reads: scheduler.reads, scheduled: scheduler.scheduled };
    const waiters = Array.from({ length: 500 }, () => track(pool.acquire()));
    expect({ reads: scheduler.reads, scheduled: scheduler.scheduled }).toEqual(before);
    source.readyAll();
    await drain();
    // each release hands the connection to the next waiter, still without the clock
    for (const w of [first, ...waiters.slice(0, -1)]) {
      w.value!.release();
      await drain();
    }
    expect(waiters.at(-1)!.value).toBeDefined();
    expect(scheduler.scheduled).toBe(before.scheduled);
  });
});

describe('plain waiter timeouts', () => {
  it('the first waiter times out exactly; one queued behind it at most one tick late, never early', async () => {
    const t = makePool({ max: 1, acquireTimeoutMs: 1000 });
    const tick = waiterTickMs(1000);
    expect(tick).toBe(20);
    const a = track(t.pool.acquire()); // t = 0, into an empty queue
    await t.clock.advance(5);
    const b = track(t.pool.acquire()); // t = 5, stamped by the tick at t = 20
    await t.clock.advance(995); // t = 1000
    expect(a.error).toBeInstanceOf(PoolTimeoutError);
    expect(b.settled).toBe(0); // its true deadline (1005) has not passed
    await t.clock.advance(5 + tick - 6); // t = 1019
    expect(b.settled).toBe(0);
    await t.clock.advance(1); // t = 1020 = 1005 + at most one tick
    expect(b.error).toBeInstanceOf(PoolTimeoutError);
    expect((b.error as Error).message).toBe('acquire timed out after 1000 ms (size 1, leased 0, idle 0, pending 1, waiting 1)');
  });

  it('wait durations add up across waiters served at different times', async () => {
    const t = makePool({ max: 1, acquireTimeoutMs: 1000 });
    const ws = [track(t.pool.acquire()), track(t.pool.acquire()), track(t.pool.acquire())];
    await t.clock.advance(100);
    t.source.readyAll(); // first waits 100
    await drain();
    await t.clock.advance(100);
    ws[0]!.value!.release(); // second waits 200
    await drain();
    await t.clock.advance(100);
    ws[1]!.value!.release(); // third waits 300
    await drain();
    expect(ws[2]!.value).toBeDefined();
    expect(t.pool.stats()).toMatchObject({ waitCount: 3, waitDurationMs: 600 });
  });
});
