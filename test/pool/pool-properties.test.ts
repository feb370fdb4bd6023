/**
 * Property test: random sequences of acquire / release / destroy / abort / dial results /
 * connection deaths / time keep the pool's invariants, whatever the options.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LeaseLostError, LeaseReleasedError } from '../../src/errors.js';
import type { Lease } from '../../src/pool/lease.js';
import type { FakeConn } from './helpers/fake-source.js';
import { makePool, track } from './helpers/make-pool.js';
import { drain } from './helpers/virtual-clock.js';

const optionsArb = fc
  .record({
    max: fc.integer({ min: 1, max: 5 }),
    minRatio: fc.double({ min: 0, max: 1, noNaN: true }),
    maxWaiting: fc.oneof(fc.constant(Infinity), fc.integer({ min: 0, max: 6 })),
    acquireTimeoutMs: fc.integer({ min: 1, max: 400 }),
    idleTimeoutMs: fc.constantFrom(0, 150, 600),
    maxLifetimeMs: fc.constantFrom(0, 300, 1000),
    validateAfterIdleMs: fc.constantFrom(0, 50),
    resetOnRelease: fc.boolean(),
    leak: fc.constantFrom('off', 'warn', 'reclaim'),
    endpoints: fc.integer({ min: 1, max: 3 }),
    probe: fc.constantFrom('ok', 'fail'),
    reset: fc.constantFrom('ok', 'fail'),
    // Endpoint health with thresholds low enough for these short sequences to trip them.
    breaker: fc.boolean(),
    ejection: fc.boolean(),
  })
  .map((o) => ({
    pool: {
      max: o.max,
      min: Math.floor(o.minRatio * o.max),
      maxWaiting: o.maxWaiting,
      acquireTimeoutMs: o.acquireTimeoutMs,
      idleTimeoutMs: o.idleTimeoutMs,
      maxLifetimeMs: o.maxLifetimeMs,
      validateAfterIdleMs: o.validateAfterIdleMs,
      resetOnRelease: o.resetOnRelease,
      leakDetectionMs: o.leak === 'off' ? 0 : 200,
      reclaimLeaked: o.leak === 'reclaim',
      housekeepingIntervalMs: 50,
      closeTimeoutMs: 500,
      endpoints: Array.from({ length: o.endpoints }, (_, i) => ({ host: `h${i}`, port: 1, priority: i % 2 })),
      breaker: o.breaker && {
        minimumNumberOfCalls: 2, slidingWindowSize: 4, waitDurationInOpenStateMs: 100, permittedNumberOfCallsInHalfOpenState: 2,
        maxWaitDurationInHalfOpenStateMs: 200,
      },
      outlierDetection: o.ejection && { consecutiveGatewayFailure: 2, baseEjectionTimeMs: 100, maxEjectionTimeMs: 400, maxEjectionPercent: 50 },
    },
    source: { probe: o.probe, reset: o.reset } as const,
  }));

const commandArb = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant('acquire' as const), timeoutMs: fc.option(fc.integer({ min: 1, max: 300 }), { nil: undefined }), signal: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('release' as const), i: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('destroy' as const), i: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('abort' as const), i: fc.nat() }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('ready' as const), i: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('failDial' as const), i: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('die' as const), i: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('giveUp' as const), i: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('stale' as const), i: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 250 }) }) },
);

const pick = <T>(xs: readonly T[], i: number): T | undefined => (xs.length === 0 ? undefined : xs[i % xs.length]);

describe('pool invariants (fast-check)', () => {
  it('hold under random operation sequences', async () => {
    await fc.assert(
      fc.asyncProperty(optionsArb, fc.array(commandArb, { minLength: 20, maxLength: 100 }), async (config, commands) => {
        const t = makePool(config.pool, config.source);
        const { pool, source, clock } = t;
        const acquires: ReturnType<typeof track<Lease<FakeConn>>>[] = [];
        const controllers: AbortController[] = [];
        const ended: Lease<FakeConn>[] = [];
        const held = () => acquires.map((a) => a.value).filter((l): l is Lease<FakeConn> => l !== undefined && l.active);

        const check = () => {
          const s = pool.stats();
          const max = config.pool.max;
          expect(s.open + s.pending).toBeLessThanOrEqual(max);
          expect(s.leased + s.idle + s.pending).toBeLessThanOrEqual(max);
          expect(s.open).toBeGreaterThanOrEqual(s.leased + s.idle);
          expect(s.waiting).toBeLessThanOrEqual(config.pool.maxWaiting);
          // Nobody waits while a connection that may serve rests idle: an idle one beside a
          // queue is on an endpoint that takes no call now (ejected, breaker open or its
          // half-open trials taken).
          if (s.waiting > 0) {
            for (const e of Object.values(s.endpoints)) {
              if (e.idle > 0) expect(e.outlier === 'ejected' || e.breaker === 'open' || e.breaker === 'half-open').toBe(true);
            }
          }
          const leases = held();
          expect(s.leased).toBe(leases.length);
          const ids = leases.map((l) => l.connectionId);
          expect(new Set(ids).size).toBe(ids.length); // no connection leased twice
          const conns = leases.map((l) => l.conn);
          expect(new Set(conns).size).toBe(conns.length);
          for (const key of ['open', 'leased', 'idle', 'pending'] as const) {
            expect(Object.values(s.endpoints).reduce((n, e) => n + e[key], 0)).toBe(s[key]);
          }
          // The counts are kept incrementally by one method (SlotTable.move): recounted from
          // the slots' states, they must agree.
          const live = source.opened.filter((slot) => slot.state !== 'closing');
          const count = (...states: string[]) => live.filter((slot) => states.includes(slot.state)).length;
          expect([s.idle, s.leased, s.pending, s.open]).toEqual([
            count('idle'), count('leased'), count('pending'), count('idle', 'leased', 'probing', 'resetting'),
          ]);
          for (const slot of live) expect(slot.conn === undefined).toBe(slot.state === 'pending');
          const fulfilled = acquires.filter((a) => a.value !== undefined).length;
          expect(s.acquired).toBe(fulfilled);
          expect(s.timeouts).toBeLessThanOrEqual(s.waitCount);
          expect(acquires.filter((a) => (a.error as Error | undefined)?.name === 'PoolTimeoutError').length).toBe(s.timeouts);
          for (const a of acquires) expect(a.settled).toBeLessThanOrEqual(1);
        };

        for (const c of commands) {
          switch (c.t) {
            case 'acquire': {
              const ac = c.signal ? new AbortController() : undefined;
              if (ac) controllers.push(ac);
              const opts = c.timeoutMs === undefined && !ac ? undefined : { timeoutMs: c.timeoutMs, signal: ac?.signal };
              acquires.push(track(pool.acquire(opts)));
              break;
            }
            case 'release':
            case 'destroy': {
              const lease = pick(held(), c.i);
              if (!lease) break;
              if (c.t === 'release') lease.release();
              else lease.destroy(new Error('test'));
              ended.push(lease);
              break;
            }
            case 'stale': {
              const lease = pick(ended, c.i);
              if (!lease) break;
              expect(() => lease.release()).toThrow(LeaseReleasedError);
              expect(() => lease.conn).toThrow(/WW_LEASE|lease of connection/);
              break;
            }
            case 'abort':
              pick(controllers, c.i)?.abort();
              break;
            case 'ready': {
              const slot = pick([...source.waitingReady].filter((s) => s.state === 'pending'), c.i);
              if (slot) source.ready(slot);
              break;
            }
            case 'failDial': {
              const slot = pick([...source.waitingReady].filter((s) => s.state === 'pending'), c.i);
              if (slot) source.failDial(slot);
              break;
            }
            case 'die': {
              const slot = pick(source.opened.filter((s) => s.ready), c.i);
              if (slot) source.die(slot);
              break;
            }
            case 'giveUp': {
              const slot = pick(source.opened.filter((s) => s.state !== 'closing'), c.i);
              if (slot) {
                source.waitingReady.delete(slot);
                source.sink.onClosed(slot, new Error('gave up'));
              }
              break;
            }
            case 'advance':
              await clock.advance(c.ms, 25);
              break;
          }
          await drain();
          check();
        }
        // lost leases: the first release acknowledges, the next throws
        for (const a of acquires) {
          const lease = a.value;
          if (lease && !lease.active && !ended.includes(lease)) {
            try {
              lease.conn;
            } catch (err) {
              if (err instanceof LeaseLostError) {
                lease.release();
                expect(() => lease.release()).toThrow(LeaseReleasedError);
              }
            }
          }
        }
        // every waiter settles exactly once; close leaves nothing behind
        const closing = track(pool.close());
        await clock.advance(config.pool.closeTimeoutMs, 25);
        expect(closing.settled).toBe(1);
        for (const a of acquires) expect(a.settled).toBe(1);
        expect(clock.pendingActions).toBe(0);
        expect(pool.stats()).toMatchObject({ open: 0, pending: 0, leased: 0, idle: 0, waiting: 0 });
      }),
      { numRuns: 200 },
    );
  }, 20_000);
});
