import { describe, expect, it } from 'vitest';
import { LeaseLostError, LeaseReleasedError } from '../../src/errors.js';
import type { PoolEvent } from '../../src/pool/pool-events.js';
import { makePool, track } from './helpers/make-pool.js';
import { drain } from './helpers/virtual-clock.js';

function caught(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
}

async function warmPool(options: Record<string, unknown> = {}) {
  const t = makePool({ min: 1, max: 1, ...options });
  t.source.readyAll();
  return t;
}

describe('Lease', () => {
  it('double release → WW_LEASE_RELEASED, the pool is not corrupted', async () => {
    const { pool } = await warmPool();
    const lease = await pool.acquire();
    lease.release();
    const err = caught(() => lease.release());
    expect(err).toBeInstanceOf(LeaseReleasedError);
    expect(err).toMatchObject({ code: 'WW_LEASE_RELEASED', message: 'cannot release lease of connection conn-1: already released' });
    expect(pool.stats()).toMatchObject({ open: 1, idle: 1, leased: 0 });
  });

  it('use after release → WW_LEASE_RELEASED; a stale lease cannot touch the next holder', async () => {
    const { pool } = await warmPool();
    const first = await pool.acquire();
    first.release();
    const second = await pool.acquire();
    expect(second.connectionId).toBe(first.connectionId);
    expect(caught(() => first.conn)).toMatchObject({ code: 'WW_LEASE_RELEASED', message: 'cannot use lease of connection conn-1: already released' });
    expect(() => first.release()).toThrow(LeaseReleasedError);
    expect(() => first.destroy()).toThrow(LeaseReleasedError);
    expect(second.active).toBe(true);
    expect(second.conn.slotId).toBe('conn-1');
    expect(pool.stats()).toMatchObject({ leased: 1, idle: 0 });
    second.release();
  });

  it('destroy kills the connection (replaced by the source); release after destroy → WW_LEASE_RELEASED', async () => {
    const { pool, source } = await warmPool();
    const lease = await pool.acquire();
    const reason = new Error('request cancelled mid-frame');
    lease.destroy(reason);
    expect(source.kills).toEqual([{ slot: source.opened[0], reason: 'destroyed', error: reason }]);
    expect(caught(() => lease.release())).toMatchObject({ code: 'WW_LEASE_RELEASED', message: 'cannot release lease of connection conn-1: already destroyed' });
    expect(() => lease.conn).toThrow(LeaseReleasedError);
    expect(pool.stats()).toMatchObject({ open: 0, pending: 1, leased: 0, closed: { destroyed: 1 } });
    const next = track(pool.acquire());
    source.readyAll(); // the replacement
    await drain();
    expect(next.value?.conn.serial).toBe(2);
  });

  it('a connection dying while leased: conn → WW_LEASE_LOST, the first release acknowledges', async () => {
    const { pool, source } = await warmPool();
    const events: PoolEvent[] = [];
    pool.events$.subscribe((e) => events.push(e));
    const lease = await pool.acquire();
    const socketError = new Error('ECONNRESET');
    source.die(source.opened[0]!, 'socket-error', socketError);
    expect(lease.active).toBe(false);
    const err = caught(() => lease.conn);
    expect(err).toBeInstanceOf(LeaseLostError);
    expect(err.message).toBe('cannot use lease of connection conn-1: the connection died (socket-error)');
    expect(err.cause).toBe(socketError);
    expect(() => lease.release()).not.toThrow();
    expect(() => lease.release()).toThrow(LeaseReleasedError);
    expect(() => lease.conn).toThrow(LeaseLostError);
    expect(events.map((e) => e.type)).toEqual(['lease-lost', 'connection-closed']);
    expect(pool.stats()).toMatchObject({ leased: 0, open: 0, pending: 1, closed: { dead: 1 } });
    // the supervisor replaces it; waiters get the new connection
    const w = track(pool.acquire());
    source.readyAll();
    await drain();
    expect(w.value?.conn.serial).toBe(2);
  });

  it('destroy on a lost lease acknowledges silently', async () => {
    const { pool, source } = await warmPool();
    const lease = await pool.acquire();
    source.die(source.opened[0]!);
    expect(() => lease.destroy()).not.toThrow();
    expect(source.kills).toHaveLength(0);
  });

  it('[Symbol.asyncDispose] releases an active lease and is a no-op on an ended one', async () => {
    const { pool } = await warmPool();
    {
      await using lease = await pool.acquire();
      expect(pool.stats().leased).toBe(1);
      expect(lease.active).toBe(true);
    }
    expect(pool.stats()).toMatchObject({ leased: 0, idle: 1 });
    const lease = await pool.acquire();
    lease.release();
    await expect(lease[Symbol.asyncDispose]()).resolves.toBeUndefined();
    expect(pool.stats()).toMatchObject({ leased: 0, idle: 1 });
  });
});
