/**
 * `rt.createSubscriber()` against a real redis-server, in RESP2 (subscriber mode) and
 * RESP3 (pushes): the subscription set (channels and patterns) is back on every new
 * connection, every death of the connection that carried it is one `gap`, a frozen
 * server is found by the heartbeat, and `close()` leaves nothing behind. Delivery is
 * proven by publishing after each `subscribed` and receiving on every channel and pattern.
 */
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createRuntime, exponentialBackoff, hasCode, resp, wire,
  type RespMessage, type Runtime, type Subscriber, type SubscriberEvent,
} from '../../src/index.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { expectHandlesBackTo, handleCounts, waitFor } from '../transport/helpers.js';

const PASSWORD = 'sub-Pa55word-never-printed';
const backoff = exponentialBackoff({ initialMs: 20, maxMs: 200 });

/** Everything a subscriber emitted, and whether its observables completed. */
interface Recorded {
  readonly messages: RespMessage[];
  readonly events: SubscriberEvent[];
  completed: number;
  count(type: SubscriberEvent['type']): number;
  last<T extends SubscriberEvent['type']>(type: T): Extract<SubscriberEvent, { type: T }> | undefined;
}

function record(sub: Subscriber): Recorded {
  const r: Recorded = {
    messages: [],
    events: [],
    completed: 0,
    count: (type) => r.events.filter((e) => e.type === type).length,
    last: (type) => r.events.filter((e) => e.type === type).at(-1) as never,
  };
  sub.messages$.subscribe({ next: (m) => r.messages.push(m), complete: () => r.completed++ });
  sub.status$.subscribe({ next: (e) => r.events.push(e), complete: () => r.completed++ });
  return r;
}

/** Publishes one message per channel and one per pattern and waits until each arrived. */
async function expectDelivery(redis: RedisServer, r: Recorded, channels: readonly string[], patterns: readonly string[], tag: string): Promise<void> {
  const expected: RespMessage[] = [];
  for (const channel of channels) {
    const message = `${channel}/${tag}`;
    expect(await redis.command(['PUBLISH', channel, message]), `PUBLISH ${channel}`).toBe(1);
    expected.push({ channel, message });
  }
  for (const pattern of patterns) {
    const channel = pattern.replace('*', tag);
    const message = `${pattern}/${tag}`;
    expect(await redis.command(['PUBLISH', channel, message]), `PUBLISH ${channel}`).toBe(1);
    expected.push({ channel, message, pattern });
  }
  const arrived = (e: RespMessage): boolean =>
    r.messages.some((m) => m.channel === e.channel && m.message === e.message && m.pattern === e.pattern);
  await waitFor(() => expected.every(arrived), `messages ${JSON.stringify(expected)}`);
}

/** Children of the root that still run (a closed subscriber leaves none). */
function rootChildren(rt: Runtime): number {
  const c = rt.root.getSnapshot().context.childCounts;
  return c.running + c.stopping + c.restarting;
}

/** The codes of an error and of its causes, outermost first. */
function codes(err: unknown): string[] {
  const out: string[] = [];
  for (let e = err; e instanceof Error; e = e.cause) if ('code' in e) out.push(String(e.code));
  return out;
}

const sorted = (xs: readonly string[]): string[] => [...xs].sort();

