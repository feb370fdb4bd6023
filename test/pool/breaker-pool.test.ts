/**
 * The circuit breaker wired into the pool (issue 14), in virtual time: through
 * `rt.createPool` over the in-memory network (real supervisor and connection actors), and
 * through the core over a fake source where a test needs to script each outcome.
 */
import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import type { InspectionEvent } from 'xstate';
import { createPrometheusMetrics } from '../../src/observe/prometheus.js';
import {
  CircuitOpenError, ConnectionClosedError, DialRefusedError, HandshakeRefusedError, InvalidOptionError, RemoteError, RequestTimeoutError, hasCode,
} from '../../src/errors.js';
import type { PoolEvent } from '../../src/pool/pool-events.js';
import { createPoolCore } from '../../src/pool/pool-core.js';
import { FakeSource, type FakeConn } from './helpers/fake-source.js';
import { gate, makePool, protocol, shareableProtocol, track } from './helpers/make-pool.js';
import { A, shutdown, supervisedPool } from './helpers/supervised-pool.js';
import { drain, VirtualClock } from './helpers/virtual-clock.js';

const breaker = { waitDurationInOpenStateMs: 1000, randomizationFactor: 0, maxWaitDurationInHalfOpenStateMs: 2000 };

const breakerEvents = (events: readonly { type: string }[]) =>
  events.flatMap((e) => {
    const ev = (e as { event?: PoolEvent }).event ?? (e as PoolEvent);
    return ev.type === 'breaker' ? [`${ev.from}->${ev.to}`] : [];
  });

