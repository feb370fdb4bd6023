/**
 * Auto-pipelining on real loopback sockets: the commands (RESP, against a real
 * redis-server) or requests (wire, against a real `createWireServer`) issued on one
 * session in one tick leave in ONE socket write, and callers resumed together by one
 * inbound chunk send their next ones in one write as well. Replies stay matched: in order
 * for RESP, by id for wire. Writes are counted at the socket (`_write`/`_writev` calls).
 */
import type { Duplex } from 'node:stream';
import { asyncScheduler } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { resp } from '../../src/transport/resp.js';
import type { RespSession } from '../../src/transport/resp-session.js';
import { tcp } from '../../src/transport/tcp.js';
import { createWireServer, type WireServer } from '../../src/transport/wire-server.js';
import type { WireSession } from '../../src/transport/wire-session.js';
import { wire } from '../../src/transport/wire.js';
import { useRealRedis } from './resp-helpers/real-session.js';

/** Counts the socket's write syscalls-to-be (one per `_write` or `_writev`) and its inbound chunks. */
function countIo(stream: Duplex): { writes: number; chunks: number } {
  const io = { writes: 0, chunks: 0 };
  const write = stream._write.bind(stream);
  stream._write = (chunk, encoding, cb) => {
    io.writes++;
    write(chunk, encoding, cb);
  };
  const writev = stream._writev?.bind(stream);
  if (writev) {
    stream._writev = (chunks, cb) => {
      io.writes++;
      writev(chunks, cb);
    };
  }
  stream.on('data', () => void io.chunks++);
  return io;
}

const ctx = (port: number) => ({
  signal: new AbortController().signal, endpoint: { host: '127.0.0.1', port }, markAlive: () => {}, scheduler: asyncScheduler,
});

/** Callers that each await `rounds` calls in turn: after the first round they are resumed by reply chunks. */
async function loopCallers(callers: number, rounds: number, call: (caller: number, round: number) => Promise<unknown>): Promise<unknown[][]> {
  return Promise.all(Array.from({ length: callers }, async (_, caller) => {
    const seen: unknown[] = [];
    for (let round = 0; round < rounds; round++) seen.push(await call(caller, round));
    return seen;
  }));
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('resp() auto-pipelining (real redis-server)', () => {
  const redis = useRealRedis();

  async function session(): Promise<{ session: RespSession; io: { writes: number; chunks: number } }> {
    const stream = await tcp().dial(redis.server.endpoint, { connectTimeoutMs: 2000 });
    const opened = await resp().open(stream, ctx(redis.server.port));
    cleanups.push(() => opened.destroy());
    return { session: opened, io: countIo(stream) };
  }

  it('128 commands issued in one tick leave in one socket write; every reply goes to its own command', async () => {
    const { session: s, io } = await session();
    const n = 64;
    const sets = Array.from({ length: n }, (_, i) => s.command(['SET', `ap:${i}`, `v${i}`]));
    const gets = Array.from({ length: n }, (_, i) => s.command(['GET', `ap:${i}`]));
    expect(io.writes).toBe(0); // held for the tick
    expect(await Promise.all(sets)).toEqual(Array(n).fill('OK'));
    expect(await Promise.all(gets)).toEqual(Array.from({ length: n }, (_, i) => `v${i}`));
    expect(io.writes).toBe(1);
  });

  it('callers resumed by one reply chunk send their next commands in one write', async () => {
    const { session: s, io } = await session();
    const results = await loopCallers(32, 10, (caller) => s.command(['INCR', `ap:count:${caller}`]));
    expect(results).toEqual(Array(32).fill(Array.from({ length: 10 }, (_, i) => i + 1)));
    // One write for the first round, then at most one per inbound chunk (Redis may answer a round in several).
    expect(io.writes).toBeLessThanOrEqual(1 + io.chunks);
    expect(io.writes).toBeLessThan(32 * 10 / 4);
  });

  it('a lone command is one plain write', async () => {
    const { session: s, io } = await session();
    expect(await s.command(['PING'])).toBe('PONG');
    expect(io.writes).toBe(1);
  });

  it('a lone command with a 64 KiB Buffer argument (several chunks, never copied) is still one socket write', async () => {
    const { session: s, io } = await session();
    const value = Buffer.alloc(64 * 1024, 0x61);
    expect(await s.command(['SET', 'ap:big', value])).toBe('OK');
    expect(io.writes).toBe(1);
    expect(await s.command(['STRLEN', 'ap:big'])).toBe(64 * 1024);
  });
});

describe('wire() auto-pipelining (real loopback server)', () => {
  async function serve(): Promise<{ server: WireServer; session: WireSession; io: { writes: number; chunks: number } }> {
    const server = createWireServer({ handler: (payload) => ({ echo: payload }) });
    cleanups.push(() => server.close({ graceful: false }));
    const { port } = (await server.listen()) as { port: number };
    const stream = await tcp().dial({ port }, { connectTimeoutMs: 2000 });
    const session = await wire().open(stream, ctx(port));
    cleanups.push(() => session.destroy());
    return { server, session, io: countIo(stream) };
  }

  it('128 requests issued in one tick leave in one socket write; replies matched by id', async () => {
    const { session, io } = await serve();
    const replies = Array.from({ length: 128 }, (_, i) => session.request({ i }));
    expect(io.writes).toBe(0);
    expect(await Promise.all(replies)).toEqual(Array.from({ length: 128 }, (_, i) => ({ echo: { i } })));
    expect(io.writes).toBe(1);
  });

  it('callers resumed by one reply chunk send their next requests in one write; a lone request is one plain write', async () => {
    const { session, io } = await serve();
    const results = await loopCallers(32, 10, (caller, round) => session.request({ caller, round }));
    expect(results).toEqual(Array.from({ length: 32 }, (_, caller) => Array.from({ length: 10 }, (_, round) => ({ echo: { caller, round } }))));
    expect(io.writes).toBeLessThanOrEqual(1 + io.chunks);
    expect(io.writes).toBeLessThan(32 * 10 / 4);
    const before = io.writes;
    await session.request('alone');
    expect(io.writes).toBe(before + 1);
  });
});
