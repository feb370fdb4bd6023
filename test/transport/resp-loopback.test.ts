/**
 * `resp()` end to end on 127.0.0.1: the `tcp()` dialer, real sockets, and a fake Redis
 * started by each test. Session timers run on a VirtualTimeScheduler where a test needs
 * them (timeouts), so nothing sleeps.
 */
import { asyncScheduler, VirtualTimeScheduler, type SchedulerLike } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hasCode, RemoteError } from '../../src/errors.js';
import type { RespSession } from '../../src/transport/resp-session.js';
import { resp, type RespOptions } from '../../src/transport/resp.js';
import { tcp } from '../../src/transport/tcp.js';
import { advance, expectHandlesBackTo, handleCounts, waitFor, rejection } from './helpers.js';
import { FakeRedis, type FakeRedisOptions } from './resp-helpers/fake-redis.js';

const PASSWORD = 'loopback-Pa55word';
const cleanups: Array<() => unknown> = [];
let baseline: Record<string, number>;

beforeEach(() => {
  baseline = handleCounts();
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await expectHandlesBackTo(baseline);
});

async function startRedis(options?: FakeRedisOptions): Promise<FakeRedis> {
  const redis = await new FakeRedis(options).listen();
  cleanups.push(() => redis.close());
  return redis;
}

async function connect(redis: FakeRedis, options?: RespOptions, scheduler: SchedulerLike = asyncScheduler): Promise<RespSession> {
  const stream = await tcp().dial({ host: '127.0.0.1', port: redis.port }, { connectTimeoutMs: 2000 });
  const session = await resp(options).open(stream, {
    signal: new AbortController().signal,
    endpoint: { host: '127.0.0.1', port: redis.port },
    markAlive: () => {},
    scheduler,
  });
  cleanups.push(() => session.destroy());
  return session;
}

