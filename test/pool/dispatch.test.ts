/**
 * pool.dispatch in virtual time: sharing up to the per-connection limit, the FIFO queue
 * (timeout, abort, maxWaiting), leases and dispatches in one pool (drain before lease,
 * fairness by arrival), growth, deaths mid-dispatch, suspect/refused/expired connections,
 * close, and what the balancer is given.
 */
import { describe, expect, it } from 'vitest';
import {
  AbortedError, ConnectionClosedError, DispatchUnsupportedError, HandshakeRefusedError, InvalidOptionError, PoolClosedError,
  PoolQueueFullError, PoolTimeoutError,
} from '../../src/errors.js';
import type { BalanceCandidate, Balancer } from '../../src/pool/balancer.js';
import type { PoolEvent } from '../../src/pool/pool-events.js';
import { createPoolCore } from '../../src/pool/pool-core.js';
import { FakeSource, type FakeConn } from './helpers/fake-source.js';
import { gate, makePool, shareableProtocol, track } from './helpers/make-pool.js';
import { drain, VirtualClock } from './helpers/virtual-clock.js';

/** A dispatch body that records where it ran and settles when the test says. */
function job(ran: string[], name: string) {
  const g = gate();
  const fn = (conn: FakeConn, signal: AbortSignal) => {
    ran.push(`${name}@${conn.slotId}`);
    expect(signal).toBeInstanceOf(AbortSignal);
    return g.promise;
  };
  return { fn, resolve: g.resolve, reject: g.reject };
}

function sharedPool(options: Record<string, unknown> = {}, limit = 2, extra = {}) {
  const log: string[] = [];
  const t = makePool({ protocol: shareableProtocol(limit, log), ...options }, {}, extra);
  return { ...t, log };
}

