/**
 * Backpressure against a real redis-server: writes past `maxQueuedBytes` wait for the
 * socket to drain, in order, instead of failing with WW_WRITE_QUEUE_FULL, and every value
 * arrives intact.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { resp } from '../../src/transport/resp.js';
import { openSession, useRealRedis } from '../transport/resp-helpers/real-session.js';

const redis = useRealRedis();
const MB = 1_000_000;

describe('resp on a real redis-server: backpressure', () => {
  it('20 concurrent 1 MB SETs with maxQueuedBytes 1 MiB all succeed, and every value reads back intact', async () => {
    const session = await openSession(redis.server, resp({ maxQueuedBytes: 1024 * 1024, returnBuffers: true }));
    const values = Array.from({ length: 20 }, () => randomBytes(MB));
    const sets = values.map((value, i) => session.command(['SET', `big:${i}`, value]));
    expect(session.inFlight).toBe(20);
    expect(await Promise.all(sets)).toEqual(Array(20).fill('OK'));
    const read = await Promise.all(values.map((_, i) => session.command<Buffer>(['GET', `big:${i}`])));
    read.forEach((got, i) => expect(got.equals(values[i]!), `big:${i}`).toBe(true));
  });

  it('string values too: order is kept across the wait (each SET is followed by its own GET)', async () => {
    const session = await openSession(redis.server, resp({ maxQueuedBytes: 0 }));
    const values = Array.from({ length: 8 }, (_, i) => String.fromCharCode(97 + i).repeat(MB / 2));
    const replies = await Promise.all(values.flatMap((v, i) => [session.command(['SET', `s:${i}`, v]), session.command(['GET', `s:${i}`])]));
    values.forEach((v, i) => {
      expect(replies[2 * i]).toBe('OK');
      expect(replies[2 * i + 1] === v, `s:${i}`).toBe(true);
    });
  });
});
