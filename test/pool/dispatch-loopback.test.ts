/**
 * pool.dispatch / pool.request over real wire() connections on 127.0.0.1: many callers
 * multiplexed over few connections, the per-connection limit and the queue beyond it, and
 * a request in flight when its connection dies.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionClosedError } from '../../src/errors.js';
import type { Pool } from '../../src/pool/pool.js';
import type { WireSession } from '../../src/transport/wire-session.js';
import { wire } from '../../src/transport/wire.js';
import { cleanup, runtime, startServer, TOKEN, waitFor } from './helpers/loopback.js';

afterEach(cleanup);

describe('dispatch over loopback wire connections', () => {
  it('pool.request multiplexes 300 concurrent callers over at most max connections', async () => {
    const { server, port } = await startServer();
    const pool = runtime().createPool({ endpoints: [{ host: '127.0.0.1', port }], protocol: wire({ token: TOKEN }), max: 2 });
    const replies = await Promise.all(Array.from({ length: 300 }, (_, i) => pool.request<number>(i)));
    expect(replies).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(server.connections).toBeLessThanOrEqual(2);
    expect(pool.stats()).toMatchObject({ inFlight: 0, shared: 0, leased: 0, dispatch: { dispatched: 300 } });
    // and through dispatch, with the caller's signal handed on
    const ac = new AbortController();
    expect(await pool.dispatch((conn, signal) => conn.request({ op: 'echo' }, { signal }), { signal: ac.signal })).toEqual({ op: 'echo' });
  });

  it('holds each connection to maxInFlightPerConnection and queues the rest', async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const { port } = await startServer({ handler: async (payload) => (await gate, payload) });
    const pool = runtime().createPool({
      endpoints: [{ host: '127.0.0.1', port }], protocol: wire({ token: TOKEN }), max: 2, maxInFlightPerConnection: 2,
    });
    const calls = Array.from({ length: 5 }, (_, i) => pool.request<number>(i));
    await waitFor('four in flight', () => pool.stats().inFlight === 4);
    expect(pool.stats()).toMatchObject({ open: 2, shared: 2, inFlight: 4, dispatch: { waiting: 1 } });
    expect(pool.connections().map((c) => c.inFlight)).toEqual([2, 2]);
    open();
    expect(await Promise.all(calls)).toEqual([0, 1, 2, 3, 4]);
    expect(pool.stats()).toMatchObject({ shared: 0, inFlight: 0, idle: 2 });
  });

  it('a request in flight when its connection dies fails with the retryable death error; the pool replaces it', async () => {
    const { server, port } = await startServer();
    const pool = runtime().createPool({ endpoints: [{ host: '127.0.0.1', port }], protocol: wire({ token: TOKEN }), max: 1 });
    const hanging = pool.request('hang').catch((e: unknown) => e);
    await waitFor('in flight', () => pool.stats().inFlight === 1);
    await server.close({ graceful: false });
    const err = await hanging;
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect((err as ConnectionClosedError).retryable).toBe(true);
    expect(pool.stats()).toMatchObject({ inFlight: 0, shared: 0 });
  });

  it('pool.request and pool.command exist only where the sessions have them', () => {
    const typeCheckOnly = (pool: Pool<WireSession>) => {
      void pool.request({ op: 'x' });
      // @ts-expect-error wire sessions have no command(): use request()
      void pool.command(['GET', 'k']);
    };
    expect(typeof typeCheckOnly).toBe('function');
  });
});