describe('dispatch', () => {
  it('shares a connection up to the limit, queues beyond it in FIFO order, and brackets the shared period', async () => {
    const { pool, source, log } = sharedPool({ max: 1 });
    const ran: string[] = [];
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => job(ran, n));
    const results = [a, b, c, d].map((j) => track(pool.dispatch(j!.fn)));
    expect(source.opened).toHaveLength(1);
    source.readyAll();
    await drain();
    expect(ran).toEqual(['a@conn-1', 'b@conn-1']); // two at once on one connection
    expect(log).toEqual(['enter conn-1']);
    expect(pool.stats()).toMatchObject({ open: 1, shared: 1, inFlight: 2, idle: 0, leased: 0, dispatch: { waiting: 2, waitCount: 4 } });
    expect(pool.connections()).toEqual([expect.objectContaining({ id: 'conn-1', leased: false, inFlight: 2 })]);
    b!.resolve('B');
    await drain();
    expect(ran).toEqual(['a@conn-1', 'b@conn-1', 'c@conn-1']); // c, the oldest queued, took b's place
    expect(results[1]!.value).toBe('B');
    a!.resolve('A');
    c!.resolve('C');
    await drain();
    d!.resolve('D');
    await drain();
    expect(results.map((r) => r.value)).toEqual(['A', 'B', 'C', 'D']);
    expect(log).toEqual(['enter conn-1', 'leave conn-1']); // one shared period, not one per dispatch
    expect(pool.stats()).toMatchObject({ open: 1, shared: 0, inFlight: 0, idle: 1, dispatch: { waiting: 0, dispatched: 4 } });
  });

  it('fast path: a connection with room runs fn at once, with no timer and nothing queued', async () => {
    const { pool, source, clock } = sharedPool({ min: 1 }, 4);
    source.readyAll();
    const actions = clock.pendingActions;
    const ran: string[] = [];
    const jobs = ['a', 'b', 'c'].map((n) => job(ran, n));
    const results = jobs.map((j) => track(pool.dispatch(j.fn, { signal: new AbortController().signal })));
    expect(ran).toEqual(['a@conn-1', 'b@conn-1', 'c@conn-1']); // synchronously, on the one connection
    expect(clock.pendingActions).toBe(actions);
    expect(pool.stats().dispatch).toMatchObject({ waitCount: 0, dispatched: 3 });
    for (const j of jobs) j.resolve('ok');
    await drain();
    expect(results.every((r) => r.value === 'ok')).toBe(true);
    expect(pool.stats()).toMatchObject({ idle: 1, shared: 0, inFlight: 0 });
    // One endpoint: nothing to weigh, so no latency clock is read.
    expect(pool.stats().endpoints['127.0.0.1:7000']).not.toHaveProperty('latencyMs');
  });

  it('a queued dispatch times out like an acquire, naming the state', async () => {
    const { pool, source, clock } = sharedPool({ max: 1, acquireTimeoutMs: 100 }, 1);
    const events: PoolEvent[] = [];
    pool.events$.subscribe((e) => events.push(e));
    const ran: string[] = [];
    const a = job(ran, 'a');
    track(pool.dispatch(a.fn));
    source.readyAll();
    await drain();
    const b = track(pool.dispatch(job(ran, 'b').fn));
    await clock.advance(100, 10);
    expect(b.error).toBeInstanceOf(PoolTimeoutError);
    expect((b.error as Error).message).toBe(
      'dispatch timed out after 100 ms (size 1, leased 0, idle 0, pending 0, waiting 0, shared 1, in flight 1, dispatches waiting 1)',
    );
    expect(events.filter((e) => e.type === 'dispatch-timeout')).toEqual([expect.objectContaining({ waitedMs: 100 })]);
    expect(pool.stats().dispatch).toMatchObject({ waiting: 0, timeouts: 1, waitCount: 2 });
    expect(pool.stats().timeouts).toBe(0); // the acquires' counter is apart
    expect(ran).toEqual(['a@conn-1']);
  });

  it('abort: before the call rejects at once; while queued removes the caller', async () => {
    const { pool, source } = sharedPool({ max: 1 }, 1);
    const before = new AbortController();
    before.abort(new Error('no longer needed'));
    await expect(pool.dispatch(() => 'x', { signal: before.signal })).rejects.toMatchObject({
      code: 'WW_ABORTED', message: 'dispatch aborted', cause: before.signal.reason,
    });
    const ran: string[] = [];
    const a = job(ran, 'a');
    track(pool.dispatch(a.fn));
    source.readyAll();
    await drain();
    const ac = new AbortController();
    const b = track(pool.dispatch(job(ran, 'b').fn, { signal: ac.signal }));
    const c = track(pool.dispatch(job(ran, 'c').fn));
    ac.abort();
    await drain();
    expect(b.error).toBeInstanceOf(AbortedError);
    expect(pool.stats().dispatch.waiting).toBe(1);
    a.resolve('A');
    await drain();
    expect(ran).toEqual(['a@conn-1', 'c@conn-1']); // the aborted caller never ran
    expect(c.settled).toBe(0);
  });

  it('maxWaiting bounds the dispatch queue (WW_POOL_QUEUE_FULL at once)', async () => {
    const { pool, source } = sharedPool({ max: 1, maxWaiting: 1 }, 1);
    track(pool.dispatch(() => new Promise(() => {})));
    source.readyAll();
    await drain();
    track(pool.dispatch(() => 'queued'));
    await expect(pool.dispatch(() => 'x')).rejects.toThrow(PoolQueueFullError);
    await expect(pool.dispatch(() => 'x')).rejects.toMatchObject({
      code: 'WW_POOL_QUEUE_FULL', message: 'dispatch refused: 1 dispatches already queue (maxWaiting 1)',
    });
    expect(pool.health()).toMatchObject({ ready: false, reason: 'saturated', dispatchWaiting: 1, inFlight: 1, shared: 1 });
  });

  it('bad options are refused like acquire\'s, naming dispatch', async () => {
    const { pool } = sharedPool();
    await expect(pool.dispatch(() => 1, { timeoutMs: 0 })).rejects.toMatchObject({ code: 'WW_INVALID_OPTION', message: expect.stringContaining('dispatch.timeoutMs') });
    await expect(pool.dispatch(() => 1, { retries: 2 } as never)).rejects.toMatchObject({
      message: 'dispatch.retries is not a known option (known: signal, timeoutMs)',
    });
  });

  it('a protocol without sharing refuses dispatch with a typed error pointing to use/acquire', async () => {
    const { pool } = makePool({ min: 1 });
    await expect(pool.dispatch(() => 1)).rejects.toThrow(DispatchUnsupportedError);
    await expect(pool.dispatch(() => 1)).rejects.toMatchObject({
      code: 'WW_DISPATCH_UNSUPPORTED',
      retryable: false,
      message: 'dispatch refused: protocol "fake" cannot share a connection (it has no sharing); lease one with pool.use() or pool.acquire()',
    });
    expect(() => makePool({ maxInFlightPerConnection: 4 })).toThrow(InvalidOptionError);
    expect(() => makePool({ maxInFlightPerConnection: 4 })).toThrow(
      'pool.maxInFlightPerConnection requires a protocol that can be shared (protocol.sharing), got protocol "fake" without sharing',
    );
    expect(() => makePool({ protocol: { ...shareableProtocol(1), sharing: { maxInFlight: 0 } } })).toThrow(
      'pool.protocol.sharing.maxInFlight must be an integer in [1, 2147483647], got 0',
    );
  });

  it('maxInFlightPerConnection overrides the protocol\'s limit', async () => {
    const { pool, source } = sharedPool({ max: 1, maxInFlightPerConnection: 3 }, 1);
    const ran: string[] = [];
    for (const n of ['a', 'b', 'c', 'd']) track(pool.dispatch(job(ran, n).fn));
    source.readyAll();
    await drain();
    expect(ran).toEqual(['a@conn-1', 'b@conn-1', 'c@conn-1']);
    expect(pool.stats().dispatch.waiting).toBe(1);
  });
});

