/**
 * Pub/sub on a session against a real redis-server, RESP2 (subscriber mode: plain arrays,
 * other commands refused) and RESP3 (pushes: other commands keep working): confirmations,
 * messages with their channel and pattern, the probe's PING while subscribed, unsubscribe,
 * an ACL refusal, `needsReset`, and `reset()` leaving no subscription behind.
 */
import { describe, expect, it } from 'vitest';
import { hasCode, RemoteError } from '../../src/errors.js';
import type { RespMessage } from '../../src/transport/resp-session.js';
import { resp } from '../../src/transport/resp.js';
import { captureWarnings } from '../transport/resp-helpers/leak-checks.js';
import { openSession, useRealRedis } from '../transport/resp-helpers/real-session.js';
import { waitFor } from '../transport/helpers.js';

const redis = useRealRedis();

function collect(session: { onMessage(l: (m: RespMessage) => void): () => void }): RespMessage[] {
  const seen: RespMessage[] = [];
  session.onMessage((m) => seen.push(m));
  return seen;
}

describe.each([2, 3] as const)('resp on a real redis-server: pub/sub over RESP%i', (protocolVersion) => {
  it('subscribe + psubscribe, messages with channel and pattern, ping while subscribed, unsubscribe', async () => {
    const protocol = resp({ protocolVersion });
    const session = await openSession(redis.server, protocol);
    const seen = collect(session);
    await session.subscribe(['news', 'alerts']);
    expect(session.subscriptionCount).toBe(2);
    await session.psubscribe(['user:*']);
    expect(session.subscriptionCount).toBe(3);
    expect(session.needsReset).toBe(true);

    expect(await redis.server.command(['PUBLISH', 'news', 'hello'])).toBe(1);
    expect(await redis.server.command(['PUBLISH', 'user:42', 'logged in'])).toBe(1);
    await waitFor(() => seen.length === 2, 'two messages');
    expect(seen).toEqual([
      { channel: 'news', message: 'hello' },
      { pattern: 'user:*', channel: 'user:42', message: 'logged in' },
    ]);

    // The heartbeat's probe keeps working while subscribed (RESP2 answers ['pong', '']).
    await protocol.probe(session, new AbortController().signal);
    await session.ping();
    expect(protocol.busy!(session)).toBe(false);

    await session.unsubscribe(['news', 'alerts']);
    expect(session.subscriptionCount).toBe(1);
    await session.punsubscribe(['user:*']);
    expect(session.subscriptionCount).toBe(0);
    expect(session.needsReset).toBe(false);
    expect(await redis.server.command(['PUBLISH', 'news', 'nobody listens'])).toBe(0);
    // Out of subscriber mode: ordinary commands work again in either protocol.
    expect(await session.command(['ECHO', 'back'])).toBe('back');
    expect(seen).toHaveLength(2);
  });

  it('an ACL refusal (-NOPERM) rejects that call only', async () => {
    await redis.server.command(['ACL', 'SETUSER', `limited${protocolVersion}`, 'on', '>limited-Pw', '~*', '+@all', 'resetchannels', '&allowed:*']);
    const session = await openSession(redis.server, resp({ protocolVersion, username: `limited${protocolVersion}`, password: 'limited-Pw' }));
    const err = await session.subscribe(['forbidden']).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(RemoteError);
    expect(((err as Error).cause as { code: string }).code).toBe('NOPERM');
    expect(session.subscriptionCount).toBe(0);
    expect(session.needsReset).toBe(false);
    const seen = collect(session);
    await session.subscribe(['allowed:1']);
    await redis.server.command(['PUBLISH', 'allowed:1', 'ok']);
    await waitFor(() => seen.length === 1, 'the allowed message');
  });

  it('a throwing listener becomes a process warning; delivery goes on', async () => {
    const session = await openSession(redis.server, resp({ protocolVersion }));
    const warned = captureWarnings();
    session.onMessage(() => {
      throw new Error('listener bug');
    });
    const seen = collect(session);
    await session.subscribe(['w']);
    await redis.server.command(['PUBLISH', 'w', '1']);
    await redis.server.command(['PUBLISH', 'w', '2']);
    await waitFor(() => seen.length === 2, 'both messages');
    await warned.stop();
    expect(warned.warnings.filter((w) => w.message === 'listener bug')).toHaveLength(2);
    expect(session.state).toBe('open');
  });

  it('returnBuffers delivers Buffers; reset() unsubscribes everything and drops the listeners', async () => {
    const protocol = resp({ protocolVersion, returnBuffers: true });
    const session = await openSession(redis.server, protocol);
    const seen = collect(session);
    await session.subscribe([Buffer.from('bin')]);
    await redis.server.command(['PUBLISH', 'bin', 'bytes']);
    await waitFor(() => seen.length === 1, 'a message');
    expect(seen[0]).toEqual({ channel: Buffer.from('bin'), message: Buffer.from('bytes') });
    await protocol.reset!(session);
    expect(session.subscriptionCount).toBe(0);
    expect(session.needsReset).toBe(false);
    expect(await redis.server.command(['PUBLISH', 'bin', 'gone'])).toBe(0);
    expect(String(await session.command(['ECHO', 'x']))).toBe('x');
  });
});

describe('resp on a real redis-server: pub/sub, protocol differences', () => {
  it('RESP2 refuses ordinary commands while subscribed, at once and typed', async () => {
    const session = await openSession(redis.server, resp());
    await session.subscribe(['c']);
    const err = await session.command(['GET', 'k']).catch((e: unknown) => e as Error);
    expect(hasCode(err, 'WW_INVALID_OPTION')).toBe(true);
    expect((err as Error).message).toContain('GET refused: the session with 127.0.0.1:');
    expect((err as Error).message).toContain('RESP2 subscriber mode');
    expect(session.inFlight).toBe(0);
    await session.unsubscribe(['c']);
    expect(await session.command(['PING'])).toBe('PONG');
  });

  it('RESP3 interleaves ordinary commands with messages', async () => {
    const session = await openSession(redis.server, resp({ protocolVersion: 3 }));
    const seen = collect(session);
    await session.command(['SET', 'k', 'v']);
    await session.subscribe(['feed']);
    const replies: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      await redis.server.command(['PUBLISH', 'feed', `m${i}`]);
      replies.push(await session.command(['GET', 'k']));
    }
    // A subscribe pipelined with GETs around it: every reply reaches its own caller.
    const [before, , after] = await Promise.all([session.command(['INCR', 'n']), session.subscribe(['feed2']), session.command(['INCR', 'n'])]);
    expect([before, after]).toEqual([1, 2]);
    expect(replies).toEqual(Array(5).fill('v'));
    await waitFor(() => seen.length === 5, 'five messages');
    expect(seen.map((m) => m.message)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(session.subscriptionCount).toBe(2);
  });
});
