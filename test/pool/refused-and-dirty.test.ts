/**
 * Two release/acquire rules against the real supervisor and connection actors (virtual
 * time, in-memory network): a handshake refused for good fails acquires at once — but
 * only while no connection is open — and recovers by itself; a session its next holder
 * must not inherit (`Protocol.needsReset`) is reset before anyone else gets it, or retired
 * when the protocol has no `reset()`.
 */
import { describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors.js';
import type { PoolEvent } from '../../src/pool/pool-events.js';
import { exponentialBackoff } from '../../src/supervisor/backoff.js';
import { A, B, shutdown, supervisedPool } from './helpers/supervised-pool.js';

const backoff = exponentialBackoff({ initialMs: 100, maxMs: 2000, jitter: 'none' });

describe('a refused handshake', () => {
  it('fails queued and new acquires at once, warns once, retries at the slowest pace and recovers by itself', async () => {
    const warnings: string[] = [];
    const t = supervisedPool({ backoff, acquireTimeoutMs: 10_000, logger: { warn: (m) => warnings.push(m) } });
    const events: PoolEvent[] = [];
    t.pool.events$.subscribe((e) => events.push(e));
    t.net.refusing.add(A);
    const queued = t.pool.acquire().catch((e: unknown) => e);
    await t.clock.advance(1);
    const err = await queued;
    expect(hasCode(err, 'WW_ENDPOINT_REFUSED')).toBe(true);
    expect(hasCode((err as Error).cause, 'WW_HANDSHAKE_REFUSED')).toBe(true);
    expect((err as Error).message).toMatch(/every endpoint refused the handshake \(10\.0\.0\.1:7000: AUTH failed/);
    // A new acquire fails without waiting, and opens nothing.
    const again = await t.pool.acquire().catch((e: unknown) => e);
    expect(hasCode(again, 'WW_ENDPOINT_REFUSED')).toBe(true);
    // Retries continue at the policy's slowest delay (2000 ms), quietly.
    for (let i = 0; i < 60; i++) await t.clock.advance(100);
    expect(t.net.dialsTo(A)).toBe(4); // t=1, ~2001, ~4001, ~6001
    expect(warnings).toHaveLength(1);
    expect(events.filter((e) => e.type === 'endpoint-refused')).toHaveLength(1);
    // The password is fixed: the next retry is accepted and the pool serves again.
    t.net.refusing.delete(A);
    for (let i = 0; i < 20; i++) await t.clock.advance(100);
    expect(events.filter((e) => e.type === 'endpoint-recovered')).toHaveLength(1);
    const lease = await t.pool.acquire({ timeoutMs: 1 });
    lease.release();
    await shutdown(t);
  });

  it('does not fail acquires while a connection is still open: they wait for it', async () => {
    const t = supervisedPool({ backoff, max: 2, min: 2, acquireTimeoutMs: 10_000 });
    await t.clock.advance(1);
    const first = await t.pool.acquire();
    const second = await t.pool.acquire();
    t.net.refusing.add(A); // the password rotated under a running pool
    second.destroy(new Error('broken'));
    await t.clock.advance(1);
    expect(t.pool.stats()).toMatchObject({ open: 1, leased: 1 });
    let outcome: unknown;
    const waiting = t.pool.acquire().then((l) => (outcome = l), (e: unknown) => (outcome = e));
    await t.clock.advance(10);
    expect(outcome).toBeUndefined(); // waits for the open connection rather than failing
    first.release();
    await waiting;
    expect(hasCode(outcome, 'WW_ENDPOINT_REFUSED')).toBe(false);
    (outcome as { release(): void }).release();
    t.net.refusing.delete(A);
    await shutdown(t);
  });
});

describe('a refused endpoint among others', () => {
  it('a slot refused on one endpoint and moved to an accepting one dials there now, not after the slowest delay', async () => {
    const t = supervisedPool({
      backoff, acquireTimeoutMs: 1000,
      endpoints: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7000, priority: 1 }],
    }, [A, B]);
    t.net.refusing.add(A);
    const acquiring = t.pool.acquire();
    for (let i = 0; i < 10; i++) await t.clock.advance(10);
    const lease = await acquiring;
    expect(lease.conn.endpoint).toBe(B);
    expect(t.clock.scheduler.now()).toBeLessThan(200); // not the 1000–2000 ms of the slowest pace
    lease.release();
    t.net.refusing.delete(A);
    await shutdown(t);
  });
});

describe('a session its next holder must not inherit', () => {
  it('is reset before it is handed to a waiting acquirer, without resetOnRelease', async () => {
    const t = supervisedPool({ max: 1 });
    await t.clock.advance(1);
    const lease = await t.pool.acquire();
    const session = lease.conn;
    session.dirty = true; // e.g. released inside MULTI
    let next: typeof session | undefined;
    const waiting = t.pool.acquire().then((l) => {
      next = l.conn;
      return l;
    });
    lease.release();
    await t.clock.advance(1);
    const l2 = await waiting;
    expect(next).toBe(session);
    expect(next!.dirty).toBe(false);
    expect(t.net.resets).toBe(1);
    l2.release(); // clean: no reset
    await t.clock.advance(1);
    expect(t.net.resets).toBe(1);
    await shutdown(t);
  });

  it('is retired when its protocol has no reset(): the next holder gets a new connection', async () => {
    const t = supervisedPool({ max: 1 }, [A], (net) => net.protocolWithoutReset);
    await t.clock.advance(1);
    const lease = await t.pool.acquire();
    const dirty = lease.conn;
    dirty.dirty = true;
    lease.release();
    await t.clock.advance(1);
    const acquiring = t.pool.acquire({ timeoutMs: 1000 });
    await t.clock.advance(10);
    const next = await acquiring;
    expect(next.conn.serial).not.toBe(dirty.serial);
    expect(dirty.stream.destroyed).toBe(true);
    expect(t.pool.stats().closed['reset-failed']).toBe(1);
    next.release();
    await shutdown(t);
  });
});
