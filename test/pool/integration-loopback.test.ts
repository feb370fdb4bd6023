/**
 * `rt.createPool` end to end on 127.0.0.1: real `wire()` connections to a
 * `createWireServer` started by the test, supervised by the pool's supervisor. Real
 * time, bounded by polling; no timing assertion with a tight tolerance.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionClosedError, LeaseLostError } from '../../src/errors.js';
import type { RuntimeEvent } from '../../src/observe/events.js';
import { exponentialBackoff } from '../../src/supervisor/backoff.js';
import { createSupervisorHandle } from '../../src/supervisor/supervisor-handle.js';
import { wire } from '../../src/transport/wire.js';
import { cleanup, runtime, startServer, TOKEN, waitFor } from './helpers/loopback.js';

afterEach(cleanup);

const heartbeat = { intervalMs: 50, minTimeoutMs: 20, maxTimeoutMs: 500 };
const backoff = exponentialBackoff({ initialMs: 20, maxMs: 100, multiplier: 2, jitter: 'full' });

describe('rt.createPool over loopback wire connections', () => {
  it('warms up min, leases WireSessions, and reports states, RTT and stats', async () => {
    const { server, port } = await startServer();
    const rt = runtime();
    const events: RuntimeEvent[] = [];
    rt.events$.subscribe((e) => events.push(e));
    const pool = rt.createPool({
      endpoints: [{ host: '127.0.0.1', port }], protocol: wire({ token: TOKEN }), min: 2, max: 4, heartbeat, backoff,
    });
    await waitFor('min ready', () => pool.stats().open === 2);
    expect(server.connections).toBe(2);

    const lease = await pool.acquire({ timeoutMs: 1000 });
    expect(await lease.conn.request({ op: 'echo', n: 1 })).toEqual({ op: 'echo', n: 1 });
    lease.release();
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => pool.use((conn) => conn.request(i))));
    expect(replies).toEqual(Array.from({ length: 20 }, (_, i) => i));

    await waitFor('every connection measured', () => pool.connections().every((c) => c.rttMs !== undefined));
    const key = `127.0.0.1:${port}`;
    const conns = pool.connections();
    expect(conns.length).toBeGreaterThanOrEqual(2);
    expect(conns.length).toBeLessThanOrEqual(4);
    for (const c of conns) {
      expect(c.endpoint).toBe(key);
      expect(['ready', 'probing']).toContain(c.state);
      expect(c.leased).toBe(false);
      expect(c.rttMs).toBeGreaterThanOrEqual(0);
    }
    const s = pool.stats();
    expect(s).toMatchObject({ open: conns.length, leased: 0, idle: conns.length, pending: 0, waiting: 0, acquired: 21, timeouts: 0 });
    expect(s.endpoints[key]).toMatchObject({ open: conns.length, failures: 0 });
    expect(server.connections).toBe(conns.length);

    const ready = events.filter((e) => e.type === 'pool' && e.event.type === 'connection-ready');
    expect(ready).toHaveLength(conns.length);
    expect(ready[0]).toMatchObject({ id: pool.id, path: `root/${pool.id}` });
    const text = JSON.stringify(events, (_k, v: unknown) => (v instanceof Error ? v.message : v));
    expect(text).not.toContain(TOKEN);
  });

  it('a connection killed while leased: the call fails with a code, the lease is lost, the supervisor replaces it', async () => {
    const { server, port } = await startServer();
    const rt = runtime();
    const events: RuntimeEvent[] = [];
    rt.events$.subscribe((e) => events.push(e));
    const pool = rt.createPool({
      endpoints: [{ host: '127.0.0.1', port }], protocol: wire({ token: TOKEN }), min: 2, max: 2, heartbeat, backoff,
    });
    await waitFor('min ready', () => pool.stats().open === 2);
    const lease = await pool.acquire();
    const id = lease.connectionId;
    const inFlight = lease.conn.request('hang').catch((e: unknown) => e);

    const children = createSupervisorHandle('root', 'root', () => rt.root).supervisor(pool.id);
    children.childRef(id)!.send({ type: 'KILL', reason: 'socket-error' });
    const err = await inFlight;
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect((err as ConnectionClosedError).code).toBe('WW_CONNECTION_CLOSED');
    expect(() => lease.conn).toThrow(LeaseLostError);
    lease.release(); // acknowledges the loss, does not throw

    await waitFor('back to min', () => pool.stats().open === 2);
    expect(events.filter((e) => e.type === 'restart' && e.id === id)).toHaveLength(1);
    expect(events.some((e) => e.type === 'pool' && e.event.type === 'lease-lost' && e.event.id === id)).toBe(true);
    expect(pool.stats()).toMatchObject({ leased: 0, pending: 0, closed: { dead: 1 } });
    await waitFor('server sees two clients', () => server.connections === 2);
    expect(await pool.use((conn) => conn.request('after'))).toBe('after');
  });

  it('a socket error on a leased connection is a death too (the peer resets it)', async () => {
    const { port } = await startServer();
    const rt = runtime();
    const pool = rt.createPool({
      endpoints: [{ host: '127.0.0.1', port }], protocol: wire({ token: TOKEN }), min: 1, max: 1, heartbeat, backoff,
    });
    const lease = await pool.acquire({ timeoutMs: 2000 });
    const inFlight = lease.conn.request('hang').catch((e: unknown) => e);
    lease.conn.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    expect(((await inFlight) as ConnectionClosedError).code).toBe('WW_CONNECTION_CLOSED');
    await waitFor('lease lost', () => !lease.active);
    expect(() => lease.conn).toThrow(LeaseLostError);
    expect(await pool.use((conn) => conn.request(7), { timeoutMs: 2000 })).toBe(7);
  });
});
