/**
 * A `resp()` pool whose `endpoints` is `redisSentinel(…)`, against a real topology
 * (test/helpers/redis-sentinel.ts: master, replica, three sentinels on loopback):
 *
 * 1. SIGKILL the master: after the promotion the pool writes to the new master, within
 *    sentinel's promotion time + 2 s (issue 14's bar), and `rt.shutdown()` leaves no
 *    socket or timer (the provider's subscription is closed with the pool).
 * 2. A demoted node (the old master, back as a replica of the new one) that a stale view
 *    still names: the write that reaches it gets READONLY once, the pool re-resolves
 *    through the sentinels, and no caller fails twice.
 * 3. The same with three connections to the demoted node and one caller retrying at once:
 *    it fails once (every connection there retired, none redialed), one hint is sent.
 */
import { Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createRuntime, redisSentinel, resp, type EndpointProvider, type Endpoint, type PoolEvent, type RemoteError,
} from '../../src/index.js';
import { MASTER_NAME, startSentinelTopology, type SentinelTopology } from '../helpers/redis-sentinel.js';
import { expectHandlesBackTo, handleCounts } from '../transport/helpers.js';

const PASSWORD = 'pool-secret-9';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A view that still names the demoted node (a stale cache, a sentinel not yet caught up):
 * the real sentinels are asked only once the pool sends a hint (recorded in `hintsSeen`).
 */
