/**
 * Blocking commands against a real redis-server: their default deadline is their own block
 * time plus `requestTimeoutMs`, so a BLPOP that blocks longer than `requestTimeoutMs` gets
 * Redis's own null instead of a killed connection, and a push wakes it. While it blocks the
 * session is `busy` (the heartbeat must not queue a PING behind it).
 */
import { describe, expect, it } from 'vitest';
import { resp } from '../../src/transport/resp.js';
import { blockedClients, openSession, sleep, useRealRedis } from '../transport/resp-helpers/real-session.js';

const redis = useRealRedis();

describe('resp on a real redis-server: blocking commands', () => {
  it('BLPOP 1 with requestTimeoutMs 300 answers null at ~1 s, and the connection stays usable', async () => {
    const protocol = resp({ requestTimeoutMs: 300 });
    const session = await openSession(redis.server, protocol);
    const t0 = Date.now();
    const popped = session.command(['BLPOP', 'jobs:empty', '1']);
    await blockedClients(redis.server, 1);
    expect(protocol.busy!(session)).toBe(true);
    expect(await popped).toBeNull();
    const elapsedMs = Date.now() - t0;
    expect(elapsedMs).toBeGreaterThanOrEqual(950);
    expect(elapsedMs).toBeLessThan(1000 + 300 + 500);
    expect(session.state).toBe('open');
    expect(protocol.busy!(session)).toBe(false);
    expect(await session.command(['PING'])).toBe('PONG');
  });

  it('a push wakes a BLPOP that has blocked past requestTimeoutMs', async () => {
    const session = await openSession(redis.server, resp({ requestTimeoutMs: 300 }));
    const popped = session.command(['BLPOP', 'jobs', '5']);
    await blockedClients(redis.server, 1);
    await sleep(500); // past requestTimeoutMs: a plain deadline would have closed the connection
    expect(await redis.server.command(['RPUSH', 'jobs', 'job-1'])).toBe(1);
    expect(await popped).toEqual(['jobs', 'job-1']);
    expect(await session.command(['LLEN', 'jobs'])).toBe(0);
  });

  it('BLPOP 0 (forever) gets no default deadline at all', async () => {
    const session = await openSession(redis.server, resp({ requestTimeoutMs: 200 }));
    const popped = session.command(['BLPOP', 'forever', 0]);
    await blockedClients(redis.server, 1);
    await sleep(500);
    await redis.server.command(['RPUSH', 'forever', 'late']);
    expect(await popped).toEqual(['forever', 'late']);
  });

  it('XREAD BLOCK and WAIT get their millisecond block time on top of requestTimeoutMs', async () => {
    const session = await openSession(redis.server, resp({ requestTimeoutMs: 300 }));
    let t0 = Date.now();
    expect(await session.command(['XREAD', 'COUNT', 1, 'BLOCK', 700, 'STREAMS', 'events', '$'])).toBeNull();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(650);
    t0 = Date.now();
    // No replica will ever acknowledge: WAIT blocks its full 600 ms and answers 0.
    expect(await session.command(['WAIT', 1, 600])).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(550);
  });

  it('an explicit timeoutMs still wins over the block time, and its expiry closes the connection', async () => {
    const session = await openSession(redis.server, resp({ requestTimeoutMs: 5000 }));
    const err = await session.command(['BLPOP', 'nothing', '10'], { timeoutMs: 200 }).catch((e: unknown) => e as Error);
    expect((err as { code?: string }).code).toBe('WW_REQUEST_TIMEOUT');
    expect((err as Error).message).toContain('BLPOP to 127.0.0.1:');
    await session.closed;
    expect(session.state).toBe('closed');
  });
});
