/**
 * `resp().sharing` against a real redis-server: while `pool.dispatch` shares a session
 * (between `sharing.enter` and `sharing.leave`), ordinary commands pipeline as usual and
 * commands that need the connection alone are refused with `ExclusiveCommandError` before
 * anything is written, losing nothing else on the connection. After `leave` they work.
 */
import type { Duplex } from 'node:stream';
import { asyncScheduler } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { ExclusiveCommandError, hasCode, InvariantBrokenError } from '../../src/errors.js';
import type { RespArg } from '../../src/transport/resp-encoder.js';
import type { RespSession } from '../../src/transport/resp-session.js';
import { resp } from '../../src/transport/resp.js';
import { tcp } from '../../src/transport/tcp.js';
import { rejection } from './helpers.js';
import { blockedClients, useRealRedis } from './resp-helpers/real-session.js';

const redis = useRealRedis();
const protocol = resp();
const sharing = protocol.sharing!;
const opened: RespSession[] = [];
afterEach(() => {
  for (const s of opened.splice(0)) s.destroy();
});

/** A session over a real socket, with the socket's write calls counted. */
async function open(): Promise<{ session: RespSession; writes: () => number }> {
  const stream: Duplex = await tcp().dial(redis.server.endpoint, { connectTimeoutMs: 2000 });
  const session = await protocol.open(stream, {
    signal: new AbortController().signal, endpoint: redis.server.endpoint, markAlive: () => {}, scheduler: asyncScheduler,
  });
  opened.push(session);
  let writes = 0;
  const write = stream._write.bind(stream);
  stream._write = (c, e, cb) => void (writes++, write(c, e, cb));
  const writev = stream._writev?.bind(stream);
  if (writev) stream._writev = (cs, cb) => void (writes++, writev(cs, cb));
  return { session, writes: () => writes };
}

