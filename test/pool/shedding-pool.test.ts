/**
 * Queue-delay load shedding wired into the pool (issue 14), in virtual time: a pool of two
 * connections, each acquire holding its connection 20 ms (capacity 100/s), offered 200/s for
 * 30 s of virtual time. With `shedding` the waits of the acquires it admits stay near twice the target and
 * the rest are refused at once with `WW_POOL_OVERLOADED`; without it, waits grow with the
 * queue. The same run for both.
 */
import { describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors.js';
import type { PoolEvent } from '../../src/pool/pool-events.js';
import { makePool, shareableProtocol } from './helpers/make-pool.js';

interface Run {
  waits: number[];
  overloaded: number;
  other: number;
  events: PoolEvent[];
  health: { shedding?: boolean }[];
  shed: number;
}

async function overload(shedding: unknown, what: 'acquire' | 'dispatch' = 'acquire', seconds = 30): Promise<Run> {
  const t = makePool({
    max: 2, min: 2, acquireTimeoutMs: 60_000, shedding, ...(what === 'dispatch' ? { protocol: shareableProtocol(1) } : {}),
  }, { autoReady: true });
  const run: Run = { waits: [], overloaded: 0, other: 0, events: [], health: [], shed: 0 };
  t.pool.events$.subscribe((e) => run.events.push(e));
  const s = t.clock.scheduler;
  for (let i = 0; i < seconds * 200; i++) {
    s.schedule(() => {
      const start = s.now();
      const done = what === 'acquire'
        ? t.pool.acquire().then((lease) => {
          run.waits.push(s.now() - start);
          s.schedule(() => lease.release(), 20);
        })
        : t.pool.dispatch(() => new Promise<void>((resolve) => {
          run.waits.push(s.now() - start);
          s.schedule(() => resolve(), 20);
        }));
      // Waiters still queued when the pool closes after the run fail with WW_POOL_CLOSED.
      done.catch((err: unknown) => (hasCode(err, 'WW_POOL_OVERLOADED') ? run.overloaded++ : hasCode(err, 'WW_POOL_CLOSED') ? 0 : run.other++));
    }, i * 5);
  }
  for (let ms = 0; ms < seconds * 1000; ms += 500) {
    await t.clock.advance(500, 5);
    run.health.push(t.pool.health());
  }
  run.shed = t.pool.stats().shed;
  void t.pool.close();
  await t.clock.advance(5000, 50);
  return run;
}

const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)]!;

describe('load shedding through the pool', () => {
  it('keeps the admitted acquires\' p99 wait within twice the target and refuses the rest at once; without it waits grow', async () => {
    const shed = await overload({ queueTargetMs: 50, queueIntervalMs: 250 });
    const queued = await overload(false);
    expect(queued.overloaded).toBe(0);
    expect(p99(queued.waits)).toBeGreaterThan(1000); // the queue only grows
    expect(queued.waits.at(-1)!).toBeGreaterThan(queued.waits[50]!);

    expect(p99(shed.waits)).toBeLessThanOrEqual(2 * 50 + 10); // + one waiter tick (target / 5)
    expect(shed.overloaded).toBeGreaterThan(100);
    expect(shed.overloaded).toBe(shed.shed);
    expect(shed.other).toBe(0);
    expect(shed.waits.length).toBeGreaterThanOrEqual(2900); // the connections stayed busy: ~ capacity × 30 s
    const modes = shed.events.flatMap((e) => (e.type === 'shedding' ? [e.active] : []));
    expect(modes[0]).toBe(true);
    expect(shed.events.find((e) => e.type === 'shedding')!.at).toBeLessThanOrEqual(50 + 250 + 100);
    expect(shed.health.some((h) => h.shedding === true)).toBe(true);
    expect(queued.health.every((h) => h.shedding === undefined)).toBe(true);
  });

  it('sheds queued dispatches the same way', async () => {
    const shed = await overload(true, 'dispatch', 10);
    // 10 s: the first interval's waits (before a standing queue is detected) are 1.5 % of
    // them, so the bound is read after it.
    expect(p99(shed.waits.slice(100))).toBeLessThanOrEqual(2 * 50 + 10);
    expect(shed.overloaded).toBeGreaterThan(100);
    expect(shed.other).toBe(0);
  });
});