describe('leases and dispatches in one pool', () => {
  it('a shared connection is not leased until it drains, and takes no new dispatch meanwhile', async () => {
    const { pool, source, log } = sharedPool({ max: 1 }, 4);
    const ran: string[] = [];
    const a = job(ran, 'a');
    const da = track(pool.dispatch(a.fn));
    source.readyAll();
    await drain();
    const lease = track(pool.acquire());
    await drain();
    expect(lease.settled).toBe(0);
    // The connection drains for the acquire: a later dispatch waits although there is room.
    const b = job(ran, 'b');
    const db = track(pool.dispatch(b.fn));
    await drain();
    expect(ran).toEqual(['a@conn-1']);
    expect(pool.stats()).toMatchObject({ shared: 1, inFlight: 1, waiting: 1, dispatch: { waiting: 1 } });
    a.resolve('A');
    await drain();
    expect(da.value).toBe('A');
    expect(lease.value?.conn.slotId).toBe('conn-1'); // drained, then leased
    expect(log).toEqual(['enter conn-1', 'leave conn-1']); // left sharing before the lease
    expect(pool.stats()).toMatchObject({ leased: 1, shared: 0, inFlight: 0, dispatch: { waiting: 1 } });
    // A leased connection takes no dispatch: b runs once the lease is released.
    await drain();
    expect(ran).toEqual(['a@conn-1']);
    lease.value!.release();
    await drain();
    expect(ran).toEqual(['a@conn-1', 'b@conn-1']);
    b.resolve('B');
    await drain();
    expect(db.value).toBe('B');
    expect(log).toEqual(['enter conn-1', 'leave conn-1', 'enter conn-1', 'leave conn-1']);
  });

  it('a free connection goes to whichever queue\'s oldest caller came first', async () => {
    const { pool, source } = sharedPool({ max: 1 }, 2);
    const first = track(pool.acquire());
    source.readyAll();
    await drain();
    const ran: string[] = [];
    // Arrival order: dispatch d1, acquire a1, dispatch d2.
    const d1 = job(ran, 'd1');
    track(pool.dispatch(d1.fn));
    const a1 = track(pool.acquire());
    const d2 = job(ran, 'd2');
    track(pool.dispatch(d2.fn));
    first.value!.release();
    await drain();
    // d1 came first: the connection is shared by the queued dispatches (up to the limit) …
    expect(ran).toEqual(['d1@conn-1', 'd2@conn-1']);
    expect(a1.settled).toBe(0);
    // … and drains for the acquire that waits.
    const d3 = job(ran, 'd3');
    track(pool.dispatch(d3.fn));
    d1.resolve('1');
    await drain();
    expect(ran).toEqual(['d1@conn-1', 'd2@conn-1']);
    d2.resolve('2');
    await drain();
    expect(a1.value?.conn.slotId).toBe('conn-1');
    // Now the acquire is older than the queued d3: a release goes to … d3 (the only one left).
    a1.value!.release();
    await drain();
    expect(ran).toEqual(['d1@conn-1', 'd2@conn-1', 'd3@conn-1']);
  });

  it('an acquire older than the queued dispatches gets the freed connection', async () => {
    const { pool, source } = sharedPool({ max: 1 }, 2);
    const first = track(pool.acquire());
    source.readyAll();
    await drain();
    const a1 = track(pool.acquire());
    const ran: string[] = [];
    track(pool.dispatch(job(ran, 'd1').fn));
    first.value!.release();
    await drain();
    expect(a1.value?.conn.slotId).toBe('conn-1');
    expect(ran).toEqual([]);
  });

  it('under a steady stream of dispatches, an acquire waits only for one connection to drain', async () => {
    const { pool, source } = sharedPool({ max: 2, min: 2 }, 3);
    source.readyAll();
    await drain();
    const ran: string[] = [];
    const running: ReturnType<typeof job>[] = [];
    const more = (n: number) => {
      for (let i = 0; i < n; i++) {
        const j = job(ran, `d${running.length}`);
        running.push(j);
        track(pool.dispatch(j.fn));
      }
    };
    more(6);
    expect(pool.stats()).toMatchObject({ shared: 2, inFlight: 6 });
    const lease = track(pool.acquire());
    for (let round = 0; round < 10 && lease.value === undefined; round++) {
      // Settle the oldest two, start two more: the load never stops.
      for (const j of running.splice(0, 2)) j.resolve('ok');
      more(2);
      await drain();
    }
    expect(lease.value).toBeDefined();
    expect(pool.stats()).toMatchObject({ leased: 1, shared: 1 });
  });
});