describe.each([2, 3] as const)('subscriber over RESP%i', (protocolVersion) => {
  let redis: RedisServer;
  let rt: Runtime;
  let baseline: Record<string, number>;

  beforeEach(async () => {
    redis = await startRedis({ password: PASSWORD });
    baseline = handleCounts();
    rt = createRuntime();
  });

  afterEach(async () => {
    await rt.shutdown();
    await redis.stop();
  });

  const create = (extra: object = {}): Subscriber => rt.createSubscriber({
    endpoint: redis.endpoint,
    protocol: resp({ password: PASSWORD, protocolVersion }),
    heartbeat: { intervalMs: 1000 },
    backoff,
    connectTimeoutMs: 500,
    handshakeTimeoutMs: 500,
    ...extra,
  });

  it('delivers channel and pattern messages once subscribe() and psubscribe() resolve', async () => {
    const sub = create();
    const r = record(sub);
    expect(sub.state).toBe('connecting');
    await sub.subscribe('news', 'alerts');
    await sub.psubscribe('user:*');
    expect(sorted([...sub.channels])).toEqual(['alerts', 'news']);
    expect([...sub.patterns]).toEqual(['user:*']);
    expect(sub.state).toBe('subscribed');
    await expectDelivery(redis, r, ['news', 'alerts'], ['user:*'], 'first');
    expect(r.messages.find((m) => m.pattern === 'user:*')).toEqual({ channel: 'user:first', message: 'user:*/first', pattern: 'user:*' });

    await sub.unsubscribe('news');
    await sub.punsubscribe('user:*');
    expect([...sub.channels]).toEqual(['alerts']);
    expect(sub.patterns.size).toBe(0);
    expect(await redis.command(['PUBLISH', 'news', 'nobody'])).toBe(0);
    expect(await redis.command(['PUBLISH', 'user:1', 'nobody'])).toBe(0);
    await expectDelivery(redis, r, ['alerts'], [], 'second');
    expect(r.count('gap')).toBe(0);
  });

  it('brings the whole set back after each of three kill/restart rounds, one gap per death', async () => {
    const sub = create();
    const r = record(sub);
    await sub.subscribe('news', 'alerts');
    await sub.psubscribe('user:*', 'order:*');
    const channels = ['alerts', 'news'];
    const patterns = ['order:*', 'user:*'];
    await expectDelivery(redis, r, channels, patterns, 'before');

    for (let round = 1; round <= 3; round++) {
      const subscribed = r.count('subscribed');
      await redis.kill();
      await waitFor(() => r.count('gap') === round, `gap ${round}`);
      expect(sub.state).toBe('reconnecting');
      expect(r.last('gap')).toMatchObject({ type: 'gap', reason: expect.any(String) as string });
      // Asked while no connection exists: resolves with the next `subscribed`.
      const late = round === 2 ? sub.subscribe('late') : undefined;
      await redis.restart();
      await waitFor(() => r.count('subscribed') === subscribed + 1, `subscribed after restart ${round}`, 5000);
      if (late) {
        await late;
        channels.push('late');
        channels.sort();
      }
      const event = r.last('subscribed')!;
      expect(sorted(event.channels)).toEqual(channels);
      expect(sorted(event.patterns)).toEqual(patterns);
      expect(sub.state).toBe('subscribed');
      await expectDelivery(redis, r, channels, patterns, `round-${round}`);
    }
    expect(r.count('gap')).toBe(3);
    expect(inspect(r.events, { depth: 10 })).not.toContain(PASSWORD);
  });

  it('finds a frozen server by heartbeat and subscribes again after thaw alone, and after thaw + restart', async () => {
    const sub = create({ heartbeat: { intervalMs: 200, minTimeoutMs: 50, maxTimeoutMs: 200 }, handshakeTimeoutMs: 300 });
    const r = record(sub);
    await sub.subscribe('news');
    await sub.psubscribe('user:*');

    redis.freeze();
    await waitFor(() => r.count('gap') === 1, 'gap of the frozen connection', 5000);
    expect(r.last('gap')!.reason).toBe('heartbeat-timeout');
    redis.thaw();
    await waitFor(() => r.count('subscribed') === 2, 'subscribed after thaw', 5000);
    await expectDelivery(redis, r, ['news'], ['user:*'], 'thawed');

    redis.freeze();
    await waitFor(() => r.count('gap') === 2, 'second gap', 5000);
    redis.thaw();
    await redis.restart();
    await waitFor(() => r.count('subscribed') >= 3 && sub.state === 'subscribed', 'subscribed after restart', 5000);
    await expectDelivery(redis, r, ['news'], ['user:*'], 'restarted');
  });

  it('close() completes both observables, rejects later calls and leaves no socket or timer', async () => {
    const sub = create();
    const r = record(sub);
    await sub.subscribe('news');
    await sub.close();
    expect(sub.state).toBe('closed');
    expect(r.completed).toBe(2);
    await expectHandlesBackTo(baseline);
    // No connection is left subscribed on the server.
    expect(await redis.command(['PUBLISH', 'news', 'after close'])).toBe(0);
    const err = await sub.subscribe('more').catch((e: unknown) => e);
    expect(hasCode(err, 'WW_CONNECTION_CLOSED')).toBe(true);
    expect(rootChildren(rt)).toBe(0);
    await sub.close(); // idempotent
  });

  it('is closed by rt.shutdown(), and a call waiting for a connection rejects', async () => {
    await redis.kill();
    const sub = create();
    const r = record(sub);
    const waiting = sub.subscribe('news');
    await waitFor(() => r.count('dial-failed') >= 1, 'a failed dial');
    await rt.shutdown();
    expect(sub.state).toBe('closed');
    expect(r.completed).toBe(2);
    expect(hasCode(await waiting.catch((e: unknown) => e), 'WW_CONNECTION_CLOSED')).toBe(true);
    await expectHandlesBackTo(baseline);
  });
});