describe('the breaker through rt.createPool (virtual time)', () => {
  it('opens on deaths and failed redials; then acquires fail at once with the last failure as cause, no dial is made, and service resumes by itself', async () => {
    const t = supervisedPool({ breaker, min: 2, max: 4, acquireTimeoutMs: 5000 });
    await t.clock.advance(50);
    expect(t.pool.stats()).toMatchObject({ open: 2 });
    t.net.setDown(A); // both connections die; every redial is refused
    await t.clock.advance(400, 10);
    expect(breakerEvents(t.events)).toEqual(['closed->open']);
    const h = t.pool.health();
    expect(h).toMatchObject({ ready: false, reason: 'circuit-open' });
    expect(h.endpoints[0]!.breaker).toBe('open');
    expect(t.pool.stats().endpoints[A]!.breaker).toBe('open');
    expect(t.pool.stats()).toMatchObject({ pending: 0 }); // no slot dials an open endpoint

    const at = t.clock.now();
    const w = track(t.pool.acquire());
    await drain();
    expect(t.clock.now()).toBe(at); // at once, not after acquireTimeoutMs
    expect(w.error).toBeInstanceOf(CircuitOpenError);
    expect(hasCode(w.error, 'WW_CIRCUIT_OPEN')).toBe(true);
    expect((w.error as Error).message).toMatch(/^acquire failed at once: circuit open for 10\.0\.0\.1:7000: failure rate \d+ % over \d+ calls >= 50 %; trial calls in \d+ ms$/);
    expect((w.error as Error).cause).toBeInstanceOf(DialRefusedError);
    expect(t.pool.stats().circuitOpen).toBe(1);

    const dials = t.net.dials.length;
    await t.clock.advance(500, 10);
    expect(t.net.dials.length).toBe(dials); // open: no dial at all

    t.net.setUp(A); // back; the half-open breaker's trial dial finds it by itself
    await t.clock.advance(600, 10);
    expect(breakerEvents(t.events)).toEqual(['closed->open', 'open->half-open']);
    expect(t.pool.stats().open).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < 3; i++) expect(await t.pool.use((c) => c.request(i))).toBe(i); // trial calls
    expect(breakerEvents(t.events)).toEqual(['closed->open', 'open->half-open', 'half-open->closed']);
    await t.clock.advance(200, 10);
    expect(t.pool.health()).toMatchObject({ ready: true });
    expect(t.pool.stats()).toMatchObject({ open: 2 }); // min again
    await shutdown(t);
    expect(t.clock.pendingActions).toBe(0);
  });

  it('rejects an acquire queued during the outage when the breaker opens, long before acquireTimeoutMs', async () => {
    const t = supervisedPool({ breaker, max: 2, acquireTimeoutMs: 10_000 }, []);
    const w = track(t.pool.acquire());
    await t.clock.advance(2000, 10);
    expect(w.error).toBeInstanceOf(CircuitOpenError);
    // Five refused dials 100 ms apart opened it.
    const opened = t.events.find((e) => e.type === 'pool' && e.event.type === 'breaker');
    expect(opened?.at).toBeLessThanOrEqual(500);
    await shutdown(t);
  });

  it('fails fast while the half-open trial dial is in flight, and reopens for longer when it fails', async () => {
    const t = supervisedPool({ breaker, max: 2, acquireTimeoutMs: 10_000 }, []);
    track(t.pool.acquire());
    await t.clock.advance(1200, 10); // open at ~400, half-open at ~1400
    await t.clock.advance(500, 10); // the trial dial and its retries are refused: three failed trials
    const open = t.events.flatMap((e) => (e.type === 'pool' && e.event.type === 'breaker' ? [e.event] : []));
    expect(open.map((e) => `${e.from}->${e.to}`)).toEqual(['closed->open', 'open->half-open', 'half-open->open']);
    // The trials failed (the endpoint is still down): the second open waits twice as long.
    expect(open[2]).toMatchObject({ reason: 'trials-failed', openForMs: 2000, consecutiveOpens: 2 });
    const w = track(t.pool.acquire());
    await drain();
    expect(hasCode(w.error, 'WW_CIRCUIT_OPEN')).toBe(true);
    await shutdown(t);
  });

  it('feeds the Prometheus breaker-state gauge', async () => {
    const t = supervisedPool({ breaker, min: 1, max: 1 });
    const register = new Registry();
    const metrics = createPrometheusMetrics(t.rt, { register });
    await t.clock.advance(50);
    const gauge = async (state: string) => {
      const line = (await register.metrics()).split('\n').find((l) => l.startsWith('wirewarden_pool_breaker_state{') && l.includes(`state="${state}"`));
      return line?.split(' ').at(-1);
    };
    expect(await gauge('closed')).toBe('1');
    t.net.setDown(A);
    await t.clock.advance(1000, 10);
    expect([await gauge('open'), await gauge('closed')]).toEqual(['1', '0']);
    metrics.close();
    await shutdown(t);
  });

  it('shows its breaker actors to the runtime\'s inspector', async () => {
    const t = supervisedPool({ breaker, min: 1, max: 1 });
    const seen: InspectionEvent[] = [];
    t.rt.inspect((e) => seen.push(e));
    await t.clock.advance(50);
    t.net.setDown(A);
    await t.clock.advance(1000, 10);
    const id = `${t.pool.id}/breaker:${A}`;
    const idOf = (e: InspectionEvent) => (e.actorRef as { id?: string }).id;
    const snapshots = seen.filter((e) => e.type === '@xstate.snapshot' && idOf(e) === id);
    expect(snapshots.map((e) => (e as unknown as { snapshot: { value: unknown } }).snapshot.value)).toContain('open');
    expect(seen.find((e) => idOf(e) === id)?.rootId).toBe(t.rt.root.sessionId);
    await shutdown(t);
  });
});