describe('growth', () => {
  it('queued dispatches open one connection per limit of them, up to max', async () => {
    const { pool, source } = sharedPool({ max: 5 }, 2);
    const ran: string[] = [];
    for (const n of ['a', 'b', 'c']) track(pool.dispatch(job(ran, n).fn));
    expect(source.opened).toHaveLength(2); // ⌈3 / 2⌉
    source.readyAll();
    await drain();
    expect(ran.sort()).toEqual(['a@conn-1', 'b@conn-1', 'c@conn-2']);
  });

  it('a dispatch that fills a connection opens the next one before anyone queues', async () => {
    const { pool, source } = sharedPool({ max: 3, min: 1 }, 2);
    source.readyAll();
    const ran: string[] = [];
    track(pool.dispatch(job(ran, 'a').fn));
    expect(source.opened).toHaveLength(1);
    track(pool.dispatch(job(ran, 'b').fn)); // conn-1 full
    expect(source.opened).toHaveLength(2);
    track(pool.dispatch(job(ran, 'c').fn)); // queued; conn-2 is already dialing
    expect(source.opened).toHaveLength(2);
    source.readyAll();
    await drain();
    expect(ran).toEqual(['a@conn-1', 'b@conn-1', 'c@conn-2']);
    expect(pool.stats().dispatch.waiting).toBe(0);
  });
});

