/**
 * `redisSentinel()` against a real topology (test/helpers/redis-sentinel.ts): one master,
 * one replica, three sentinels on loopback. The provider alone, as a pool watches it.
 */
import { asyncScheduler, firstValueFrom, filter, Subject, timeout, type Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscoveryError, InvalidOptionError } from '../../src/errors.js';
import type { DiscoveryContext } from '../../src/pool/endpoint-provider.js';
import { redisSentinel } from '../../src/pool/redis-sentinel.js';
import type { Endpoint } from '../../src/transport/types.js';
import { freePort } from '../helpers/redis-server.js';
import { MASTER_NAME, startSentinelTopology, type SentinelTopology } from '../helpers/redis-sentinel.js';

interface Watched {
  readonly sets: (readonly Endpoint[])[];
  readonly errors: Error[];
  readonly refresh$: Subject<string>;
  readonly sets$: Observable<readonly Endpoint[]>;
  stop(): void;
}

function watch(provider: ReturnType<typeof redisSentinel>): Watched {
  const sets: (readonly Endpoint[])[] = [];
  const errors: Error[] = [];
  const refresh$ = new Subject<string>();
  const all$ = new Subject<readonly Endpoint[]>();
  const ctx: DiscoveryContext = { scheduler: asyncScheduler, refresh$, report: (e) => errors.push(e) };
  const sub = provider.watch(ctx).subscribe((set) => {
    sets.push(set);
    all$.next(set);
  });
  return { sets, errors, refresh$, sets$: all$, stop: () => sub.unsubscribe() };
}

const key = (set: readonly Endpoint[]): string => set.map((e) => `${e.host}:${e.port}`).join(',');

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Sockets and timers this process holds (Node's own accounting). */
function openHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'Timeout').length;
}