describe('what feeds the breaker (pool core, scripted outcomes)', () => {
  const rules = { minimumNumberOfCalls: 4, slidingWindowSize: 4, waitDurationInOpenStateMs: 1000, randomizationFactor: 0 };

  it('use(): server faults count; the caller\'s own errors and error replies about the request do not', async () => {
    const t = makePool({ breaker: rules, max: 1 }, { autoReady: true });
    const fail = (error: Error) => t.pool.use(() => Promise.reject(error)).catch(() => {});
    for (let i = 0; i < 10; i++) await fail(new Error('a bug in the caller'));
    for (let i = 0; i < 10; i++) await fail(new RemoteError('WRONGTYPE Operation against a key holding the wrong kind of value'));
    expect(t.pool.stats().endpoints['127.0.0.1:7000']!.breaker).toBe('closed');
    await t.pool.use(() => 'ok');
    await t.pool.use(() => 'ok');
    await fail(new RemoteError('LOADING Redis is loading the dataset in memory', { retryable: true }));
    expect(t.pool.stats().endpoints['127.0.0.1:7000']!.breaker).toBe('closed'); // 1 of 4
    await fail(new RequestTimeoutError('request timed out after 100 ms'));
    expect(t.pool.stats().endpoints['127.0.0.1:7000']!.breaker).toBe('open'); // 2 of the last 4: 50 %
    const err = await t.pool.acquire().catch((e: unknown) => e);
    expect(hasCode(err, 'WW_CIRCUIT_OPEN')).toBe(true);
    expect((err as Error).cause).toBeInstanceOf(RequestTimeoutError);
  });

  it('a slow use() counts as a slow call', async () => {
    const t = makePool({ breaker: { ...rules, slowCallDurationThresholdMs: 500, failureRateThreshold: 100 }, max: 1, housekeepingIntervalMs: 50 }, { autoReady: true });
    for (let i = 0; i < 4; i++) {
      const done = gate();
      const call = t.pool.use(() => done.promise);
      await drain();
      await t.clock.advance(600, 50);
      done.resolve('late');
      await call;
    }
    const s = t.pool.stats().endpoints['127.0.0.1:7000']!;
    expect(s.breaker).toBe('open');
  });

  it('dispatch: failures count, a connection death counts once however many dispatches it failed, and an open breaker fails dispatches at once', async () => {
    const t = makePool({ protocol: shareableProtocol(50), breaker: rules, max: 1 }, { autoReady: true });
    const runs: ReturnType<typeof gate<unknown>>[] = [];
    const settled = Array.from({ length: 40 }, () => track(t.pool.dispatch(() => {
      const g = gate<unknown>();
      runs.push(g);
      return g.promise;
    })));
    await drain();
    expect(runs).toHaveLength(40);
    // The connection dies: its session fails every dispatch on it with WW_CONNECTION_CLOSED.
    t.source.die(t.source.opened[0]!);
    for (const g of runs) g.reject(new ConnectionClosedError('127.0.0.1:7000 closed the connection'));
    await drain();
    expect(settled.every((s) => s.settled === 1)).toBe(true);
    expect(t.pool.stats().endpoints['127.0.0.1:7000']!.breaker).toBe('closed'); // one failure (the death), not 41
    await drain(); // replaced
    for (let i = 0; i < 3; i++) await t.pool.dispatch(() => Promise.reject(new RequestTimeoutError('timed out'))).catch(() => {});
    expect(t.pool.stats().endpoints['127.0.0.1:7000']!.breaker).toBe('open');
    const err = await t.pool.dispatch(() => 'never runs').catch((e: unknown) => e);
    expect(hasCode(err, 'WW_CIRCUIT_OPEN')).toBe(true);
    expect((err as Error).message).toMatch(/^dispatch failed at once: circuit open/);
  });

  it('sends the breaker\'s machine no event per call: 5000 uses and dispatches, then only the state changes', async () => {
    const clock = new VirtualClock();
    const source = new FakeSource({ autoReady: true });
    const events: InspectionEvent[] = [];
    const pool = createPoolCore<FakeConn>({
      options: { endpoints: [{ host: '127.0.0.1', port: 7000 }], protocol: shareableProtocol(8), breaker: rules, max: 2 },
      source: source.factory, scheduler: clock.scheduler, inspect: (e) => events.push(e),
    });
    for (let i = 0; i < 2500; i++) {
      await pool.use(() => i);
      await pool.dispatch(() => i);
    }
    const sent = () => events.flatMap((e) => (e.type === '@xstate.event' ? [(e as { event: { type: string } }).event.type] : []));
    expect(sent()).toEqual(['xstate.init']);
    for (let i = 0; i < 4; i++) await pool.use(() => Promise.reject(new RequestTimeoutError('timed out'))).catch(() => {});
    expect(sent()).toEqual(['xstate.init', 'breaker.trip']);
    const closing = track(pool.close());
    await clock.advance(100);
    expect(closing.settled).toBe(1);
    expect(clock.pendingActions).toBe(0); // the open breaker's timer went with the pool
  });

  it('a refused handshake is the refusal rule\'s, not the breaker\'s: acquires fail with WW_ENDPOINT_REFUSED', async () => {
    const t = makePool({ breaker: rules, max: 1 });
    const w = track(t.pool.acquire());
    for (let i = 0; i < 6; i++) {
      const slot = [...t.source.waitingReady][0];
      if (slot) t.source.failDial(slot, new HandshakeRefusedError('AUTH failed on 127.0.0.1:7000: WRONGPASS'));
    }
    await drain();
    expect(t.pool.stats().endpoints['127.0.0.1:7000']!.breaker).toBe('closed');
    expect(hasCode(w.error, 'WW_ENDPOINT_REFUSED')).toBe(true);
    const again = await t.pool.acquire().catch((e: unknown) => e);
    expect(hasCode(again, 'WW_ENDPOINT_REFUSED')).toBe(true);
    await t.pool.close();
  });
});