describe('connections that cannot take dispatches', () => {
  it('a connection that dies mid-dispatch: its counts go with it, its callers fail with the session\'s error, the queue moves on', async () => {
    const { pool, source } = sharedPool({ max: 1 }, 1);
    const ran: string[] = [];
    const a = job(ran, 'a');
    const da = track(pool.dispatch(a.fn));
    source.readyAll();
    await drain();
    const b = job(ran, 'b');
    const db = track(pool.dispatch(b.fn));
    source.die(source.opened[0]!);
    expect(pool.stats()).toMatchObject({ shared: 0, inFlight: 0, pending: 1, dispatch: { waiting: 1 } });
    // The session fails what was in flight with its death error (retryable).
    const death = new ConnectionClosedError('connection to 127.0.0.1:7000 closed (socket hang up)');
    a.reject(death);
    await drain();
    expect(da.error).toBe(death);
    expect((da.error as ConnectionClosedError).retryable).toBe(true);
    expect(pool.stats()).toMatchObject({ inFlight: 0, shared: 0 }); // the late settle changed nothing
    source.readyAll(); // the replacement
    await drain();
    expect(ran).toEqual(['a@conn-1', 'b@conn-1']);
    expect(pool.stats()).toMatchObject({ shared: 1, inFlight: 1 });
    b.resolve('B');
    await drain();
    expect(db.value).toBe('B');
    expect(pool.stats()).toMatchObject({ idle: 1, shared: 0, inFlight: 0 });
  });

  it('a dispatch granted a place on a connection that dies before it starts begins again', async () => {
    const { pool, source } = sharedPool({ max: 1 }, 1);
    const ran: string[] = [];
    const a = job(ran, 'a');
    track(pool.dispatch(a.fn));
    source.readyAll();
    await drain();
    const b = job(ran, 'b');
    const db = track(pool.dispatch(b.fn));
    a.resolve('A'); // b is granted the place synchronously …
    await Promise.resolve();
    source.die(source.opened[0]!); // … and its connection dies before b's continuation runs
    await drain();
    expect(ran).toEqual(['a@conn-1']);
    expect(pool.stats()).toMatchObject({ inFlight: 0, pending: 1, dispatch: { waiting: 1 } });
    source.readyAll();
    await drain();
    expect(ran).toEqual(['a@conn-1', 'b@conn-1']);
    b.resolve('B');
    await drain();
    expect(db.value).toBe('B');
    expect(pool.stats()).toMatchObject({ inFlight: 0, idle: 1 });
  });

  it('suspect connections are never picked', async () => {
    const { pool, source } = sharedPool({ min: 2, max: 2 }, 4);
    source.readyAll();
    source.opened[1]!.suspect = true; // conn-2 (top of the idle stack) stopped answering its probes
    const ran: string[] = [];
    for (const n of ['a', 'b', 'c', 'd', 'e']) track(pool.dispatch(job(ran, n).fn));
    await drain();
    expect(ran).toEqual(['a@conn-1', 'b@conn-1', 'c@conn-1', 'd@conn-1']);
    expect(pool.stats().dispatch.waiting).toBe(1);
    source.opened[1]!.suspect = false;
    source.sink.onRecovered!(source.opened[1]!);
    await drain();
    expect(ran.at(-1)).toBe('e@conn-2');
  });

  it('connections on an endpoint that refuses the handshake are never picked', async () => {
    const { pool, source } = sharedPool({
      min: 3, max: 3, endpoints: [{ host: 'a', port: 1 }, { host: 'b', port: 1 }],
    }, 4);
    const [c1, c2, c3] = source.opened;
    expect([c1!.endpointKey, c2!.endpointKey, c3!.endpointKey]).toEqual(['a:1', 'b:1', 'a:1']);
    source.ready(c1!);
    source.ready(c2!);
    source.failDial(c3!, new HandshakeRefusedError('AUTH failed on a:1: WRONGPASS'));
    const ran: string[] = [];
    for (const n of ['a', 'b', 'c', 'd', 'e', 'f']) track(pool.dispatch(job(ran, n).fn));
    await drain();
    expect(ran.filter((r) => r.endsWith('@conn-1'))).toEqual([]); // conn-1 is on the refusing a:1
    expect(ran).toHaveLength(4);
  });

  it('a dispatch whose grant went with a connection that died before it started keeps its place and its deadline', async () => {
    const { pool, source, clock } = sharedPool({ max: 1, acquireTimeoutMs: 1000 }, 1);
    const ran: string[] = [];
    const first = track(pool.dispatch(job(ran, 'first').fn)); // queued at 0: no connection yet
    await clock.advance(600);
    const second = track(pool.dispatch(job(ran, 'second').fn)); // queued at 600
    const [slot] = source.opened;
    source.ready(slot!); // grants its one place to the first…
    source.die(slot!); // …and dies before the first started
    await drain();
    expect(ran).toEqual([]);
    expect(pool.stats().dispatch).toMatchObject({ waiting: 2, waitCount: 2, dispatched: 0 });
    source.ready(slot!);
    await drain();
    expect(ran).toEqual(['first@conn-1']); // still ahead of the second
    expect(second.settled).toBe(0);
    void first;
  });

  it('a dispatch put back in line after a lost grant times out at its first deadline, not a new one', async () => {
    const { pool, source, clock } = sharedPool({ max: 1, acquireTimeoutMs: 1000 }, 1);
    const ran: string[] = [];
    const first = track(pool.dispatch(job(ran, 'first').fn));
    await clock.advance(600);
    const [slot] = source.opened;
    source.ready(slot!);
    source.die(slot!);
    await drain();
    await clock.advance(400 + 19);
    expect(first.settled).toBe(0);
    await clock.advance(1); // its deadline, plus the waiter tick (1000 / 50)
    expect(first.error).toBeInstanceOf(PoolTimeoutError);
    expect((first.error as Error).message).toMatch(/^dispatch timed out after 1000 ms/);
    expect(pool.stats().dispatch).toMatchObject({ waitCount: 1, timeouts: 1, dispatched: 0 });
  });

  it('a connection on an endpoint that refuses the handshake is not handed to queued dispatches when its lease ends', async () => {
    const { pool, source } = sharedPool({ min: 2, max: 2 }, 4);
    const [c1, c2] = source.opened;
    source.ready(c1!);
    source.failDial(c2!, new HandshakeRefusedError('AUTH failed on 127.0.0.1:7000: WRONGPASS'));
    const lease = await pool.acquire(); // conn-1, opened before the refusal: still fine to lease
    const ran: string[] = [];
    const queued = track(pool.dispatch(job(ran, 'a').fn));
    await drain();
    lease.release();
    await drain();
    expect(ran).toEqual([]);
    expect(queued.settled).toBe(0);
    expect(pool.stats()).toMatchObject({ idle: 1, shared: 0, dispatch: { waiting: 1 } });
    // An acquire still gets it.
    const next = await pool.acquire();
    expect(next.conn.slotId).toBe('conn-1');
    next.release();
  });

  it('a suspect idle connection that recovers past its lifetime is retired, not handed to the waiter', async () => {
    const { pool, source, clock } = sharedPool({ min: 1, max: 1, maxLifetimeMs: 1000, lifetimeJitter: 0, housekeepingIntervalMs: 60_000 }, 4);
    const [c1] = source.opened;
    source.ready(c1!);
    c1!.suspect = true;
    const ran: string[] = [];
    const queued = track(pool.dispatch(job(ran, 'a').fn));
    await clock.advance(1500);
    expect(queued.settled).toBe(0);
    c1!.suspect = false;
    source.sink.onRecovered!(c1!);
    await drain();
    expect(ran).toEqual([]);
    expect(source.closes).toEqual([expect.objectContaining({ reason: 'lifetime' })]);
    expect(source.opened).toHaveLength(2); // its replacement, for the waiter
    source.ready(source.opened[1]!);
    await drain();
    expect(ran).toEqual(['a@conn-2']);
  });

  it('a shared connection past its lifetime takes no new dispatch and retires when it drains', async () => {
    const { pool, source, clock } = sharedPool({ max: 2, maxLifetimeMs: 1000, lifetimeJitter: 0 }, 4);
    const ran: string[] = [];
    const a = job(ran, 'a');
    track(pool.dispatch(a.fn));
    source.readyAll();
    await drain();
    await clock.advance(1000, 100);
    const b = job(ran, 'b');
    track(pool.dispatch(b.fn));
    source.readyAll();
    await drain();
    expect(ran).toEqual(['a@conn-1', 'b@conn-2']);
    a.resolve('A');
    await drain();
    expect(source.closes).toEqual([expect.objectContaining({ reason: 'lifetime' })]);
    expect(pool.stats()).toMatchObject({ closed: { lifetime: 1 }, shared: 1, inFlight: 1 });
  });

  it('a drained session its protocol reports dirty is reset before it serves again', async () => {
    const clock = new VirtualClock();
    const source = new FakeSource({ reset: 'manual' });
    let dirty = true;
    (source as { needsReset?: (slot: unknown) => boolean }).needsReset = () => dirty;
    const pool = createPoolCore<FakeConn>({
      options: { endpoints: [{ host: '127.0.0.1', port: 7000 }], protocol: shareableProtocol(2), max: 1 },
      source: source.factory,
      scheduler: clock.scheduler,
    });
    const ran: string[] = [];
    const a = job(ran, 'a');
    track(pool.dispatch(a.fn));
    source.readyAll();
    await drain();
    const b = job(ran, 'b');
    a.resolve('A');
    await drain();
    expect(source.resets).toHaveLength(1);
    track(pool.dispatch(b.fn)); // waits for the reset
    await drain();
    expect(ran).toEqual(['a@conn-1']);
    dirty = false;
    source.resets[0]!.resolve();
    await drain();
    expect(ran).toEqual(['a@conn-1', 'b@conn-1']);
  });
});