describe('resp() sharing', () => {
  it('declares itself shareable: 128 in flight by default, enter/leave toggle `shared`', async () => {
    expect(sharing.maxInFlight).toBe(128);
    const { session } = await open();
    expect(session.shared).toBe(false);
    sharing.enter!(session);
    expect(session.shared).toBe(true);
    sharing.leave!(session);
    expect(session.shared).toBe(false);
  });

  it('refuses exclusive commands before writing them; the ordinary commands around them keep their replies', async () => {
    const { session, writes } = await open();
    await session.command(['DEL', 'sh:list', 'sh:n']);
    sharing.enter!(session);
    const before = writes();
    const refused = [
      ['MULTI'], ['EXEC'], ['DISCARD'], ['WATCH', 'sh:n'], ['UNWATCH'], ['BLPOP', 'sh:list', '0'],
      ['XREAD', 'BLOCK', '0', 'STREAMS', 'sh:s', '$'], ['SUBSCRIBE', 'c'], ['SELECT', '1'], ['CLIENT', 'REPLY', 'OFF'],
      ['WAIT', '0', '0'], ['MONITOR'], ['READONLY'], ['READWRITE'], ['ASKING'], ['SYNC'], ['PSYNC', '?', '-1'],
    ];
    // Interleaved in one tick: ordinary INCRs between the refused commands.
    const calls = refused.flatMap((args) => [session.command(args), session.command(['INCR', 'sh:n'])]);
    const settled = await Promise.allSettled(calls);
    const replies = settled.filter((_, i) => i % 2 === 1).map((r) => (r.status === 'fulfilled' ? r.value : r.reason));
    expect(replies).toEqual(refused.map((_, i) => i + 1));
    for (const [i, r] of settled.entries()) {
      if (i % 2 === 1) continue;
      expect(r.status).toBe('rejected');
      const err = (r as PromiseRejectedResult).reason as Error;
      expect(err).toBeInstanceOf(ExclusiveCommandError);
      expect(hasCode(err, 'WW_EXCLUSIVE_COMMAND')).toBe(true);
      expect(err.message).toMatch(/pool\.use\(\) or on a lease from pool\.acquire\(\)/);
    }
    const firstMessage = ((settled[0] as PromiseRejectedResult).reason as Error).message;
    expect(firstMessage).toMatch(/^MULTI refused: it needs a connection to itself \(a transaction .*\), and this session with 127\.0\.0\.1:\d+ is shared by pool\.dispatch/);
    expect(((settled[18] as PromiseRejectedResult).reason as Error).message).toMatch(/^CLIENT REPLY refused/);
    // Nothing refused reached Redis: the INCRs left in one write, the session is as before.
    expect(writes() - before).toBe(1);
    expect(session.inFlight).toBe(0);
    expect(session.needsReset).toBe(false);
    const info = String(await session.command(['CLIENT', 'INFO']));
    // Not in MULTI, not subscribed, not monitoring, database 0, replies on.
    for (const field of [' flags=N ', ' db=0 ', ' sub=0 ', ' multi=-1 ']) expect(info).toContain(field);
    expect(await redis.server.command(['GET', 'sh:n'])).toBe(String(refused.length));
  });

  it('canShare is false while a command is in flight or the session needs a reset; enter then throws, but refuses exclusive commands all the same', async () => {
    const { session } = await open();
    expect(sharing.canShare!(session)).toBe(true);
    // An abandoned BLPOP of the last lease is still in flight: every dispatch would wait behind it.
    const popped = session.command(['BLPOP', 'sh:cs', '0']);
    await blockedClients(redis.server, 1);
    expect(sharing.canShare!(session)).toBe(false);
    let caught: unknown;
    try {
      sharing.enter!(session);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvariantBrokenError);
    expect(hasCode(caught, 'WW_INVARIANT_BROKEN')).toBe(true);
    expect((caught as Error).message).toBe(
      'resp sharing.enter on a session that cannot be shared (1 commands in flight, needsReset false): ' +
        'the pool must check canShare (busy and needsReset false) first',
    );
    expect(session.shared).toBe(true); // fail closed
    expect(hasCode(await rejection(session.command(['MULTI'])), 'WW_EXCLUSIVE_COMMAND')).toBe(true);
    sharing.leave!(session);
    await redis.server.command(['RPUSH', 'sh:cs', 'v']);
    expect(await popped).toEqual(['sh:cs', 'v']);
    expect(sharing.canShare!(session)).toBe(true);
    // A MULTI left open by the last lease: shared, it would take in every caller's commands.
    await session.command(['MULTI']);
    expect(session.inFlight).toBe(0);
    expect(sharing.canShare!(session)).toBe(false);
    expect(() => sharing.enter!(session)).toThrow(/needsReset true/);
    sharing.leave!(session);
    await session.reset();
    expect(sharing.canShare!(session)).toBe(true);
    sharing.enter!(session); // no throw
    expect(session.shared).toBe(true);
  });

  it('refuses pub/sub methods and reset() while shared, and lets everything through again after leave', async () => {
    const { session } = await open();
    sharing.enter!(session);
    for (const call of [() => session.subscribe(['c']), () => session.psubscribe(['c*']), () => session.unsubscribe(['c']), () => session.reset()]) {
      const err = await rejection(call());
      expect(hasCode(err, 'WW_EXCLUSIVE_COMMAND')).toBe(true);
    }
    expect(session.subscriptionCount).toBe(0);
    expect(await session.command(['PING'])).toBe('PONG');
    sharing.leave!(session);
    // Exclusive again (a lease): a transaction runs.
    await session.command(['MULTI']);
    await session.command(['SET', 'sh:tx', '1']);
    expect(await session.command(['EXEC'])).toEqual(['OK']);
    await session.subscribe(['c']);
    expect(session.subscriptionCount).toBe(1);
  });

  // Block times Redis reads (strtold: hex, 40 digits) but we do not, and XREADGROUP's
  // options in any order: each of these blocks on a real Redis, so a shared session must
  // refuse it, or every other caller's reply would wait behind it.
  const unreadable: [string, RespArg[], () => Promise<unknown>][] = [
    ['BLPOP 0x0', ['BLPOP', 'sh:q1', '0x0'], () => redis.server.command(['RPUSH', 'sh:q1', 'v'])],
    ['BLPOP 0x1p3', ['BLPOP', 'sh:q2', '0x1p3'], () => redis.server.command(['RPUSH', 'sh:q2', 'v'])],
    ['BLPOP 40 zeros', ['BLPOP', 'sh:q3', Buffer.from('0'.repeat(40))], () => redis.server.command(['RPUSH', 'sh:q3', 'v'])],
    ['XREADGROUP BLOCK 0 GROUP …', ['XREADGROUP', 'BLOCK', '0', 'GROUP', 'g', 'c', 'STREAMS', 'sh:s', '>'],
      () => redis.server.command(['XADD', 'sh:s', '*', 'f', 'v'])],
  ];

  it.each(unreadable)('%s blocks on a real Redis when leased, and is refused while shared', async (_, args, wake) => {
    await redis.server.command(['DEL', 'sh:q1', 'sh:q2', 'sh:q3', 'sh:s']);
    await redis.server.command(['XGROUP', 'CREATE', 'sh:s', 'g', '$', 'MKSTREAM']);
    const { session: leased } = await open();
    const woken = leased.command(args);
    await blockedClients(redis.server, 1); // Redis took the block time: it blocks
    await wake();
    expect(await woken).not.toBeNull(); // woken by the push, not refused by Redis
    const { session, writes } = await open();
    sharing.enter!(session);
    const before = writes();
    const err = await rejection(session.command(args));
    expect(err).toBeInstanceOf(ExclusiveCommandError);
    expect(err.message).toMatch(/it blocks/);
    expect(writes()).toBe(before);
    expect(await session.command(['PING'])).toBe('PONG');
  });

  it('a blocking command whose block time Redis refuses is refused too (fail closed, by name)', async () => {
    const { session } = await open();
    sharing.enter!(session);
    for (const args of [['BLPOP', 'sh:list', 'soon'], ['BLPOP', 'sh:list', '-1'], ['XREAD', 'BLOCK', 'x', 'STREAMS', 's', '$']]) {
      expect(hasCode(await rejection(session.command(args)), 'WW_EXCLUSIVE_COMMAND')).toBe(true);
    }
    expect(session.state).toBe('open');
    expect(session.inFlight).toBe(0);
  });
});