describe('redisSentinel provider on a real topology', () => {
  let topo: SentinelTopology;
  beforeAll(async () => {
    topo = await startSentinelTopology({ password: 'node-secret-1' });
  }, 60_000);
  afterAll(async () => {
    await topo?.stop();
  });

  it('emits the current master, checked by ROLE, and only when it changes', async () => {
    const w = watch(redisSentinel({ sentinels: topo.sentinels, name: MASTER_NAME, password: 'node-secret-1', pollIntervalMs: 50 }));
    try {
      const first = await firstValueFrom(w.sets$.pipe(timeout(5000)));
      expect(key(first)).toBe(`127.0.0.1:${topo.master.port}`);
      // Ten more polls find the same master: nothing new is emitted.
      await new Promise((r) => setTimeout(r, 600));
      expect(w.sets).toHaveLength(1);
      expect(w.errors).toEqual([]);
    } finally {
      w.stop();
    }
  });

  it('asks the next sentinel when the first is unreachable, and keeps asking the one that answered first', async () => {
    const dead = { host: '127.0.0.1', port: await freePort() };
    const w = watch(redisSentinel({ sentinels: [dead, ...topo.sentinels], name: MASTER_NAME, password: 'node-secret-1', pollIntervalMs: 20 }));
    try {
      const first = await firstValueFrom(w.sets$.pipe(timeout(5000)));
      expect(key(first)).toBe(`127.0.0.1:${topo.master.port}`);
      await new Promise((r) => setTimeout(r, 300));
      // The dead sentinel was moved behind the one that answered: no round failed.
      expect(w.errors).toEqual([]);
    } finally {
      w.stop();
    }
  });

  it('reports a DiscoveryError naming each sentinel when none is reachable, and keeps trying', async () => {
    const a = { host: '127.0.0.1', port: await freePort() };
    const b = { host: '127.0.0.1', port: await freePort() };
    const w = watch(redisSentinel({ sentinels: [a, b], name: MASTER_NAME, pollIntervalMs: 1000 }));
    try {
      await until(() => w.errors.length >= 2, 5000, 'two failed rounds');
      const err = w.errors[0]!;
      expect(err).toBeInstanceOf(DiscoveryError);
      expect((err as DiscoveryError).code).toBe('WW_DISCOVERY_FAILED');
      expect(err.message).toContain('no sentinel reachable');
      expect(err.message).toContain(`127.0.0.1:${a.port}`);
      expect(err.message).toContain(`127.0.0.1:${b.port}`);
      expect(w.sets).toEqual([]);
    } finally {
      w.stop();
    }
  });

  it('tells "no master by that name" apart from "unreachable"', async () => {
    const w = watch(redisSentinel({ sentinels: topo.sentinels, name: 'nosuchmaster', pollIntervalMs: 1000 }));
    try {
      await until(() => w.errors.length >= 1, 5000, 'a failed round');
      expect(w.errors[0]!.message).toContain('no sentinel knows a master named "nosuchmaster"');
    } finally {
      w.stop();
    }
  });

  it('a wrong node password fails the ROLE check without printing the password', async () => {
    const w = watch(redisSentinel({ sentinels: topo.sentinels, name: MASTER_NAME, password: 'wrong-pass-77', pollIntervalMs: 1000 }));
    try {
      await until(() => w.errors.length >= 1, 5000, 'a failed round');
      const err = w.errors[0]!;
      expect(err.message).toContain('does not answer ROLE');
      const everything = JSON.stringify(w.errors.map((e) => [e.message, String((e as { cause?: unknown }).cause), (e.cause as Error | undefined)?.message]));
      expect(everything).not.toContain('wrong-pass-77');
      expect(everything).not.toContain('node-secret-1');
    } finally {
      w.stop();
    }
  });

  it('a refresh hint starts a round at once instead of waiting for the poll', async () => {
    const w = watch(redisSentinel({ sentinels: topo.sentinels, name: MASTER_NAME, password: 'node-secret-1', pollIntervalMs: 60_000 }));
    try {
      await firstValueFrom(w.sets$.pipe(timeout(5000)));
      // Each round is one more connection to the sentinel that answered first (sentinel 0):
      // with a 60 s poll, only the hint can start one.
      await new Promise((r) => setTimeout(r, 100));
      const before = await connectionsSeen(topo);
      w.refresh$.next('READONLY');
      await new Promise((r) => setTimeout(r, 200));
      // +1 for INFO's own connection, +1 (at least) for the round.
      expect(await connectionsSeen(topo)).toBeGreaterThanOrEqual(before + 2);
      // Without a hint, nothing more happens (only INFO's connection).
      const quiet = await connectionsSeen(topo);
      await new Promise((r) => setTimeout(r, 200));
      expect(await connectionsSeen(topo)).toBe(quiet + 1);
    } finally {
      w.stop();
    }
  });

  it('stopping the watch leaves no socket or timer behind', async () => {
    const before = openHandles();
    const w = watch(redisSentinel({ sentinels: topo.sentinels, name: MASTER_NAME, password: 'node-secret-1', pollIntervalMs: 30 }));
    await firstValueFrom(w.sets$.pipe(timeout(5000)));
    await new Promise((r) => setTimeout(r, 100));
    w.stop();
    await until(() => openHandles() <= before, 2000, `handles back to ${before} (now ${openHandles()})`);
  });

  it('refuses bad options at construction', () => {
    expect(() => redisSentinel({ sentinels: [], name: 'm' })).toThrow(InvalidOptionError);
    expect(() => redisSentinel({ sentinels: [{ host: '127.0.0.1' }], name: '' })).toThrow(/redisSentinel.name/);
    expect(() => redisSentinel({ sentinels: [{ host: '127.0.0.1', port: 70_000 }], name: 'm' })).toThrow(/65535/);
    expect(() => redisSentinel({ sentinels: [{ host: '127.0.0.1' }], name: 'm', sentinelUsername: 'u' })).toThrow(/sentinelPassword/);
    expect(() => redisSentinel({ sentinels: [{ host: '127.0.0.1' }], name: 'm', pollIntervalMs: 0 })).toThrow(/pollIntervalMs/);
  });
});

/** Total connections sentinel 0 has accepted (INFO stats). */
async function connectionsSeen(topo: SentinelTopology): Promise<number> {
  const info = await topo.sentinelCommand(0, ['INFO', 'stats']);
  const m = /total_connections_received:(\d+)/.exec(String(info));
  return Number(m?.[1] ?? 0);
}

describe('redisSentinel provider through a failover', () => {
  it('follows the master when it is SIGKILLed: the promoted replica is emitted right after the switch', async () => {
    const topo = await startSentinelTopology();
    // A one-minute poll: only the +switch-master subscription can start the round in time.
    const w = watch(redisSentinel({ sentinels: topo.sentinels, name: MASTER_NAME, pollIntervalMs: 60_000 }));
    try {
      await firstValueFrom(w.sets$.pipe(timeout(5000)));
      const killedAt = Date.now();
      await topo.killMaster();
      const next = firstValueFrom(w.sets$.pipe(filter((s) => key(s) === `127.0.0.1:${topo.replica.port}`), timeout(20_000)));
      const promotedAt = await topo.waitForPromotion(20_000);
      await next;
      const emittedAt = Date.now();
      // +switch-master is a hint: the provider does not wait for its one-minute poll.
      expect(emittedAt - promotedAt).toBeLessThan(1500);
      expect(emittedAt - killedAt).toBeLessThan(8000);
      expect(w.sets.map(key)).toEqual([`127.0.0.1:${topo.master.port}`, `127.0.0.1:${topo.replica.port}`]);
    } finally {
      w.stop();
      await topo.stop();
    }
  }, 60_000);
});