describe('sessions that cannot start sharing (sharing.canShare)', () => {
  it('an idle session that refuses is passed over; a released one goes to an acquire or rests idle, and serves once it can', async () => {
    const busy = new Set<string>();
    const log: string[] = [];
    const warnings: string[] = [];
    const { pool, source, clock } = makePool({
      protocol: shareableProtocol(2, log, busy), max: 2, min: 2, housekeepingIntervalMs: 100, logger: { warn: (m: string) => warnings.push(m) },
    });
    source.readyAll();
    busy.add('conn-2'); // the top of the idle stack: a command of its last holder still in flight
    const ran: string[] = [];
    const a = job(ran, 'a');
    track(pool.dispatch(a.fn));
    expect(ran).toEqual(['a@conn-1']);
    // conn-1 full, conn-2 refuses: the next ones queue.
    const b = job(ran, 'b');
    track(pool.dispatch(b.fn));
    const c = job(ran, 'c');
    track(pool.dispatch(c.fn));
    await drain();
    expect(ran).toEqual(['a@conn-1', 'b@conn-1']);
    expect(pool.stats()).toMatchObject({ shared: 1, idle: 1, dispatch: { waiting: 1 } });
    // A lease may still take it: an acquire is served by conn-2.
    const lease = track(pool.acquire());
    await drain();
    expect(lease.value?.conn.slotId).toBe('conn-2');
    lease.value!.release(); // still busy: back to idle, not shared
    await drain();
    expect(pool.stats()).toMatchObject({ idle: 1, dispatch: { waiting: 1 } });
    busy.delete('conn-2'); // its command answered
    await clock.advance(100); // the sweep hands it to the queued dispatch
    expect(ran).toEqual(['a@conn-1', 'b@conn-1', 'c@conn-2']);
    expect(log).toEqual(['enter conn-1', 'enter conn-2']);
    expect(warnings).toEqual([]); // enter never ran on a session that refused
  });
});