function staleThenSentinel(topo: SentinelTopology, demoted: Endpoint, hintsSeen: string[]): EndpointProvider {
  const sentinel = redisSentinel({ sentinels: topo.sentinels, name: MASTER_NAME, password: PASSWORD, pollIntervalMs: 60_000 });
  return {
    kind: 'stale-then-sentinel',
    watch: (ctx) => new Observable<readonly Endpoint[]>((subscriber) => {
      subscriber.next([demoted]);
      let inner: { unsubscribe(): void } | undefined;
      const hints = ctx.refresh$.subscribe((why) => {
        hintsSeen.push(why);
        inner ??= sentinel.watch(ctx).subscribe(subscriber);
      });
      return () => {
        hints.unsubscribe();
        inner?.unsubscribe();
      };
    }),
  };
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('a pool following Redis Sentinel', () => {
  let topo: SentinelTopology;
  beforeAll(async () => {
    topo = await startSentinelTopology({ password: PASSWORD });
  }, 60_000);
  afterAll(async () => {
    await topo?.stop();
  });

  it('writes to the promoted replica after the master is SIGKILLed, within promotion + 2 s', async () => {
    const baseline = handleCounts();
    const rt = createRuntime();
    const pool = rt.createPool({
      // A one-minute poll: only the pool's hints and +switch-master can move it in time.
      endpoints: redisSentinel({ sentinels: topo.sentinels, name: MASTER_NAME, password: PASSWORD, pollIntervalMs: 60_000 }),
      protocol: resp({ password: PASSWORD }),
      min: 2, max: 4, acquireTimeoutMs: 500,
    });
    const events: PoolEvent[] = [];
    pool.events$.subscribe((e) => events.push(e));
    const master = `127.0.0.1:${topo.master.port}`;
    const replica = `127.0.0.1:${topo.replica.port}`;
    let stop = false;
    const writes: { at: number; ok: boolean; value: string }[] = [];
    try {
      await pool.command(['SET', 'k', 'before']);
      expect(pool.health().endpoints.map((e) => e.endpoint)).toEqual([master]);
      // A writer every 20 ms, as an application keeps writing through the outage.
      const writer = (async () => {
        for (let i = 0; !stop; i++) {
          const value = `v${i}`;
          const ok = await pool.command(['SET', 'k', value], { timeoutMs: 500 }).then(() => true, () => false);
          writes.push({ at: Date.now(), ok, value });
          await sleep(20);
        }
      })();
      const killedAt = Date.now();
      await topo.killMaster();
      const promotedAt = await topo.waitForPromotion(20_000);
      await until(() => writes.some((w) => w.ok && w.at > killedAt), 20_000, 'a successful write after the kill');
      const firstWrite = writes.find((w) => w.ok && w.at > killedAt)!;
      stop = true;
      await writer;
      const promotionMs = promotedAt - killedAt;
      const writeMs = firstWrite.at - killedAt;
      expect(writeMs).toBeLessThanOrEqual(promotionMs + 2000);
      // It reached the new master.
      const last = writes.filter((w) => w.ok).at(-1)!;
      expect(await topo.replica.command(['GET', 'k'])).toBe(last.value);
      expect(pool.health()).toMatchObject({ ready: true, endpoints: [{ endpoint: replica, state: 'up' }], discovery: { source: 'redis-sentinel', resolved: true } });
      const changes = events.filter((e) => e.type === 'endpoints-changed');
      expect(changes.map((e) => [e.added, e.removed])).toEqual([[[master], []], [[replica], [master]]]);
      // Nothing a user sees carries the password.
      expect(JSON.stringify([events, pool.health()], (_k, v: unknown) => (v instanceof Error ? `${v.message} ${String(v.cause)}` : v))).not.toContain(PASSWORD);
    } finally {
      stop = true;
      await rt.shutdown();
    }
    // The provider's subscription (its sentinel sockets, +switch-master, poll timer) went with the pool.
    await expectHandlesBackTo(baseline);
  }, 60_000);

  it('a write that reaches a demoted node gets READONLY once; the pool re-resolves and no caller fails twice', async () => {
    // After the first test the replica is master; the old master comes back as its replica.
    const demoted: Endpoint = { host: '127.0.0.1', port: topo.master.port };
    const current = `127.0.0.1:${topo.replica.port}`;
    await topo.master.restart();
    await topo.master.command(['REPLICAOF', '127.0.0.1', String(topo.replica.port)]);
    await until(async () => String(await topo.master.command(['INFO', 'replication']).catch(() => '')).includes('master_link_status:up'), 20_000, 'the demoted node to sync');

    const hintsSeen: string[] = [];
    const stale = staleThenSentinel(topo, demoted, hintsSeen);
    const baseline = handleCounts();
    const rt = createRuntime();
    const pool = rt.createPool({ endpoints: stale, protocol: resp({ password: PASSWORD }), max: 4, acquireTimeoutMs: 2000 });
    const events: PoolEvent[] = [];
    pool.events$.subscribe((e) => events.push(e));
    try {
      // Four callers writing at once, ten writes each.
      const failures: unknown[][] = [[], [], [], []];
      await Promise.all(failures.map(async (mine, w) => {
        for (let i = 0; i < 10; i++) {
          await pool.command(['SET', `w${w}`, String(i)]).catch((err: unknown) => mine.push(err));
          await sleep(30);
        }
      }));
      const all = failures.flat() as RemoteError[];
      expect(all.length).toBeGreaterThanOrEqual(1);
      for (const mine of failures) expect(mine.length).toBeLessThanOrEqual(1);
      for (const err of all) {
        expect(err).toMatchObject({ code: 'WW_REMOTE_ERROR', retryable: true });
        expect(err.message).toMatch(/^READONLY /);
      }
      expect(hintsSeen[0]).toBe('READONLY');
      for (let w = 0; w < 4; w++) expect(await topo.replica.command(['GET', `w${w}`])).toBe('9');
      expect(pool.health().endpoints.map((e) => e.endpoint)).toEqual([current]);
      // (The first set, the stale one, was taken inside createPool, before this subscription.)
      expect(events.filter((e) => e.type === 'endpoints-changed')).toMatchObject([{ added: [current], removed: [`127.0.0.1:${demoted.port}`] }]);
      const stale = events.filter((e) => e.type === 'connection-closed' && e.reason === 'stale');
      expect(stale.length).toBeGreaterThanOrEqual(1);
      expect(pool.stats().closed.stale).toBe(stale.length);
    } finally {
      await rt.shutdown();
    }
    await expectHandlesBackTo(baseline);
  }, 60_000);

  it('one caller retrying at once over three connections to a demoted node fails once; one hint is sent', async () => {
    // The second test left the old master a replica of the new one.
    const demoted: Endpoint = { host: '127.0.0.1', port: topo.master.port };
    expect(String(await topo.master.command(['INFO', 'replication']))).toContain('role:slave');
    const hintsSeen: string[] = [];
    const baseline = handleCounts();
    const rt = createRuntime();
    const pool = rt.createPool({ endpoints: staleThenSentinel(topo, demoted, hintsSeen), protocol: resp({ password: PASSWORD }), min: 3, max: 3, acquireTimeoutMs: 5000 });
    try {
      await until(() => pool.stats().idle === 3, 5000, 'three connections to the demoted node');
      let failures = 0;
      for (;;) {
        const reply = await pool.command(['SET', 'retried', 'yes']).catch((err: unknown) => err);
        if (reply === 'OK') break;
        expect(reply).toMatchObject({ code: 'WW_REMOTE_ERROR', retryable: true });
        if (++failures > 3) break;
      }
      expect(failures).toBe(1);
      expect(hintsSeen).toEqual(['READONLY']);
      expect(await topo.replica.command(['GET', 'retried'])).toBe('yes');
      expect(pool.stats().closed.stale).toBe(3);
    } finally {
      await rt.shutdown();
    }
    await expectHandlesBackTo(baseline);
  }, 60_000);
});
