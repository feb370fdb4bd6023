import { describe, expect, it } from 'vitest';
import {
  AbortedError, InvalidOptionError, PoolClosedError, PoolQueueFullError, PoolTimeoutError,
} from '../../src/errors.js';
import { makePool, track } from './helpers/make-pool.js';
import { drain } from './helpers/virtual-clock.js';

describe('acquire', () => {
  it('fast path: an idle connection is leased at once, with no timer or listener', async () => {
    const { pool, source, clock } = makePool({ min: 2 });
    source.readyAll();
    const actionsBefore = clock.pendingActions; // the housekeeping sweep
    const signal = new AbortController().signal;
    const lease = await pool.acquire({ signal });
    expect(lease.conn.slotId).toBe('conn-2'); // LIFO: the most recently made idle
    expect(clock.pendingActions).toBe(actionsBefore);
    expect(pool.stats()).toMatchObject({ open: 2, leased: 1, idle: 1, waiting: 0, waitCount: 0 });
    lease.release();
    const again = await pool.acquire();
    expect(again.conn.slotId).toBe('conn-2'); // hot connection reused
    again.release();
  });

  it('serves 1000 waiters in FIFO order with max 10', async () => {
    const { pool, source } = makePool({ max: 10 });
    const order: number[] = [];
    const users = Array.from({ length: 1000 }, (_, i) =>
      pool.acquire().then(async (lease) => {
        order.push(i);
        await Promise.resolve();
        lease.release();
      }),
    );
    expect(source.opened).toHaveLength(10); // grown to max, no further
    expect(pool.stats()).toMatchObject({ pending: 10, waiting: 1000 });
    source.readyAll();
    await Promise.all(users);
    expect(order).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(pool.stats()).toMatchObject({ open: 10, idle: 10, leased: 0, waiting: 0, waitCount: 1000, acquired: 1000 });
  });

  it('a new acquire never overtakes a queued one', async () => {
    const { pool, source } = makePool({ max: 1 });
    const first = track(pool.acquire());
    source.readyAll();
    await drain();
    const held = first.value!;
    const a = track(pool.acquire());
    held.release(); // handed straight to the queued waiter
    const b = track(pool.acquire());
    await drain();
    expect(a.value?.conn.slotId).toBe('conn-1');
    expect(b.settled).toBe(0);
    a.value!.release();
    await drain();
    expect(b.value).toBeDefined();
  });

  it('maxWaiting fails fast with WW_POOL_QUEUE_FULL', async () => {
    const { pool } = makePool({ max: 1, maxWaiting: 2 });
    const waiting = [track(pool.acquire()), track(pool.acquire())];
    await expect(pool.acquire()).rejects.toThrow(PoolQueueFullError);
    await expect(pool.acquire()).rejects.toMatchObject({
      code: 'WW_POOL_QUEUE_FULL',
      message: 'acquire refused: 2 waiters already queue (maxWaiting 2)',
    });
    expect(waiting.every((w) => w.settled === 0)).toBe(true);
  });

  it('maxWaiting 0 never queues', async () => {
    const { pool } = makePool({ max: 1, maxWaiting: 0 });
    await expect(pool.acquire()).rejects.toMatchObject({ code: 'WW_POOL_QUEUE_FULL' });
    expect(pool.stats().pending).toBe(0);
  });

  it('times out after acquireTimeoutMs with the pool state in the message', async () => {
    const { pool, source, clock } = makePool({ max: 1, acquireTimeoutMs: 1000 });
    const holder = track(pool.acquire());
    source.readyAll();
    await drain();
    expect(holder.value).toBeDefined();
    const w = track(pool.acquire());
    await clock.advance(999);
    expect(w.settled).toBe(0);
    await clock.advance(1);
    expect(w.error).toBeInstanceOf(PoolTimeoutError);
    expect((w.error as PoolTimeoutError).message).toBe(
      'acquire timed out after 1000 ms (size 1, leased 1, idle 0, pending 0, waiting 1)',
    );
    expect((w.error as PoolTimeoutError).cause).toBeUndefined();
    // the holder waited for the dial (0 ms), the second waiter for 1000 ms
    expect(pool.stats()).toMatchObject({ timeouts: 1, waiting: 0, waitCount: 2, waitDurationMs: 1000 });
  });

  it('a per-call timeoutMs overrides the default, with its own timer', async () => {
    const { pool, clock } = makePool({ max: 1, acquireTimeoutMs: 10_000 });
    const long = track(pool.acquire());
    const short = track(pool.acquire({ timeoutMs: 50 }));
    await clock.advance(50);
    expect(short.error).toMatchObject({ code: 'WW_POOL_TIMEOUT', message: expect.stringMatching(/^acquire timed out after 50 ms \(size 1, leased 0, idle 0, pending 1, waiting 2\)$/) });
    expect(long.settled).toBe(0);
    await clock.advance(9950);
    expect(long.error).toMatchObject({ code: 'WW_POOL_TIMEOUT' });
  });

  it('queued default-timeout waiters share one alarm', async () => {
    const { pool, clock } = makePool({ max: 1, acquireTimeoutMs: 1000 });
    const before = clock.pendingActions;
    const ws = [];
    for (let i = 0; i < 100; i++) {
      ws.push(track(pool.acquire()));
      await clock.advance(1);
    }
    // the sweep + one deadline alarm, not one timer per waiter
    expect(clock.pendingActions - before).toBeLessThanOrEqual(2);
    await clock.advance(1000, 1);
    expect(ws.every((w) => (w.error as PoolTimeoutError)?.code === 'WW_POOL_TIMEOUT')).toBe(true);
    expect(pool.stats().timeouts).toBe(100);
  });

  it('when every endpoint is down: times out with the last dial error as cause, and never loops on creates', async () => {
    const { pool, source, clock } = makePool({
      max: 3, acquireTimeoutMs: 1000,
      endpoints: [{ host: '10.0.0.1', port: 1 }, { host: '10.0.0.2', port: 1 }],
    });
    const ws = [track(pool.acquire()), track(pool.acquire())];
    expect(source.opened).toHaveLength(2);
    for (let i = 0; i < 50; i++) {
      for (const slot of source.opened) source.failDial(slot, new Error(`refused ${i}`));
      await clock.advance(10);
    }
    expect(source.opened).toHaveLength(2); // failures never trigger new opens
    expect(pool.stats()).toMatchObject({ pending: 2, open: 0 });
    // the second waiter queued behind the first: its deadline counts from the next
    // waiter tick (acquireTimeoutMs / 50 = 20 ms), never earlier
    await clock.advance(500);
    expect(ws[0]!.error).toBeInstanceOf(PoolTimeoutError);
    expect(ws[1]!.settled).toBe(0);
    await clock.advance(20);
    for (const w of ws) {
      expect(w.error).toBeInstanceOf(PoolTimeoutError);
      expect(((w.error as Error).cause as Error).message).toBe('refused 49');
    }
    expect(pool.stats().endpoints['10.0.0.1:1']!.failures).toBe(50);
  });

  it('no cause when some endpoint still works', async () => {
    const { pool, source, clock } = makePool({
      max: 1, acquireTimeoutMs: 100,
      endpoints: [{ host: 'a', port: 1 }, { host: 'b', port: 1 }],
    });
    const held = track(pool.acquire());
    source.ready(source.opened[0]!);
    await drain();
    expect(held.value).toBeDefined();
    const w = track(pool.acquire());
    await clock.advance(100);
    expect((w.error as Error).cause).toBeUndefined();
  });

  describe('abort', () => {
    it('before the call: rejects at once with WW_ABORTED and the reason as cause', async () => {
      const { pool, source } = makePool({ min: 1 });
      source.readyAll();
      const ac = new AbortController();
      const reason = new Error('user gave up');
      ac.abort(reason);
      const err = await pool.acquire({ signal: ac.signal }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AbortedError);
      expect((err as AbortedError).cause).toBe(reason);
      expect(pool.stats()).toMatchObject({ idle: 1, leased: 0 });
    });

    it('while queued: removes the waiter at once and keeps FIFO for the rest', async () => {
      const { pool, source } = makePool({ max: 1 });
      const ac = new AbortController();
      const a = track(pool.acquire());
      const b = track(pool.acquire({ signal: ac.signal }));
      const c = track(pool.acquire());
      expect(pool.stats().waiting).toBe(3);
      ac.abort();
      expect(pool.stats().waiting).toBe(2);
      await drain();
      expect(b.error).toMatchObject({ code: 'WW_ABORTED' });
      source.readyAll();
      await drain();
      a.value!.release();
      await drain();
      expect(c.value?.conn.slotId).toBe('conn-1');
      expect(b.settled).toBe(1);
    });

    it('after the grant: no effect, the lease stays valid', async () => {
      const { pool, source } = makePool({ min: 1 });
      source.readyAll();
      const ac = new AbortController();
      const lease = await pool.acquire({ signal: ac.signal });
      ac.abort();
      expect(lease.conn.slotId).toBe('conn-1');
      expect(lease.active).toBe(true);
      lease.release();
    });

    it('after a queued grant: the listener is gone, a later abort changes nothing', async () => {
      const { pool, source } = makePool({ max: 1 });
      const ac = new AbortController();
      const w = track(pool.acquire({ signal: ac.signal }));
      source.readyAll();
      await drain();
      ac.abort();
      await drain();
      expect(w.value!.active).toBe(true);
      expect(w.settled).toBe(1);
    });
  });

  it('rejects invalid per-call options with WW_INVALID_OPTION (never throws)', async () => {
    const { pool } = makePool();
    const p = pool.acquire({ timeoutMs: 0 });
    await expect(p).rejects.toThrow(InvalidOptionError);
    await expect(pool.acquire({ timeoutMs: 1.5 })).rejects.toMatchObject({ message: 'acquire.timeoutMs must be an integer in [1, 2147483647] (ms), got 1.5' });
    await expect(pool.acquire({ signal: {} as AbortSignal })).rejects.toMatchObject({ message: 'acquire.signal must be an AbortSignal, got an object' });
    await expect(pool.acquire({ timeout: 5 } as never)).rejects.toMatchObject({ message: 'acquire.timeout is not a known option (known: signal, timeoutMs)' });
    await expect(pool.acquire(null as never)).rejects.toMatchObject({ code: 'WW_INVALID_OPTION' });
  });

  it('after close: WW_POOL_CLOSED', async () => {
    const { pool } = makePool();
    await pool.close();
    await expect(pool.acquire()).rejects.toThrow(PoolClosedError);
  });

  it('use() releases after fn, also when fn throws', async () => {
    const { pool, source } = makePool({ min: 1 });
    source.readyAll();
    expect(await pool.use((conn) => conn.slotId)).toBe('conn-1');
    await expect(pool.use(() => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(pool.stats()).toMatchObject({ idle: 1, leased: 0, acquired: 2 });
  });

  it('use() does not fail on a connection that died during fn', async () => {
    const { pool, source } = makePool({ min: 1 });
    source.readyAll();
    const result = await pool.use(async (conn) => {
      source.die(source.opened[0]!);
      return conn.slotId;
    });
    expect(result).toBe('conn-1');
    expect(pool.stats()).toMatchObject({ leased: 0, pending: 1, closed: { dead: 1 } });
  });
});