describe('close', () => {
  it('refuses new dispatches, fails queued ones, waits for the running ones and leaves nothing behind', async () => {
    const { pool, source, clock, log } = sharedPool({ max: 1 }, 1);
    const ran: string[] = [];
    const a = job(ran, 'a');
    const da = track(pool.dispatch(a.fn));
    source.readyAll();
    await drain();
    const queued = track(pool.dispatch(job(ran, 'b').fn));
    const closing = track(pool.close());
    await drain();
    expect(queued.error).toBeInstanceOf(PoolClosedError);
    expect((queued.error as Error).message).toBe('dispatch failed: the pool closed while waiting');
    await expect(pool.dispatch(() => 1)).rejects.toMatchObject({ code: 'WW_POOL_CLOSED', message: 'dispatch refused: the pool is closed' });
    expect(closing.settled).toBe(0); // a is still running
    a.resolve('A');
    await drain();
    expect(da.value).toBe('A');
    expect(source.closes).toEqual([expect.objectContaining({ reason: 'shutdown' })]);
    await clock.advance(10);
    expect(closing.settled).toBe(1);
    expect(clock.pendingActions).toBe(0);
    expect(log).toEqual(['enter conn-1']); // closed after draining: no leave into a closing session
  });
});

describe('balancing', () => {
  it('asks the balancer once per dispatch with one candidate per endpoint, and records latency per endpoint', async () => {
    const seen: { usable: boolean; inFlight: number; weight: number }[][] = [];
    const pickB: Balancer = {
      strategy: 'p2c-peak-ewma', // a latency-weighing strategy: the pool measures each dispatch
      pick(candidates: readonly BalanceCandidate[]) {
        seen.push(candidates.map((c) => ({ usable: c.usable, inFlight: c.inFlight, weight: c.weight })));
        return candidates.findLastIndex((c) => c.usable);
      },
    };
    // The clock far from 0, as performance.now() is: a start time of 0 would show as latency.
    const { pool, source, clock } = sharedPool({
      min: 2, max: 2, endpoints: [{ host: 'a', port: 1, weight: 1 }, { host: 'b', port: 1, weight: 2 }],
    }, 4, { balancer: pickB, startMs: 3_600_000 });
    source.readyAll();
    const onB = pool.connections().find((c) => c.endpoint === 'b:1')!.id;
    const ran: string[] = [];
    const a = job(ran, 'a');
    track(pool.dispatch(a.fn));
    const b = job(ran, 'b');
    track(pool.dispatch(b.fn));
    expect(ran).toEqual([`a@${onB}`, `b@${onB}`]);
    expect(seen).toEqual([
      [{ usable: true, inFlight: 0, weight: 1 }, { usable: true, inFlight: 0, weight: 2 }],
      [{ usable: true, inFlight: 0, weight: 1 }, { usable: true, inFlight: 1, weight: 2 }],
    ]);
    await clock.advance(30);
    a.resolve('A');
    await drain();
    expect(pool.stats().endpoints['b:1']).toMatchObject({ shared: 1, inFlight: 1, latencyMs: 30 });
    expect(pool.stats().endpoints['a:1']).not.toHaveProperty('latencyMs');
  });

  it('gives a slow endpoint traffic again once its estimate has decayed below the others\' (the balancer is given the clock)', async () => {
    // p2c over peak-EWMA, both draws always made: with two endpoints it compares both.
    const { pool, source, clock } = sharedPool({
      min: 2, max: 2, latencyDecayMs: 1000, endpoints: [{ host: 'a', port: 1 }, { host: 'b', port: 1 }],
    }, 4, { startMs: 3_600_000, random: () => 0 });
    source.readyAll();
    const endpointOf = (conn: FakeConn) => pool.connections().find((c) => c.id === conn.slotId)!.endpoint;
    const where: string[] = [];
    /** One dispatch taking `ms` (virtual) wherever the pool puts it. */
    const timed = async (ms: number) => {
      const done = track(pool.dispatch(async (conn: FakeConn) => {
        where.push(endpointOf(conn));
        await new Promise<void>((resolve) => clock.scheduler.schedule(() => resolve(), ms));
      }));
      await clock.advance(ms);
      expect(done.settled).toBe(1);
    };
    await timed(100); // the first draw: a (random 0), unmeasured, tried at once
    await timed(10); // a is measured at 100 ms, b unmeasured and idle: b
    expect(where).toEqual(['a:1', 'b:1']);
    // b keeps serving at 10 ms; a's 100 ms decays (τ 1 s): below b's 10 ms after τ·ln(100/10) ≈ 2.3 s.
    for (let i = 0; i < 150; i++) await timed(10);
    expect(where.filter((e) => e === 'a:1')).toHaveLength(1);
    for (let i = 0; i < 150 && where.at(-1) === 'b:1'; i++) await timed(10);
    expect(where.at(-1)).toBe('a:1');
    // Picked again after about 2.3 s of b's traffic, not before (each dispatch here takes 10 ms).
    expect(where.length - 2).toBeGreaterThan(200);
    expect(where.length - 2).toBeLessThan(260);
  });
});