describe('options', () => {
  it('are validated at construction with typed errors naming the path', () => {
    const make = (extra: Record<string, unknown>) => () =>
      createPoolCore({ options: { endpoints: [{ host: 'h', port: 1 }], protocol, ...extra }, source: new FakeSource().factory });
    expect(make({ breaker: { failureRateThreshold: 0 } })).toThrow(InvalidOptionError);
    expect(make({ breaker: { failureRateThreshold: 0 } })).toThrow(/^pool\.breaker\.failureRateThreshold must be a number in \(0, 100\] \(percent\), got 0$/);
    expect(make({ breaker: { minimumNumberOfCalls: 30 } })).toThrow(/pool\.breaker\.minimumNumberOfCalls must be <= pool\.breaker\.slidingWindowSize \(20\), got 30/);
    expect(make({ breaker: 'on' })).toThrow(/^pool\.breaker must be a boolean or an options object, got "on"$/);
    expect(make({ breaker: { waitDuration: 5 } })).toThrow(/pool\.breaker/);
    expect(make({ outlierDetection: { maxEjectionPercent: 101 } })).toThrow(/pool\.outlierDetection\.maxEjectionPercent/);
    expect(make({ failover: { failbackAfterMs: 10_000, maxFailbackAfterMs: 5000 } })).toThrow(/pool\.failover\.maxFailbackAfterMs must be >= pool\.failover\.failbackAfterMs \(10000\), got 5000/);
    expect(make({ failover: true })).toThrow(/^pool\.failover must be an options object, got true$/);
    expect(make({ shedding: { queueTargetMs: 100, queueIntervalMs: 50 } })).toThrow(/pool\.shedding\.queueIntervalMs must be >= pool\.shedding\.queueTargetMs \(100\), got 50/);
  });

  it('default to: breaker and ejection off, failover on, shedding off; true turns one on with its defaults', () => {
    const core = createPoolCore({ options: { endpoints: [{ host: 'h', port: 1 }], protocol }, source: new FakeSource().factory });
    expect(core.options).toMatchObject({ breaker: false, outlierDetection: false, shedding: false, failover: { failbackAfterMs: 30_000, maxFailbackAfterMs: 300_000 } });
    const on = createPoolCore({ options: { endpoints: [{ host: 'h', port: 1 }], protocol, breaker: true, outlierDetection: true, shedding: true }, source: new FakeSource().factory });
    expect(on.options.breaker).toMatchObject({ failureRateThreshold: 50, minimumNumberOfCalls: 5, waitDurationInOpenStateMs: 5000 });
    expect(on.options.outlierDetection).toMatchObject({ consecutiveGatewayFailure: 3, maxEjectionPercent: 10 });
    expect(on.options.shedding).toEqual({ queueTargetMs: 50, queueIntervalMs: 250 });
    void core.close();
    void on.close();
  });
});