describe('subscriber and Redis ACLs', () => {
  let redis: RedisServer;
  let rt: Runtime;

  beforeEach(async () => {
    redis = await startRedis();
    rt = createRuntime();
    await redis.command(['ACL', 'SETUSER', 'reader', 'on', `>${PASSWORD}`, '~*', '+@all', 'resetchannels', '&ok*']);
  });

  afterEach(async () => {
    await rt.shutdown();
    await redis.stop();
  });

  it('rejects a refused name without keeping it; a refused resubscription is subscribe-failed, then retried', async () => {
    const sub = rt.createSubscriber({
      endpoint: redis.endpoint,
      protocol: resp({ username: 'reader', password: PASSWORD }),
      backoff,
    });
    const r = record(sub);
    await sub.subscribe('ok-1');
    const refused = await sub.subscribe('secret').catch((e: unknown) => e);
    expect(hasCode(refused, 'WW_REMOTE_ERROR')).toBe(true);
    expect([...sub.channels]).toEqual(['ok-1']);
    await expectDelivery(redis, r, ['ok-1'], [], 'allowed');

    // Redis drops a client whose channel is no longer allowed; every new connection is refused.
    await redis.command(['ACL', 'SETUSER', 'reader', 'resetchannels', '&other*']);
    await waitFor(() => r.count('subscribe-failed') >= 2, 'refused resubscriptions', 5000);
    const failed = r.last('subscribe-failed')!;
    expect(failed.channels).toEqual(['ok-1']);
    expect(hasCode(failed.error, 'WW_REMOTE_ERROR')).toBe(true);
    expect(r.count('gap')).toBeGreaterThanOrEqual(2);
    expect(sub.state).toBe('reconnecting');

    const subscribed = r.count('subscribed');
    await redis.command(['ACL', 'SETUSER', 'reader', '&ok*']);
    await waitFor(() => r.count('subscribed') > subscribed, 'subscribed once allowed again', 5000);
    await expectDelivery(redis, r, ['ok-1'], [], 'allowed-again');
    expect(inspect(r.events, { depth: 10 })).not.toContain(PASSWORD);
  });

  it('reports a refused handshake as dial-failed without the password anywhere', async () => {
    const wrong = 'wrong-Pa55word-never-printed';
    const sub = rt.createSubscriber({ endpoint: redis.endpoint, protocol: resp({ username: 'reader', password: wrong }), backoff });
    const r = record(sub);
    await waitFor(() => r.count('dial-failed') >= 1, 'a refused handshake');
    const event = r.last('dial-failed')!;
    expect(event.reason).toBe('handshake-failed');
    // The actor reports the step that failed; the refusal is in the cause chain.
    expect(codes(event.error)).toContain('WW_HANDSHAKE_REFUSED');
    expect(sub.state).toBe('connecting');
    const everything = inspect([r.events, rt.root.getSnapshot(), sub], { depth: 12 });
    expect(everything).not.toContain(wrong);
  });
});

describe('subscriber options', () => {
  let rt: Runtime;
  beforeEach(() => {
    rt = createRuntime();
  });
  afterEach(() => rt.shutdown());
  const endpoint = { host: '127.0.0.1', port: 6379 };

  const refusal = (options: unknown): string => {
    try {
      rt.createSubscriber(options as never);
    } catch (err) {
      expect(hasCode(err, 'WW_INVALID_OPTION'), String(err)).toBe(true);
      return (err as Error).message;
    }
    throw new Error('accepted');
  };

  it.each([
    ['nothing', undefined, /^subscriber\.endpoint must be/],
    ['an unknown key', { endpoint, protocol: resp(), retries: 3 }, /^subscriber\.retries is not a known option/],
    ['a wire() protocol', { endpoint, protocol: wire() }, /^subscriber\.protocol must be a resp\(\) protocol/],
    ['no protocol', { endpoint }, /^subscriber\.protocol must be a resp\(\) protocol, got undefined/],
    ['an endpoint without a port', { endpoint: { host: '127.0.0.1' }, protocol: resp() }, /^subscriber\.endpoint must be an object with a port/],
    ['an unknown endpoint key', { endpoint: { ...endpoint, tls: true }, protocol: resp() }, /^subscriber\.endpoint\.tls is not a known option/],
    ['a bad heartbeat', { endpoint, protocol: resp(), heartbeat: { intervalMs: -5 } }, /^subscriber\.heartbeat\.intervalMs must be an integer in \[1, 2147483647\] \(ms\), got -5/],
    ['a backoff that is no policy', { endpoint, protocol: resp(), backoff: { initialMs: 10 } }, /^subscriber\.backoff must be a backoff policy/],
    ['a zero connect timeout', { endpoint, protocol: resp(), connectTimeoutMs: 0 }, /^subscriber\.connectTimeoutMs must be an integer in \[1, 2147483647\] \(ms\), got 0/],
    ['an id with a slash', { endpoint, protocol: resp(), id: 'a/b' }, /^subscriber\.id must be a non-empty string without "\/"/],
  ])('refuses %s', (_label, options, message) => {
    expect(refusal(options)).toMatch(message);
    expect(rootChildren(rt)).toBe(0);
  });

  it('refuses bad names at the call, by rejecting', async () => {
    const sub = rt.createSubscriber({ endpoint, protocol: resp({ password: PASSWORD }), backoff });
    try {
      for (const call of [() => sub.subscribe(), () => sub.psubscribe(''), () => sub.subscribe('a', 42 as never)]) {
        const err = await call().catch((e: unknown) => e);
        expect(hasCode(err, 'WW_INVALID_OPTION'), String(err)).toBe(true);
        expect(String(err)).toMatch(/^InvalidOptionError: subscriber\.p?subscribe\(\) /);
      }
      expect(sub.channels.size + sub.patterns.size).toBe(0);
    } finally {
      await sub.close();
    }
  });
});
