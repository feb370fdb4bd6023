/**
 * pool.dispatch / pool.command against a real redis-server (test/helpers/redis-server.ts):
 * many callers pipelined over few connections, exclusive commands refused on a shared
 * session while pool.use runs them, leases and dispatches side by side, and callers in
 * flight when the server dies failing with the death's retryable error.
 */
import { expect, it } from 'vitest';
import { ConnectionClosedError, ExclusiveCommandError, resp, type Pool, type RespSession } from '../../src/index.js';
import { rawCommands } from '../helpers/redis-server.js';
import { waitFor } from '../transport/helpers.js';
import { eventually, useRedis, withPool } from './redis-fixture.js';

const redis = useRedis();

it('pool.command pipelines 500 concurrent callers over at most max connections', async () => {
  const server = await redis.start();
  await withPool(server.endpoint, { max: 2, acquireTimeoutMs: 5000 }, async ({ pool }) => {
    await pool.command(['SET', 'k', 'v']);
    const replies = await Promise.all(Array.from({ length: 500 }, (_, i) =>
      i % 2 === 0 ? pool.command<string>(['GET', 'k']) : pool.command<number>(['INCR', 'n'])));
    expect(replies.filter((r) => r === 'v')).toHaveLength(250);
    expect(new Set(replies.filter((r) => typeof r === 'number'))).toHaveProperty('size', 250); // every INCR answered once
    expect(await pool.command(['GET', 'n'])).toBe('250');
    const s = pool.stats();
    expect(s.open).toBeLessThanOrEqual(2);
    expect(s.dispatch.dispatched).toBe(502);
    expect(s).toMatchObject({ inFlight: 0, shared: 0, leased: 0 });
    expect(pool.connections().every((c) => c.inFlight === 0)).toBe(true);
  });
});

it('refuses commands that need the connection alone on a shared session; pool.use runs them next to dispatches', async () => {
  const server = await redis.start();
  await withPool(server.endpoint, { max: 2, acquireTimeoutMs: 5000 }, async ({ pool }) => {
    const refused = await pool.dispatch((conn) => conn.command(['MULTI'])).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ExclusiveCommandError);
    expect(refused).toMatchObject({ code: 'WW_EXCLUSIVE_COMMAND', retryable: false });
    // A transaction in a lease while dispatches keep going: neither sees the other's commands.
    const load = Array.from({ length: 200 }, (_, i) => pool.command(['SET', `k${i}`, String(i)]));
    const tx = pool.use(async (conn) => {
      await conn.command(['MULTI']);
      await conn.command(['INCR', 'tx']);
      await conn.command(['INCR', 'tx']);
      return conn.command(['EXEC']);
    });
    expect(await tx).toEqual([1, 2]);
    await Promise.all(load);
    expect(await pool.command(['GET', 'k199'])).toBe('199');
    expect(pool.stats()).toMatchObject({ leased: 0, inFlight: 0 });
  });
});

it('callers in flight when redis dies fail with the death error (retryable); the pool serves again after the restart', async () => {
  const server = await redis.start({ args: ['--enable-debug-command', 'yes'] });
  await withPool(server.endpoint, { max: 1, acquireTimeoutMs: 10_000 }, async ({ pool }) => {
    await pool.command(['SET', 'k', 'v']);
    // Another client holds the single-threaded server busy: our commands wait in its socket.
    const busy = rawCommands(server.port, [['DEBUG', 'SLEEP', '5']]).catch(() => 'killed');
    await eventually(async () => String(await rawCommands(server.port, [['PING']], 100).catch(() => 'blocked')) === 'blocked', 'the server busy');
    const inFlight = Array.from({ length: 5 }, () => pool.command(['GET', 'k']).catch((e: unknown) => e));
    await waitFor(() => pool.stats().inFlight === 5, 'five dispatches in flight', 2000);
    await server.kill(); // SIGKILL while busy: the connection resets under them
    const errors = await Promise.all(inFlight);
    for (const e of errors) {
      expect(e).toBeInstanceOf(ConnectionClosedError);
      expect((e as ConnectionClosedError).retryable).toBe(true);
    }
    expect(await busy).toBe('killed');
    expect(pool.stats()).toMatchObject({ inFlight: 0, shared: 0 });
    await server.restart();
    expect(await pool.command(['PING'])).toBe('PONG');
  });
});

// A request timeout destroys the resp session; its socket's 'close' (the death the pool
// waits for) comes a loop turn later. The connection must not be handed on meanwhile.
it('a dispatch queued behind one that timed out runs on the replacement connection, not on the dying one', async () => {
  const server = await redis.start({ args: ['--enable-debug-command', 'yes'] });
  const options = { max: 1, maxInFlightPerConnection: 1, acquireTimeoutMs: 5000, protocol: resp({ requestTimeoutMs: 200 }) };
  await withPool(server.endpoint, options, async ({ pool }) => {
    await pool.command(['SET', 'k', 'v']);
    const busy = rawCommands(server.port, [['DEBUG', 'SLEEP', '0.6']]).catch(() => 'x');
    await eventually(async () => String(await rawCommands(server.port, [['PING']], 50).catch(() => 'blocked')) === 'blocked', 'the server busy');
    const first = pool.command(['GET', 'k']).catch((e: unknown) => e); // times out after 200 ms
    const queued = pool.command(['GET', 'k']).catch((e: unknown) => e); // waits for room (limit 1, max 1)
    const [timedOut, value] = await Promise.all([first, queued]);
    await busy;
    expect(timedOut).toMatchObject({ code: 'WW_REQUEST_TIMEOUT' });
    expect(value).toBe('v');
    expect(pool.stats().closed.dead).toBe(1);
  });
}, 20_000);

it('an acquire queued behind a lease whose command timed out gets the replacement connection', async () => {
  const server = await redis.start({ args: ['--enable-debug-command', 'yes'] });
  const options = { max: 1, acquireTimeoutMs: 5000, protocol: resp({ requestTimeoutMs: 200 }) };
  await withPool(server.endpoint, options, async ({ pool }) => {
    await pool.command(['SET', 'k', 'v']);
    const busy = rawCommands(server.port, [['DEBUG', 'SLEEP', '0.6']]).catch(() => 'x');
    await eventually(async () => String(await rawCommands(server.port, [['PING']], 50).catch(() => 'blocked')) === 'blocked', 'the server busy');
    const first = pool.use((conn) => conn.command(['GET', 'k'])).catch((e: unknown) => e);
    const queued = pool.use((conn) => conn.command(['GET', 'k'])).catch((e: unknown) => e);
    const [timedOut, value] = await Promise.all([first, queued]);
    await busy;
    expect(timedOut).toMatchObject({ code: 'WW_REQUEST_TIMEOUT' });
    expect(value).toBe('v');
    expect(pool.stats().closed.dead).toBe(1);
  });
}, 20_000);

it('pool.command and pool.request exist only where the sessions have them', () => {
  const typeCheckOnly = (pool: Pool<RespSession>) => {
    void pool.command(['PING']);
    // @ts-expect-error resp sessions have no request(): use command()
    void pool.request({ op: 'x' });
  };
  expect(typeof typeCheckOnly).toBe('function');
});
