/**
 * Property test: random mixes of dispatches, acquires, releases, settles, aborts, dial
 * results, deaths and time keep the invariants of a pool shared by dispatch and leases.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConnectionClosedError } from '../../src/errors.js';
import type { Lease } from '../../src/pool/lease.js';
import type { FakeConn } from './helpers/fake-source.js';
import { gate, makePool, shareableProtocol, track } from './helpers/make-pool.js';
import { drain } from './helpers/virtual-clock.js';

const optionsArb = fc.record({
  max: fc.integer({ min: 1, max: 4 }),
  min: fc.integer({ min: 0, max: 2 }),
  limit: fc.integer({ min: 1, max: 3 }),
  maxWaiting: fc.oneof(fc.constant(Infinity), fc.integer({ min: 0, max: 5 })),
  acquireTimeoutMs: fc.integer({ min: 1, max: 300 }),
  endpoints: fc.integer({ min: 1, max: 2 }),
  balance: fc.constantFrom('p2c-peak-ewma', 'least-connections', 'round-robin'),
});

const commandArb = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant('dispatch' as const), signal: fc.boolean(), timeoutMs: fc.option(fc.integer({ min: 1, max: 200 }), { nil: undefined }) }) },
  { weight: 5, arbitrary: fc.record({ t: fc.constant('settle' as const), i: fc.nat(), ok: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('acquire' as const) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('release' as const), i: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('abort' as const), i: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('ready' as const), i: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('failDial' as const), i: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('die' as const), i: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('suspect' as const), i: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 150 }) }) },
);

const pick = <T>(xs: readonly T[], i: number): T | undefined => (xs.length === 0 ? undefined : xs[i % xs.length]);

interface Running {
  readonly conn: FakeConn;
  readonly resolve: (v: string) => void;
  readonly reject: (e: unknown) => void;
}

describe('shared dispatch invariants (fast-check)', () => {
  it('hold under random mixes of dispatches and leases', async () => {
    await fc.assert(
      fc.asyncProperty(optionsArb, fc.array(commandArb, { minLength: 20, maxLength: 120 }), async (o, commands) => {
        const { pool, source, clock } = makePool({
          protocol: shareableProtocol(o.limit),
          max: o.max, min: Math.min(o.min, o.max), maxWaiting: o.maxWaiting, acquireTimeoutMs: o.acquireTimeoutMs,
          balance: o.balance, maxLifetimeMs: 0, housekeepingIntervalMs: 50, closeTimeoutMs: 300,
          endpoints: Array.from({ length: o.endpoints }, (_, i) => ({ host: `h${i}`, port: 1, weight: i + 1 })),
        });
        const running = new Set<Running>();
        const dispatches: ReturnType<typeof track<string>>[] = [];
        const acquires: ReturnType<typeof track<Lease<FakeConn>>>[] = [];
        const controllers: AbortController[] = [];
        const held = () => acquires.map((a) => a.value).filter((l): l is Lease<FakeConn> => l !== undefined && l.active);

        const check = () => {
          const s = pool.stats();
          const live = source.opened.filter((slot) => slot.state !== 'closing');
          const count = (...states: string[]) => live.filter((slot) => states.includes(slot.state)).length;
          expect(s.open + s.pending).toBeLessThanOrEqual(o.max);
          expect([s.idle, s.leased, s.shared, s.pending]).toEqual([count('idle'), count('leased'), count('shared'), count('pending')]);
          expect(s.open).toBe(count('idle', 'leased', 'shared', 'probing', 'resetting'));
          // in flight: one owner, and the sums agree
          expect(s.inFlight).toBe(live.reduce((n, slot) => n + slot.inFlight, 0));
          expect(Object.values(s.endpoints).reduce((n, e) => n + e.inFlight, 0)).toBe(s.inFlight);
          for (const slot of live) {
            if (slot.state === 'shared') {
              expect(slot.inFlight).toBeGreaterThan(0);
              expect(slot.inFlight).toBeLessThanOrEqual(o.limit);
            } else {
              expect(slot.inFlight).toBe(0);
              expect(slot.draining).toBe(false);
            }
            // what actually runs on the slot's current connection stays within the limit …
            const bodies = [...running].filter((r) => r.conn === slot.conn).length;
            expect(bodies).toBeLessThanOrEqual(o.limit);
            // … and a leased or idle connection carries none
            if (slot.state !== 'shared') expect(bodies).toBe(0);
          }
          expect(s.dispatch.waiting).toBeLessThanOrEqual(o.maxWaiting);
          expect(s.waiting).toBeLessThanOrEqual(o.maxWaiting);
          // nobody queues while a connection could take them
          if (s.dispatch.waiting > 0) {
            for (const slot of live) if (slot.state === 'idle') expect(slot.suspect).toBe(true);
          }
          if (s.waiting > 0) for (const slot of live) if (slot.state === 'idle') expect(slot.suspect).toBe(true);
          expect(s.leased).toBe(held().length);
          for (const d of dispatches) expect(d.settled).toBeLessThanOrEqual(1);
        };

        for (const c of commands) {
          switch (c.t) {
            case 'dispatch': {
              const ac = c.signal ? new AbortController() : undefined;
              if (ac) controllers.push(ac);
              const opts = c.timeoutMs === undefined && !ac ? undefined : { timeoutMs: c.timeoutMs, signal: ac?.signal };
              dispatches.push(track(pool.dispatch((conn) => {
                const g = gate();
                const r: Running = { conn, resolve: g.resolve, reject: g.reject };
                running.add(r);
                return g.promise.finally(() => running.delete(r));
              }, opts)));
              break;
            }
            case 'settle': {
              const r = pick([...running], c.i);
              if (r) (c.ok ? r.resolve('ok') : r.reject(new Error('failed')));
              break;
            }
            case 'acquire':
              acquires.push(track(pool.acquire()));
              break;
            case 'release':
              pick(held(), c.i)?.release();
              break;
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
              if (!slot) break;
              const conn = slot.conn;
              source.die(slot);
              // The session fails what was in flight on it.
              for (const r of running) if (r.conn === conn) r.reject(new ConnectionClosedError('connection closed'));
              break;
            }
            case 'suspect': {
              const slot = pick(source.opened.filter((s) => s.ready), c.i);
              if (!slot) break;
              slot.suspect = !slot.suspect;
              if (!slot.suspect) source.sink.onRecovered!(slot);
              break;
            }
            case 'advance':
              await clock.advance(c.ms, 25);
              break;
          }
          await drain();
          check();
        }
        // close: queued callers fail, running ones finish, nothing is left behind
        for (const slot of source.opened) if (slot.suspect) {
          slot.suspect = false;
          source.sink.onRecovered!(slot);
        }
        const closing = track(pool.close());
        await drain();
        for (const r of running) r.resolve('late');
        for (const l of held()) l.release();
        await clock.advance(400, 25);
        expect(closing.settled).toBe(1);
        for (const d of dispatches) expect(d.settled).toBe(1);
        for (const a of acquires) expect(a.settled).toBe(1);
        expect(clock.pendingActions).toBe(0);
        expect(pool.stats()).toMatchObject({ open: 0, pending: 0, shared: 0, inFlight: 0, dispatch: { waiting: 0 } });
      }),
      { numRuns: 200 },
    );
  }, 30_000);
});
