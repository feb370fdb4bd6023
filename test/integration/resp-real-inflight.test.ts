/**
 * What counts as "in flight" against a real redis-server: only the user's commands. A
 * probe PING waiting behind them (or alone) is neither `inFlight` nor `busy`, and when the
 * server dies the error counts the user's commands only, singular or plural.
 */
import { describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors.js';
import { resp } from '../../src/transport/resp.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { blockedClients, openSession } from '../transport/resp-helpers/real-session.js';

async function withServer(run: (redis: RedisServer) => Promise<void>): Promise<void> {
  const redis = await startRedis();
  try {
    await run(redis);
  } finally {
    await redis.stop();
  }
}

const failure = (p: Promise<unknown>): Promise<Error> => p.then(() => new Error('expected a rejection'), (e: unknown) => e as Error);

describe('resp on a real redis-server: in-flight counting', () => {
  it('a probe PING is not the user\'s: not in inFlight, not busy, not counted when the server dies', async () => {
    await withServer(async (redis) => {
      const protocol = resp({ requestTimeoutMs: 0 });
      const session = await openSession(redis, protocol);
      const probe = protocol.probe(session, new AbortController().signal);
      expect(session.inFlight).toBe(0);
      expect(protocol.busy!(session)).toBe(false);
      await probe;
      // BLPOP 0 is never answered; the server reads nothing more from a blocked client.
      const blpop = failure(session.command(['BLPOP', 'jobs', 0]));
      const probeBehind = failure(protocol.probe(session, new AbortController().signal));
      expect(session.inFlight).toBe(1);
      expect(protocol.busy!(session)).toBe(true);
      await blockedClients(redis, 1);
      await redis.kill();
      const err = await blpop;
      expect(hasCode(err, 'WW_CONNECTION_CLOSED')).toBe(true);
      expect(err.message).toMatch(/^connection to 127\.0\.0\.1:\d+ closed with 1 command in flight \(BLPOP unanswered\)$/);
      const probeErr = await probeBehind;
      expect(hasCode(probeErr, 'WW_CONNECTION_CLOSED')).toBe(true);
      expect(probeErr.message).toMatch(/closed before PING was answered$/);
      expect(session.inFlight).toBe(0);
    });
  });

  it('counts two user commands in the plural, abandoned ones included', async () => {
    await withServer(async (redis) => {
      const session = await openSession(redis, resp({ requestTimeoutMs: 0 }));
      const ac = new AbortController();
      const abandoned = failure(session.command(['BLPOP', 'jobs', 0], { signal: ac.signal }));
      ac.abort();
      expect(hasCode(await abandoned, 'WW_ABORTED')).toBe(true);
      const get = failure(session.command(['GET', 'b']));
      void session.ping().catch(() => {});
      expect(session.inFlight).toBe(2);
      await blockedClients(redis, 1);
      await redis.kill();
      expect((await get).message).toMatch(/closed with 2 commands in flight \(GET unanswered\)$/);
    });
  });
});