describe('resp over loopback', () => {
  it('authenticates (RESP2), selects the db, names the client, and runs commands there', async () => {
    const redis = await startRedis({ username: 'app', password: PASSWORD });
    const session = await connect(redis, { username: 'app', password: PASSWORD, db: 3, clientName: 'api-1' });
    expect(await session.command(['SET', 'k', 'v'])).toBe('OK');
    expect(await session.command(['CLIENT', 'GETNAME'])).toBe('api-1');
    const [client] = redis.clients;
    expect(client).toMatchObject({ db: 3, authed: true, name: 'api-1', proto: 2 });
    expect(redis.dbs.get(3)?.get('k')).toBe('v');
  });

  it('fails the handshake on a wrong password without the password in the error, and leaves no connection', async () => {
    const redis = await startRedis({ password: PASSWORD, echoPasswordInErrors: true });
    const wrong = 'not-the-Pa55word';
    const err = await rejection(connect(redis, { password: wrong, db: 1 }));
    expect(hasCode(err, 'WW_HANDSHAKE_REFUSED')).toBe(true);
    expect(err.message).toMatch(/^AUTH failed on 127\.0\.0\.1:\d+: WRONGPASS invalid username-password pair/);
    for (const text of [err.message, String(err.stack), String((err.cause as Error).message), JSON.stringify(err)]) {
      expect(text).not.toContain(wrong);
    }
    await waitFor(() => redis.connections === 0, 'server side closed');
  });

  it('negotiates RESP3 with HELLO: maps, nulls and pushes', async () => {
    const redis = await startRedis({ password: PASSWORD });
    const session = await connect(redis, { password: PASSWORD, protocolVersion: 3, clientName: 'r3' });
    expect(session.server).toMatchObject({ version: '7.2.4', protocolVersion: 3 });
    await session.command(['HSET', 'h', 'a', '1', 'b', '2']);
    expect(await session.command(['HGETALL', 'h'])).toEqual(new Map([['a', '1'], ['b', '2']]));
    expect(await session.command(['GET', 'missing'])).toBeNull();
    const pushes: unknown[] = [];
    session.onPush((p) => pushes.push(p));
    redis.push('invalidate', 'k');
    expect(await session.command(['PING'])).toBe('PONG');
    await waitFor(() => pushes.length === 1, 'push');
    expect(pushes).toEqual([['invalidate', 'k']]);
  });

  it('pipelines 500 commands and matches every reply in order', async () => {
    const redis = await startRedis();
    const session = await connect(redis);
    const replies = Array.from({ length: 500 }, (_, i) =>
      i % 2 === 0 ? session.command(['INCR', 'n']) : session.command(['ECHO', `m${i}`]),
    );
    const values = await Promise.all(replies);
    values.forEach((v, i) => expect(v).toBe(i % 2 === 0 ? i / 2 + 1 : `m${i}`));
  });

  it('round-trips a 2 MiB value that TCP splits into many chunks', async () => {
    const redis = await startRedis();
    const session = await connect(redis, { returnBuffers: true });
    const value = Buffer.alloc(2 * 1024 * 1024, 'abcdefgh');
    await session.command(['SET', 'big', value]);
    const got = await session.command<Buffer>(['GET', 'big']);
    expect(got.equals(value)).toBe(true);
  });

  it('rejects error replies with RemoteError and keeps the connection', async () => {
    const redis = await startRedis();
    const session = await connect(redis);
    await session.command(['HSET', 'h', 'f', 'v']);
    const err = await rejection(session.command(['GET', 'h']));
    expect(err).toBeInstanceOf(RemoteError);
    expect((err.cause as { code: string }).code).toBe('WRONGTYPE');
    const unknown = await rejection(session.command(['NOSUCH']));
    expect(unknown.message).toBe("ERR unknown command 'NOSUCH', with args beginning with: ");
    expect(await session.command(['PING'])).toBe('PONG');
  });

  it('on a timeout: RequestTimeoutError, and the socket is closed (the server sees it go)', async () => {
    const redis = await startRedis();
    const vts = new VirtualTimeScheduler();
    const session = await connect(redis, { requestTimeoutMs: 500 }, vts);
    redis.stalled = true;
    const p = session.command(['GET', 'k']);
    await waitFor(() => redis.commands.some((c) => c[0] === 'GET'), 'GET at the server');
    advance(vts, 500);
    expect(hasCode(await rejection(p), 'WW_REQUEST_TIMEOUT')).toBe(true);
    await session.closed;
    await waitFor(() => redis.connections === 0, 'server side closed');
  });

  it('probe answers PING; an abandoned probe does not shift later replies', async () => {
    const redis = await startRedis();
    const protocol = resp();
    const stream = await tcp().dial({ port: redis.port }, { connectTimeoutMs: 2000 });
    const session = await protocol.open(stream, { signal: new AbortController().signal, endpoint: { port: redis.port }, markAlive: () => {}, scheduler: asyncScheduler });
    cleanups.push(() => session.destroy());
    await protocol.probe(session, new AbortController().signal);
    const ac = new AbortController();
    const probe = protocol.probe(session, ac.signal);
    ac.abort();
    expect(hasCode(await rejection(probe), 'WW_ABORTED')).toBe(true);
    expect(await session.command(['ECHO', 'after'])).toBe('after');
  });

  it('reset leaves MULTI, restores db, name and auth (RESET + handshake), in one round trip', async () => {
    const redis = await startRedis({ password: PASSWORD });
    const protocol = resp({ password: PASSWORD, db: 2, clientName: 'pooled' });
    const stream = await tcp().dial({ port: redis.port }, { connectTimeoutMs: 2000 });
    const session = await protocol.open(stream, { signal: new AbortController().signal, endpoint: { port: redis.port }, markAlive: () => {}, scheduler: asyncScheduler });
    cleanups.push(() => session.destroy());
    await session.command(['SELECT', '9']);
    await session.command(['CLIENT', 'SETNAME', 'borrowed']);
    await session.command(['MULTI']);
    expect(await session.command(['SET', 'x', '1'])).toBe('QUEUED');
    await protocol.reset!(session);
    const [client] = redis.clients;
    expect(client).toMatchObject({ db: 2, name: 'pooled', multi: null, authed: true });
    expect(await session.command(['GET', 'x'])).toBeNull();
  });

  it('reset against a server without RESET rejects and closes the connection', async () => {
    const redis = await startRedis({ supportsReset: false });
    const protocol = resp();
    const stream = await tcp().dial({ port: redis.port }, { connectTimeoutMs: 2000 });
    const session = await protocol.open(stream, { signal: new AbortController().signal, endpoint: { port: redis.port }, markAlive: () => {}, scheduler: asyncScheduler });
    const err = await rejection(protocol.reset!(session));
    expect(hasCode(err, 'WW_REMOTE_ERROR')).toBe(true);
    await session.closed;
    await waitFor(() => redis.connections === 0, 'server side closed');
  });

  it('garbage from the server kills only that connection, with ProtocolError', async () => {
    const redis = await startRedis();
    const a = await connect(redis);
    const b = await connect(redis);
    let closedWith: Error | undefined;
    a.onClose((e) => (closedWith = e));
    redis.garbageNext = true;
    const err = await rejection(a.command(['GET', 'k']));
    expect(hasCode(err.cause, 'WW_PROTOCOL_ERROR')).toBe(true);
    await a.closed;
    expect(hasCode(closedWith, 'WW_PROTOCOL_ERROR')).toBe(true);
    expect(await b.command(['PING'])).toBe('PONG');
  });

  it('close drains in-flight commands, ends the socket and leaves no handle behind', async () => {
    const redis = await startRedis();
    const before = handleCounts();
    const session = await connect(redis);
    const pending = session.command(['INCR', 'n']);
    await session.close();
    expect(await pending).toBe(1);
    expect(session.state).toBe('closed');
    await waitFor(() => redis.connections === 0, 'server side closed');
    await expectHandlesBackTo(before);
  });
});
