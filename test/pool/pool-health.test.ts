/**
 * `pool.health()`: a pure snapshot answering "can this pool serve now, and why not",
 * against the real supervisor and connection actors (virtual time, in-memory network),
 * plus the decision table of `poolHealth` on plain inputs.
 */
import { describe, expect, it } from 'vitest';
import { DialRefusedError, HandshakeRefusedError } from '../../src/errors.js';
import { poolHealth, type PoolHealthInput } from '../../src/pool/pool-health.js';
import { A, B, shutdown, supervisedPool } from './helpers/supervised-pool.js';

describe('pool.health()', () => {
  it('is live and ready once a connection is open, with figures and the endpoint up', async () => {
    const t = supervisedPool({ min: 2, max: 4 });
    expect(t.pool.health()).toMatchObject({ live: true, ready: false, reason: 'connecting', pending: 2 });
    await t.clock.advance(1);
    const h = t.pool.health();
    expect(h).toMatchObject({ live: true, ready: true, open: 2, idle: 2, leased: 0, pending: 0, waiting: 0, max: 4 });
    expect(h.reason).toBeUndefined();
    expect(h.endpoints).toEqual([{ endpoint: A, state: 'up', open: 2, pending: 0 }]);
    await shutdown(t);
  });

  it('says unreachable with the last dial error while the backend is down, and recovers by itself', async () => {
    const t = supervisedPool({ min: 1, max: 2 }, []);
    await t.clock.advance(1);
    const down = t.pool.health();
    expect(down).toMatchObject({ live: true, ready: false, reason: 'unreachable' });
    expect(down.endpoints[0]).toMatchObject({ endpoint: A, state: 'down', lastError: { code: 'WW_DIAL_REFUSED' } });
    expect(down.message).toContain(`${A}: WW_DIAL_REFUSED`);
    t.net.setUp(A);
    await t.clock.advance(200);
    expect(t.pool.health()).toMatchObject({ ready: true, endpoints: [{ state: 'up' }] });
    expect(t.pool.health().endpoints[0]!.lastError).toBeUndefined();
    await shutdown(t);
  });

  it('says refused, with the handshake error, when every endpoint rejects the credentials', async () => {
    const t = supervisedPool({ min: 1, max: 2, logger: { warn: () => {} } });
    t.net.refusing.add(A);
    await t.clock.advance(1);
    const h = t.pool.health();
    expect(h).toMatchObject({ live: true, ready: false, reason: 'refused', endpoints: [{ state: 'refused', lastError: { code: 'WW_HANDSHAKE_REFUSED' } }] });
    expect(h.message).toMatch(/every endpoint refused the handshake \(10\.0\.0\.1:7000: WW_HANDSHAKE_REFUSED\)/);
    await shutdown(t);
  });

  it('stays ready on one endpoint while the other is down, and names the down one with its error', async () => {
    const t = supervisedPool({
      endpoints: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7000 }], min: 2, max: 2,
    }, [A]);
    await t.clock.advance(300);
    const h = t.pool.health();
    expect(h).toMatchObject({ ready: true, open: 1, pending: 1 });
    expect(h.endpoints).toEqual([
      { endpoint: A, state: 'up', open: 1, pending: 1 },
      { endpoint: B, state: 'down', open: 0, pending: 0, lastError: { code: 'WW_DIAL_REFUSED', message: expect.stringContaining(B) } },
    ]);
    await shutdown(t);
  });

  it('is not ready while the queue is at maxWaiting, and ready again once it drains', async () => {
    const t = supervisedPool({ min: 1, max: 1, maxWaiting: 1 });
    await t.clock.advance(1);
    const lease = await t.pool.acquire();
    const queued = t.pool.acquire();
    expect(t.pool.health()).toMatchObject({ ready: false, reason: 'saturated', waiting: 1 });
    lease.release();
    (await queued).release();
    expect(t.pool.health()).toMatchObject({ ready: true, waiting: 0 });
    await shutdown(t);
  });

  it('is neither live nor ready once close() started', async () => {
    const t = supervisedPool({ min: 1 });
    await t.clock.advance(1);
    const closing = t.pool.close();
    expect(t.pool.health()).toMatchObject({ live: false, ready: false, reason: 'closed' });
    await t.clock.advance(100);
    await closing;
    expect(t.pool.health()).toMatchObject({ live: false, ready: false, reason: 'closed' });
    await shutdown(t);
  });

  it('a lazy pool (min 0, nothing opened) is ready: an acquire opens a connection', async () => {
    const t = supervisedPool({ min: 0 });
    expect(t.pool.health()).toMatchObject({ live: true, ready: true, open: 0, endpoints: [{ state: 'unused' }] });
    await shutdown(t);
  });
});

describe('poolHealth (pure)', () => {
  const base: PoolHealthInput = {
    closed: false, open: 0, idle: 0, leased: 0, pending: 0, waiting: 0, max: 4, maxWaiting: Number.POSITIVE_INFINITY,
    endpoints: [{ key: A, open: 0, pending: 0, consecutiveFailures: 0, refused: undefined, lastError: undefined }],
  };

  it('the same input gives the same, frozen answer', () => {
    const input = { ...base, open: 1, idle: 1, endpoints: [{ ...base.endpoints[0]!, open: 1 }] };
    expect(poolHealth(input)).toEqual(poolHealth(input));
    expect(Object.isFrozen(poolHealth(input))).toBe(true);
  });

  it('an open connection wins over a failing endpoint elsewhere', () => {
    const h = poolHealth({
      ...base, open: 1, idle: 1,
      endpoints: [
        { key: A, open: 1, pending: 0, consecutiveFailures: 0, refused: undefined, lastError: undefined },
        { key: B, open: 0, pending: 1, consecutiveFailures: 2, refused: undefined, lastError: new DialRefusedError('refused') },
      ],
    });
    expect(h).toMatchObject({ ready: true, endpoints: [{ state: 'up' }, { state: 'down', lastError: { code: 'WW_DIAL_REFUSED', message: 'refused' } }] });
  });

  it('a refused endpoint next to a down one is unreachable, naming both causes', () => {
    const h = poolHealth({
      ...base, pending: 2,
      endpoints: [
        { key: A, open: 0, pending: 1, consecutiveFailures: 1, refused: new HandshakeRefusedError('bad token'), lastError: undefined },
        { key: B, open: 0, pending: 1, consecutiveFailures: 1, refused: undefined, lastError: new DialRefusedError('refused') },
      ],
    });
    expect(h).toMatchObject({ ready: false, reason: 'unreachable' });
    expect(h.message).toContain(`${A}: WW_HANDSHAKE_REFUSED; ${B}: WW_DIAL_REFUSED`);
  });
});
