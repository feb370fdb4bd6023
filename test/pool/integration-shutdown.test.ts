/**
 * `rt.shutdown()` with an open pool on 127.0.0.1 leaves nothing behind: no socket on
 * either side, no timer, no actor, and the pool refuses further use.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LeaseLostError, PoolClosedError, RuntimeShutDownError } from '../../src/errors.js';
import { createRuntime } from '../../src/runtime.js';
import { exponentialBackoff } from '../../src/supervisor/backoff.js';
import { wire } from '../../src/transport/wire.js';
import { cleanup, handles, startServer, TOKEN, waitFor } from './helpers/loopback.js';

afterEach(cleanup);

describe('rt.shutdown() with an open pool', () => {
  it('closes the pool first and leaves no socket or timer behind', async () => {
    const baseline = handles();
    const { server, port } = await startServer();
    const rt = createRuntime({ loadSource: () => 0 });
    const pool = rt.createPool({
      endpoints: [{ host: '127.0.0.1', port }], protocol: wire({ token: TOKEN }), min: 3, max: 5, closeTimeoutMs: 200,
      heartbeat: { intervalMs: 50, minTimeoutMs: 20, maxTimeoutMs: 500 },
      backoff: exponentialBackoff({ initialMs: 20, maxMs: 100 }), leakDetectionMs: 10_000,
    });
    await waitFor('warm', () => pool.stats().open === 3);
    await Promise.all(Array.from({ length: 5 }, () => pool.use((conn) => conn.request('busy'))));
    // every connection held (never released: forced after closeTimeoutMs), three more queued
    const held = await Promise.all(Array.from({ length: 5 }, () => pool.acquire()));
    const queued = Array.from({ length: 3 }, () => pool.acquire({ timeoutMs: 5000 }).catch((e: unknown) => e));
    expect(pool.stats()).toMatchObject({ leased: 5, waiting: 3 });
    let completed = false;
    rt.events$.subscribe({ complete: () => (completed = true) });

    await rt.shutdown();
    expect(rt.state).toBe('stopped');
    expect(completed).toBe(true);
    expect(pool.closed).toBe(true);
    for (const lease of held) expect(() => lease.conn).toThrow(LeaseLostError);
    for (const err of await Promise.all(queued)) expect(err).toBeInstanceOf(PoolClosedError);
    await expect(pool.acquire()).rejects.toBeInstanceOf(PoolClosedError);
    expect(() => rt.createPool({ endpoints: [{ host: '127.0.0.1', port }], protocol: wire() })).toThrow(RuntimeShutDownError);

    await waitFor('server sees no client', () => server.connections === 0);
    await server.close();
    await waitFor('handles released', () => handles() <= baseline);
    expect(handles()).toBe(baseline);
  });

  it('pool.close() alone removes the pool supervisor and its sockets; the runtime keeps running', async () => {
    const { server, port } = await startServer();
    const rt = createRuntime({ loadSource: () => 0 });
    const pool = rt.createPool({ id: 'edge', endpoints: [{ host: '127.0.0.1', port }], protocol: wire({ token: TOKEN }), min: 2 });
    expect(pool.path).toBe('root/edge');
    await waitFor('warm', () => server.connections === 2);
    await pool.close();
    await pool.close(); // idempotent
    await waitFor('server sees no client', () => server.connections === 0);
    expect(rt.state).toBe('running');
    // the id is free again
    const again = rt.createPool({ id: 'edge', endpoints: [{ host: '127.0.0.1', port }], protocol: wire({ token: TOKEN }), min: 1 });
    expect(await again.use((conn) => conn.request('hi'), { timeoutMs: 2000 })).toBe('hi');
    await rt.shutdown();
    await waitFor('server sees no client', () => server.connections === 0);
  });
});
