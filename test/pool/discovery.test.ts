/**
 * Live discovery in the pool (pool-discovery.ts), in virtual time: endpoints from an
 * Observable or a provider object, set changes and the drain rules, bad sets, hints to the
 * provider (READONLY, unreachable) and the provider's subscription closed on close().
 */
import { BehaviorSubject, Observable, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { DiscoveryError, InvalidOptionError, PoolTimeoutError, RemoteError } from '../../src/errors.js';
import type { DiscoveryContext, EndpointProvider } from '../../src/pool/endpoint-provider.js';
import type { PoolEvent } from '../../src/pool/pool-events.js';
import { respRemoteError } from '../../src/transport/resp-parser.js';
import type { Endpoint } from '../../src/transport/types.js';
import type { FakeConn } from './helpers/fake-source.js';
import { gate, makePool, shareableProtocol, track } from './helpers/make-pool.js';

const A: Endpoint = { host: '127.0.0.1', port: 7001 };
const B: Endpoint = { host: '127.0.0.1', port: 7002 };
const C: Endpoint = { host: '127.0.0.1', port: 7003 };

/** A provider object that keeps its context, so tests see the hints and can report. */
function recordingProvider(sets$: Observable<readonly Endpoint[]>): EndpointProvider & { ctx?: DiscoveryContext; hints: string[]; unsubscribed: number } {
  const p: EndpointProvider & { ctx?: DiscoveryContext; hints: string[]; unsubscribed: number } = {
    kind: 'test-registry',
    hints: [],
    unsubscribed: 0,
    watch(ctx) {
      p.ctx = ctx;
      return new Observable<readonly Endpoint[]>((subscriber) => {
        const hints = ctx.refresh$.subscribe((why) => p.hints.push(why));
        const sets = sets$.subscribe(subscriber);
        return () => {
          p.unsubscribed++;
          hints.unsubscribe();
          sets.unsubscribe();
        };
      });
    },
  };
  return p;
}

function eventsOf(pool: { events$: Observable<PoolEvent> }): PoolEvent[] {
  const events: PoolEvent[] = [];
  pool.events$.subscribe((e) => events.push(e));
  return events;
}

const readonlyReply = (): RemoteError => respRemoteError("READONLY You can't write against a read only replica.");

describe('pool discovery: the first set', () => {
  it('has no endpoint until the provider answers: acquires wait, health says discovering, then the set is used', async () => {
    const sets = new Subject<readonly Endpoint[]>();
    const t = makePool({ endpoints: sets.asObservable(), max: 2 });
    const events = eventsOf(t.pool);
    expect(t.pool.health()).toMatchObject({ ready: false, reason: 'discovering', endpoints: [], discovery: { source: 'observable', resolved: false } });
    const acquired = track(t.pool.acquire());
    await t.clock.advance(100);
    expect(t.source.opened).toEqual([]);
    expect(acquired.settled).toBe(0);

    sets.next([A]);
    expect(t.source.opened.map((s) => s.endpointKey)).toEqual(['127.0.0.1:7001']);
    t.source.readyAll();
    await t.clock.advance(1);
    expect(acquired.settled).toBe(1);
    expect(acquired.error).toBeUndefined();
    expect(events.find((e) => e.type === 'endpoints-changed')).toMatchObject({
      source: 'observable', endpoints: ['127.0.0.1:7001'], added: ['127.0.0.1:7001'], removed: [], closed: 0, draining: 0,
    });
    const h = t.pool.health();
    expect(h.endpoints.map((e) => e.endpoint)).toEqual(['127.0.0.1:7001']);
    expect(h.discovery).toMatchObject({ resolved: true, changes: 1, errors: 0, updatedAt: 100 });
  });

  it('an acquire times out within acquireTimeoutMs while no set came, with the discovery error as cause', async () => {
    const p = recordingProvider(new Subject<readonly Endpoint[]>());
    const t = makePool({ endpoints: p, acquireTimeoutMs: 500 });
    const first = track(t.pool.acquire());
    await t.clock.advance(500, 50);
    expect(first.error).toBeInstanceOf(PoolTimeoutError);
    expect((first.error as Error).cause).toBeInstanceOf(DiscoveryError);
    expect(((first.error as Error).cause as Error).message).toBe('no endpoint yet: test-registry has not given a set');

    // A failed round reported by the provider becomes the cause, an event and health's lastError.
    const events = eventsOf(t.pool);
    const failure = new DiscoveryError('redisSentinel: no sentinel reachable (127.0.0.1:26390: connect ECONNREFUSED)');
    p.ctx!.report(failure);
    expect(events).toEqual([{ type: 'discovery-error', at: 500, source: 'test-registry', error: failure }]);
    expect(t.pool.health()).toMatchObject({
      reason: 'discovering',
      message: `no endpoint yet: waiting for the first set from test-registry (last error: WW_DISCOVERY_FAILED: ${failure.message})`,
      discovery: { errors: 1, lastError: { code: 'WW_DISCOVERY_FAILED', message: failure.message, at: 500 } },
    });
    const second = track(t.pool.acquire());
    await t.clock.advance(500, 50);
    expect((second.error as Error).cause).toBe(failure);
    await t.pool.close();
  });
});

describe('pool discovery: set changes and draining', () => {
  it('a replaced endpoint: idle connections close, dials to it are cancelled, min is refilled on the new set', async () => {
    const sets = new BehaviorSubject<readonly Endpoint[]>([A]);
    const t = makePool({ endpoints: sets.asObservable(), min: 3, max: 4 });
    const events = eventsOf(t.pool);
    const [a1, a2, a3] = t.source.opened;
    t.source.ready(a1!);
    t.source.ready(a2!);
    // a3 is still dialing A.
    sets.next([B]);
    expect(t.pool.health().endpoints.map((e) => e.endpoint)).toEqual(['127.0.0.1:7002']);
    expect(events.filter((e) => e.type === 'endpoints-changed')).toMatchObject([
      { endpoints: ['127.0.0.1:7002'], added: ['127.0.0.1:7002'], removed: ['127.0.0.1:7001'], closed: 3, draining: 0 },
    ]);
    expect(t.source.closes.map((c) => c.slot)).toEqual([a1, a2, a3]);
    expect(events.filter((e) => e.type === 'connection-closed').map((e) => (e as { reason: string }).reason)).toEqual(['removed', 'removed']);
    // min 3 again, all on B.
    expect(t.source.opened.slice(3).map((s) => s.endpointKey)).toEqual(['127.0.0.1:7002', '127.0.0.1:7002', '127.0.0.1:7002']);
    t.source.readyAll();
    await t.clock.advance(1);
    expect(t.pool.stats()).toMatchObject({ open: 3, pending: 0, closed: { removed: 2 } });
    expect(Object.keys(t.pool.stats().endpoints)).toEqual(['127.0.0.1:7002']);
    await t.pool.close();
  });

  it('an added endpoint keeps the others; the pool grows onto it', async () => {
    const sets = new BehaviorSubject<readonly Endpoint[]>([A]);
    const t = makePool({ endpoints: sets.asObservable(), min: 1, max: 4 });
    t.source.readyAll();
    sets.next([A, B]);
    expect(t.source.closes).toEqual([]);
    const l1 = await t.pool.acquire();
    const l2 = track(t.pool.acquire());
    // The new connection goes to the endpoint with fewer connections: B.
    expect(t.source.opened.map((s) => s.endpointKey)).toEqual(['127.0.0.1:7001', '127.0.0.1:7002']);
    t.source.readyAll();
    await t.clock.advance(1);
    expect(l2.value!.conn.slotId).toBe(t.source.opened[1]!.id);
    l1.release();
    l2.value!.release();
    // The same set again (other order, same options) is no change.
    const events = eventsOf(t.pool);
    sets.next([B, A]);
    expect(events).toEqual([]);
    await t.pool.close();
  });

  it('a leased connection of a removed endpoint serves its holder and closes on release', async () => {
    const sets = new BehaviorSubject<readonly Endpoint[]>([A]);
    const t = makePool({ endpoints: sets.asObservable(), max: 2 });
    const events = eventsOf(t.pool);
    const pending = track(t.pool.acquire());
    t.source.readyAll();
    await t.clock.advance(1);
    const lease = pending.value!;
    sets.next([B]);
    expect(events.find((e) => e.type === 'endpoints-changed')).toMatchObject({ closed: 0, draining: 1 });
    expect(lease.active).toBe(true);
    expect(lease.conn.slotId).toBe('conn-1');
    expect(t.source.closes).toEqual([]);
    lease.release();
    expect(t.source.closes.map((c) => [c.slot.id, c.reason])).toEqual([['conn-1', 'lifetime']]);
    expect(events.filter((e) => e.type === 'connection-closed')).toMatchObject([{ id: 'conn-1', endpoint: '127.0.0.1:7001', reason: 'removed' }]);
    // The next acquire dials B.
    const next = track(t.pool.acquire());
    expect(t.source.opened.at(-1)!.endpointKey).toBe('127.0.0.1:7002');
    t.source.readyAll();
    await t.clock.advance(1);
    expect(next.value!.conn.slotId).not.toBe('conn-1');
    next.value!.release();
    await t.pool.close();
  });

  it('an endpoint added back while its connection drains keeps that connection; one added back after draining starts afresh', async () => {
    const sets = new BehaviorSubject<readonly Endpoint[]>([A]);
    const t = makePool({ endpoints: sets.asObservable(), max: 2 });
    const pending = track(t.pool.acquire());
    t.source.failDial(t.source.opened[0]!); // a failure A's record counts
    t.source.readyAll();
    await t.clock.advance(1);
    const lease = pending.value!;
    sets.next([B]);
    sets.next([A, B]); // back before its leased connection came back
    lease.release();
    expect(t.source.closes).toEqual([]);
    const again = await t.pool.acquire();
    expect(again.conn.slotId).toBe('conn-1');
    expect(t.pool.stats().endpoints['127.0.0.1:7001']).toMatchObject({ failures: 1 }); // the same record
    // Removed again, drained this time (closed on release), then added back: a new record.
    sets.next([B]);
    again.release();
    expect(t.pool.stats().closed.removed).toBe(1);
    sets.next([A, B]);
    expect(t.pool.stats().endpoints['127.0.0.1:7001']).toMatchObject({ failures: 0, open: 0 });
    await t.pool.close();
  });

  it('a removed endpoint that dies while leased is not redialed there', async () => {
    const sets = new BehaviorSubject<readonly Endpoint[]>([A]);
    const t = makePool({ endpoints: sets.asObservable(), min: 1, max: 2 });
    t.source.readyAll();
    const lease = await t.pool.acquire();
    sets.next([B]);
    const a = t.source.opened[0]!;
    t.source.die(a);
    expect(lease.active).toBe(false);
    expect(t.source.closes.map((c) => c.slot)).toEqual([a]);
    expect(t.source.opened.slice(1).map((s) => s.endpointKey)).toEqual(['127.0.0.1:7002']);
    await t.pool.close();
  });

  it('a shared connection of a removed endpoint takes no new dispatch and closes when its dispatches settle', async () => {
    const sets = new BehaviorSubject<readonly Endpoint[]>([A]);
    const t = makePool({ endpoints: sets.asObservable(), protocol: shareableProtocol(4), max: 2 });
    const events = eventsOf(t.pool);
    const work = gate();
    const first = track(t.pool.dispatch(() => work.promise));
    t.source.readyAll();
    await t.clock.advance(1);
    expect(t.pool.stats()).toMatchObject({ shared: 1, inFlight: 1 });
    sets.next([B]);
    expect(events.find((e) => e.type === 'endpoints-changed')).toMatchObject({ closed: 0, draining: 1 });
    // A new dispatch does not join conn-1 (it has room: the limit is 4): it waits for B.
    const seen: string[] = [];
    const second = track(t.pool.dispatch((conn: FakeConn) => seen.push(conn.slotId)));
    await t.clock.advance(1);
    expect(second.settled).toBe(0);
    expect(t.source.opened.map((s) => s.endpointKey)).toEqual(['127.0.0.1:7001', '127.0.0.1:7002']);
    t.source.readyAll();
    await t.clock.advance(1);
    expect(seen).toEqual(['conn-2']);
    expect(t.source.closes).toEqual([]);
    work.resolve('done');
    await t.clock.advance(1);
    expect(first.value).toBe('done');
    expect(t.source.closes.map((c) => c.slot.id)).toEqual(['conn-1']);
    expect(events.filter((e) => e.type === 'connection-closed')).toMatchObject([{ id: 'conn-1', reason: 'removed' }]);
    await t.pool.close();
  });

  it('the stats of a draining endpoint stay listed until it has no connection, so endpoint figures add up', async () => {
    const sets = new BehaviorSubject<readonly Endpoint[]>([A]);
    const t = makePool({ endpoints: sets.asObservable(), max: 2 });
    const p = track(t.pool.acquire());
    t.source.readyAll();
    await t.clock.advance(1);
    sets.next([B]);
    const s = t.pool.stats();
    expect(Object.keys(s.endpoints)).toEqual(['127.0.0.1:7002', '127.0.0.1:7001']);
    expect(s.endpoints['127.0.0.1:7001']).toMatchObject({ open: 1, leased: 1 });
    p.value!.release();
    expect(Object.keys(t.pool.stats().endpoints)).toEqual(['127.0.0.1:7002']);
    await t.pool.close();
  });
});

describe('pool discovery: bad sets and errors', () => {
  it('a bad set is refused with a typed error event; the last good set and its connections stay', async () => {
    const sets = new BehaviorSubject<readonly Endpoint[]>([A]);
    const t = makePool({ endpoints: sets.asObservable(), min: 1 });
    t.source.readyAll();
    const events = eventsOf(t.pool);
    for (const bad of [[], [{ host: '127.0.0.1', port: 0 }], [A, A], [{ host: '127.0.0.1' }], 'not a set', [{ host: 'h', port: 1, colour: 'red' }]]) {
      sets.next(bad as never);
    }
    expect(events.map((e) => e.type)).toEqual(Array(6).fill('discovery-error'));
    const errors = events.map((e) => (e as { error: Error }).error);
    for (const err of errors) {
      expect(err).toBeInstanceOf(DiscoveryError);
      expect(err.cause).toBeInstanceOf(InvalidOptionError);
      expect(err.message).toMatch(/^pool\.endpoints: observable gave a set the pool refused \(the last good set stays in use\): /);
    }
    expect(errors.map((e) => (e.cause as Error).message)).toEqual([
      'set must be an array of at least 1 (an object), got an array of 0',
      'set[0].port must be an integer in [1, 65535], got 0',
      'set[1] duplicates set[0] (127.0.0.1:7001)',
      'set[0] must have a host and a port, or a path',
      'set must be an array of at least 1 (an object), got "not a set"',
      'set[0].colour is not a known option (known: host, port, path, priority, weight, servername)',
    ]);
    expect(t.source.closes).toEqual([]);
    expect(t.pool.health()).toMatchObject({ ready: true, endpoints: [{ endpoint: '127.0.0.1:7001', state: 'up' }], discovery: { errors: 6, changes: 1 } });
    await t.pool.close();
  });

  it('a provider whose Observable errors is reported and watched again after a delay', async () => {
    let subscriptions = 0;
    const provider: EndpointProvider = {
      kind: 'flaky',
      watch: () => new Observable<readonly Endpoint[]>((s) => {
        subscriptions++;
        if (subscriptions === 1) s.error(new Error('watch broke'));
        else s.next([B]);
      }),
    };
    const t = makePool({ endpoints: provider });
    const events = eventsOf(t.pool);
    expect(subscriptions).toBe(1);
    await t.clock.advance(99);
    expect(subscriptions).toBe(1);
    await t.clock.advance(1);
    expect(subscriptions).toBe(2);
    expect(events.map((e) => e.type)).toEqual(['endpoints-changed']);
    expect(t.pool.health().discovery).toMatchObject({ errors: 1, lastError: { message: 'watch broke', at: 0 }, resolved: true });
    await t.pool.close();
  });
});

describe('pool discovery: latency across set changes', () => {
  it('a dispatch started while one endpoint was known feeds no latency sample when it settles after a second arrived', async () => {
    const sets = new BehaviorSubject<readonly Endpoint[]>([A]);
    // The clock far from 0, as performance.now() is (the process's uptime).
    const t = makePool({ endpoints: sets.asObservable(), protocol: shareableProtocol(8), max: 4 }, {}, { startMs: 7_200_000 });
    const work = gate();
    const first = track(t.pool.dispatch(() => work.promise));
    t.source.readyAll();
    await t.clock.advance(50_000);
    sets.next([A, B]); // now latency is weighed (p2c over two endpoints)
    work.resolve('ok');
    await t.clock.advance(1);
    expect(first.value).toBe('ok');
    expect(t.pool.stats().endpoints['127.0.0.1:7001']).not.toHaveProperty('latencyMs');
    // Back to one endpoint and to two again: a dispatch started in between is not measured either.
    const held = gate();
    sets.next([A]);
    await t.clock.advance(1);
    const second = track(t.pool.dispatch(() => held.promise));
    await t.clock.advance(1);
    sets.next([A, B]);
    await t.clock.advance(20_000);
    held.resolve('ok');
    await t.clock.advance(1);
    expect(second.value).toBe('ok');
    expect(t.pool.stats().endpoints['127.0.0.1:7001']).not.toHaveProperty('latencyMs');
    // One started while measured is: its own 5 ms (only A has connections).
    const measured = gate();
    const third = track(t.pool.dispatch(() => measured.promise));
    await t.clock.advance(5);
    measured.resolve('ok');
    await t.clock.advance(0);
    expect(third.value).toBe('ok');
    expect(t.pool.stats().endpoints['127.0.0.1:7001']!.latencyMs).toBe(5);
    await t.pool.close();
  });
});

describe('pool discovery: hints to the provider', () => {
  it('a READONLY reply to a dispatch: the caller gets it (retryable), the connection retires, the provider is asked to re-resolve', async () => {
    const sets = new BehaviorSubject<readonly Endpoint[]>([A]);
    const p = recordingProvider(sets);
    const t = makePool({ endpoints: p, protocol: shareableProtocol(8), max: 2 });
    const events = eventsOf(t.pool);
    const first = track(t.pool.dispatch(() => Promise.reject(readonlyReply())));
    t.source.readyAll();
    await t.clock.advance(1);
    expect(first.error).toBeInstanceOf(RemoteError);
    expect((first.error as RemoteError).retryable).toBe(true);
    expect(p.hints).toEqual(['READONLY']);
    expect(t.source.closes.map((c) => c.slot.id)).toEqual(['conn-1']);
    expect(events.filter((e) => e.type === 'connection-closed')).toMatchObject([{ id: 'conn-1', reason: 'stale' }]);
    // The provider answers with the new master: the next write goes there.
    sets.next([B]);
    const seen: string[] = [];
    const second = track(t.pool.dispatch((conn: FakeConn) => seen.push(conn.slotId)));
    t.source.readyAll();
    await t.clock.advance(1);
    expect(second.error).toBeUndefined();
    expect(t.pool.connections().map((c) => c.endpoint)).toEqual(['127.0.0.1:7002']);
    expect(t.pool.stats().closed).toMatchObject({ stale: 1 });
    await t.pool.close();
  });

  it('pipelined dispatches that all get READONLY retire the connection once and send one hint; other errors are no hint', async () => {
    const p = recordingProvider(new BehaviorSubject<readonly Endpoint[]>([A]));
    const t = makePool({ endpoints: p, protocol: shareableProtocol(8), max: 1 });
    const work = gate();
    const calls = [1, 2, 3].map(() => track(t.pool.dispatch(() => work.promise.then(() => Promise.reject(readonlyReply())))));
    const wrong = track(t.pool.dispatch(() => Promise.reject(respRemoteError('WRONGTYPE Operation against a key holding the wrong kind of value'))));
    t.source.readyAll();
    await t.clock.advance(1);
    expect(wrong.error).toBeInstanceOf(RemoteError);
    expect(p.hints).toEqual([]);
    work.resolve('go');
    await t.clock.advance(1);
    expect(calls.map((c) => (c.error as Error).message.split(' ')[0])).toEqual(['READONLY', 'READONLY', 'READONLY']);
    expect(p.hints).toEqual(['READONLY']); // at most one per second
    expect(t.source.closes.map((c) => c.slot.id)).toEqual(['conn-1']);
    expect(t.pool.stats().closed).toMatchObject({ stale: 1, removed: 0 });
    await t.pool.close();
  });

  it('a READONLY inside use() retires the leased connection on release; an error from another client library is recognised too', async () => {
    const p = recordingProvider(new BehaviorSubject<readonly Endpoint[]>([A]));
    const t = makePool({ endpoints: p, min: 1, max: 2 });
    t.source.readyAll();
    const ioredisLike = Object.assign(new Error("READONLY You can't write against a read only replica."), { name: 'ReplyError' });
    await expect(t.pool.use(() => Promise.reject(ioredisLike))).rejects.toBe(ioredisLike);
    expect(p.hints).toEqual(['READONLY']);
    expect(t.source.closes.map((c) => c.slot.id)).toEqual(['conn-1']);
    // min 1: no replacement on the demoted endpoint until the provider's next set or a second;
    // the provider still names A, so it is dialed again then.
    expect(t.source.opened.map((s) => s.id)).toEqual(['conn-1']);
    await t.clock.advance(999);
    expect(t.source.opened.map((s) => s.id)).toEqual(['conn-1']);
    await t.clock.advance(1);
    expect(t.source.opened.map((s) => `${s.id}@${s.endpointKey}`)).toEqual(['conn-1@127.0.0.1:7001', 'conn-2@127.0.0.1:7001']);
    await t.pool.close();
  });

  it('a READONLY retires every connection to that endpoint: a caller retrying fails once, then waits for the new master', async () => {
    const sets = new BehaviorSubject<readonly Endpoint[]>([A]); // the provider has not answered the hint yet
    const p = recordingProvider(sets);
    const t = makePool({ endpoints: p, protocol: shareableProtocol(8), min: 3, max: 3 });
    const events = eventsOf(t.pool);
    t.source.readyAll();
    await t.clock.advance(1);
    const ranOn: string[] = [];
    const write = (conn: FakeConn) => {
      const endpoint = t.pool.connections().find((c) => c.id === conn.slotId)!.endpoint;
      ranOn.push(`${conn.slotId}@${endpoint}`);
      return endpoint === '127.0.0.1:7001' ? Promise.reject(readonlyReply()) : Promise.resolve('OK'); // A was demoted
    };
    // One caller retrying a retryable error up to three times.
    const attempt = async (): Promise<{ failures: number; value: unknown }> => {
      let failures = 0;
      for (;;) {
        try {
          return { failures, value: await t.pool.dispatch(write) };
        } catch (err) {
          if (!(err instanceof RemoteError) || !err.retryable || ++failures >= 3) throw err;
        }
      }
    };
    const caller = track(attempt());
    await t.clock.advance(1);
    expect(ranOn).toEqual(['conn-1@127.0.0.1:7001']);
    // Every connection to A retired (the idle ones closed now), none redialed there: the retry waits.
    expect(t.source.closes.map((c) => c.slot.id).sort()).toEqual(['conn-1', 'conn-2', 'conn-3']);
    expect(events.filter((e) => e.type === 'connection-closed').map((e) => (e as { reason: string }).reason)).toEqual(['stale', 'stale', 'stale']);
    expect(t.source.opened).toHaveLength(3);
    expect(caller.settled).toBe(0);
    expect(p.hints).toEqual(['READONLY']);
    // The provider answers with the new master: the retry runs there.
    sets.next([B]);
    t.source.readyAll();
    await t.clock.advance(1);
    expect(caller.value).toEqual({ failures: 1, value: 'OK' });
    expect(ranOn).toHaveLength(2);
    expect(ranOn[1]).toMatch(/@127\.0\.0\.1:7002$/);
    expect(t.pool.stats().closed).toMatchObject({ stale: 3 });
    await t.pool.close();
  });

  it('every dial to the current set failing sends unreachable hints, one per second at most; a live endpoint left means none', async () => {
    const p = recordingProvider(new BehaviorSubject<readonly Endpoint[]>([A, B]));
    const t = makePool({ endpoints: p, min: 2, max: 2 });
    const [s1, s2] = t.source.opened;
    t.source.failDial(s1!);
    expect(p.hints).toEqual([]);
    t.source.failDial(s2!);
    expect(p.hints).toEqual(['unreachable']);
    // Still failing: the next dials within the second send nothing more.
    await t.clock.advance(999);
    t.source.failDial(s1!);
    t.source.failDial(s2!);
    expect(p.hints).toEqual(['unreachable']);
    await t.clock.advance(1);
    t.source.failDial(s1!);
    expect(p.hints).toEqual(['unreachable', 'unreachable']);
    await t.pool.close();
  });
});

describe('pool discovery: shutdown', () => {
  it('close() closes the provider subscription and leaves no timer', async () => {
    const p = recordingProvider(new BehaviorSubject<readonly Endpoint[]>([A, C]));
    const t = makePool({ endpoints: p, min: 2 });
    t.source.readyAll();
    expect(p.unsubscribed).toBe(0);
    await t.pool.close();
    expect(p.unsubscribed).toBe(1);
    expect(t.clock.pendingActions).toBe(0);
    // Hints after close go nowhere, and a late report is dropped.
    p.ctx!.report(new Error('late'));
    expect(t.pool.health().discovery).toMatchObject({ errors: 0 });
  });

  it('a function source polled on an interval stops polling on close()', async () => {
    let calls = 0;
    const { endpointsFrom } = await import('../../src/pool/endpoint-provider.js');
    const t = makePool({ endpoints: endpointsFrom(() => (calls++, [A]), { refreshIntervalMs: 1000 }) });
    await t.clock.advance(3500, 100);
    expect(calls).toBe(4);
    await t.pool.close();
    await t.clock.advance(5000, 1000);
    expect(calls).toBe(4);
    expect(t.clock.pendingActions).toBe(0);
  });
});
