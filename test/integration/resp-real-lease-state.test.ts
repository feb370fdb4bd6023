/**
 * `needsReset` against a real redis-server: MULTI, WATCH and another database make a
 * session one its next holder must not inherit; EXEC (also when WATCH aborts it), DISCARD,
 * UNWATCH and SELECT back undo it; `reset()` always does, and the server agrees.
 */
import { describe, expect, it } from 'vitest';
import { resp } from '../../src/transport/resp.js';
import type { RespSession } from '../../src/transport/resp-session.js';
import { openSession, useRealRedis } from '../transport/resp-helpers/real-session.js';

const redis = useRealRedis();

/** The session's database as the server sees it. */
async function serverDb(session: RespSession): Promise<number> {
  const info = await session.command<string>(['CLIENT', 'INFO']);
  return Number(/ db=(\d+)/.exec(info)?.[1]);
}

describe('resp on a real redis-server: needsReset', () => {
  it('MULTI, WATCH and SELECT set it; EXEC, UNWATCH and SELECT back clear it', async () => {
    const protocol = resp();
    const session = await openSession(redis.server, protocol);
    expect(protocol.needsReset!(session)).toBe(false);
    expect(await session.command(['MULTI'])).toBe('OK');
    expect(await session.command(['INCR', 'n'])).toBe('QUEUED');
    expect(session.needsReset).toBe(true);
    expect(protocol.needsReset!(session)).toBe(true);
    expect(await session.command(['EXEC'])).toEqual([1]);
    expect(session.needsReset).toBe(false);

    expect(await session.command(['WATCH', 'k'])).toBe('OK');
    expect(session.needsReset).toBe(true);
    expect(await session.command(['UNWATCH'])).toBe('OK');
    expect(session.needsReset).toBe(false);

    expect(await session.command(['SELECT', '3'])).toBe('OK');
    expect(session.needsReset).toBe(true);
    expect(await serverDb(session)).toBe(3);
    expect(await session.command(['select', 0])).toBe('OK');
    expect(session.needsReset).toBe(false);
  });

  it('an EXEC that WATCH aborted (null) still ends MULTI and the WATCH', async () => {
    const session = await openSession(redis.server, resp());
    await session.command(['WATCH', 'watched']);
    await redis.server.command(['SET', 'watched', 'changed by someone else']);
    await session.command(['MULTI']);
    await session.command(['SET', 'watched', 'mine']);
    expect(session.needsReset).toBe(true);
    expect(await session.command(['EXEC'])).toBeNull();
    expect(session.needsReset).toBe(false);
    expect(await session.command(['GET', 'watched'])).toBe('changed by someone else');
  });

  it('DISCARD ends MULTI; a SELECT queued inside MULTI still counts', async () => {
    const session = await openSession(redis.server, resp());
    await session.command(['MULTI']);
    await session.command(['DISCARD']);
    expect(session.needsReset).toBe(false);
    await session.command(['MULTI']);
    expect(await session.command(['SELECT', '5'])).toBe('QUEUED');
    expect(await session.command(['EXEC'])).toEqual(['OK']);
    expect(session.needsReset).toBe(true);
    expect(await serverDb(session)).toBe(5);
  });

  it('measures "another database" from the configured one, and reset() puts everything back', async () => {
    const protocol = resp({ db: 2 });
    const session = await openSession(redis.server, protocol);
    expect(await session.command(['SELECT', '2'])).toBe('OK');
    expect(session.needsReset).toBe(false);
    await session.command(['SELECT', '0']);
    await session.command(['WATCH', 'a']);
    await session.command(['MULTI']);
    expect(session.needsReset).toBe(true);
    await protocol.reset!(session);
    expect(session.needsReset).toBe(false);
    expect(await serverDb(session)).toBe(2);
    // Out of MULTI for real: a command runs at once.
    expect(await session.command(['PING'])).toBe('PONG');
  });
});