describe('dispatch and priority groups', () => {
  it('goes to the active group only: the backup while failed over (a recovered primary is standby), the primary after the failback', async () => {
    const t = makePool({
      endpoints: [{ host: '127.0.0.1', port: 7001, priority: 0 }, { host: '127.0.0.1', port: 7002, priority: 1 }],
      protocol: shareableProtocol(2), min: 3, max: 3, failover: { failbackAfterMs: 1000 },
    }, {}, { startMs: 1_000_000 });
    const [s1, s2, s3] = t.source.opened;
    t.source.failDial(s1!); // the primary is down: failover, two slots move to the backup
    t.source.failDial(s2!);
    expect(t.pool.health().activePriority).toBe(1);
    t.source.ready(s1!);
    t.source.ready(s2!);
    t.source.ready(s3!); // the primary answers again: standby until the failback
    const endpointOf = (conn: FakeConn) => t.pool.connections().find((c) => c.id === conn.slotId)!.endpoint;
    const count = async (n: number): Promise<Record<string, number>> => {
      const where: Record<string, number> = {};
      for (let i = 0; i < n; i++) {
        await t.pool.dispatch((conn: FakeConn) => {
          const e = endpointOf(conn);
          where[e] = (where[e] ?? 0) + 1;
        });
      }
      return where;
    };
    expect(await count(200)).toEqual({ '127.0.0.1:7002': 200 });
    // The backup full (2 connections × 2): the standby primary takes what it cannot.
    const gates = Array.from({ length: 5 }, () => gate());
    const where: string[] = [];
    const held = gates.map((g) => track(t.pool.dispatch((conn: FakeConn) => {
      where.push(endpointOf(conn));
      return g.promise;
    })));
    await drain();
    expect(where.sort()).toEqual(['127.0.0.1:7001', '127.0.0.1:7002', '127.0.0.1:7002', '127.0.0.1:7002', '127.0.0.1:7002']);
    for (const g of gates) g.resolve('ok');
    await drain();
    expect(held.every((h) => h.value === 'ok')).toBe(true);
    // Stable for failbackAfterMs: traffic returns to the primary, with room there.
    await t.clock.advance(1000);
    expect(t.pool.health().activePriority).toBe(0);
    t.source.readyAll(); // min refilled on the primary
    await drain();
    expect(await count(200)).toEqual({ '127.0.0.1:7001': 200 });
    await t.pool.close();
  });
});
