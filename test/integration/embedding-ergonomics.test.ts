/**
 * What embedding code needs without casts (issue 11, item 8), on real loopback sockets:
 * `listen()` resolves with the address shape its options imply, `request<T>()` types its
 * reply, and `pool.use((conn, signal) => …)` hands the caller's signal to the work.
 * The `expectTypeOf` lines are checked by `tsc`, not by vitest (which runs them as no-ops):
 * tsconfig.json includes test/, so `npm run typecheck` (run by .ci/run) fails on a wrong
 * type here. The runtime lines are checked by vitest.
 */
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { createRuntime, createWireServer, wire, type WireSession } from '../../src/index.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('embedding without casts', () => {
  it('listen() on host:port resolves with a port; on a path, with the path', async () => {
    const server = createWireServer({ handler: (p) => p });
    cleanups.push(() => server.close({ graceful: false }));
    const address = await server.listen();
    expectTypeOf(address).toEqualTypeOf<{ readonly host: string; readonly port: number }>();
    expect(address.host).toBe('127.0.0.1');
    expect(address.port).toBeGreaterThan(0);
    expectTypeOf(createWireServer({ path: '/tmp/x.sock' }).listen).returns.resolves.toEqualTypeOf<{ readonly path: string }>();
  });

  it('request<T>() resolves with the reply typed as T, and pool.use hands fn the caller\'s signal', async () => {
    const server = createWireServer({ handler: (p) => ({ echo: p }) });
    cleanups.push(() => server.close({ graceful: false }));
    const { port } = await server.listen();
    const rt = createRuntime();
    cleanups.push(() => rt.shutdown());
    const pool = rt.createPool<WireSession>({ endpoints: [{ host: '127.0.0.1', port }], protocol: wire(), min: 1, max: 1 });

    const controller = new AbortController();
    const seen: AbortSignal[] = [];
    const reply = await pool.use((conn, signal) => {
      seen.push(signal);
      return conn.request<{ echo: { n: number } }>({ n: 7 }, { signal });
    }, { signal: controller.signal });
    expectTypeOf(reply).toEqualTypeOf<{ echo: { n: number } }>();
    expect(reply.echo.n).toBe(7);
    expect(seen[0]).toBe(controller.signal);

    // Without a signal, fn still gets one (it never aborts), so `{ signal }` always type-checks.
    const untyped = await pool.use((conn, signal) => {
      seen.push(signal);
      return conn.request({ n: 8 }, { signal });
    });
    expectTypeOf(untyped).toEqualTypeOf<unknown>();
    expect(seen[1]).toBeInstanceOf(AbortSignal);
    expect(seen[1]!.aborted).toBe(false);

    // Aborting the caller's signal cancels the request fn made with it.
    const late = new AbortController();
    const slow = createWireServer({ handler: () => new Promise(() => {}) });
    cleanups.push(() => slow.close({ graceful: false }));
    const slowPort = (await slow.listen()).port;
    const slowPool = rt.createPool<WireSession>({ endpoints: [{ host: '127.0.0.1', port: slowPort }], protocol: wire(), min: 1, max: 1 });
    const pending = slowPool.use((conn, signal) => conn.request({ n: 9 }, { signal }), { signal: late.signal });
    setTimeout(() => late.abort(new Error('client went away')), 20);
    await expect(pending).rejects.toMatchObject({ code: 'WW_ABORTED' });
  });
});
