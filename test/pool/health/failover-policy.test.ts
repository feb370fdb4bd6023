/**
 * Failover and failback between priority groups in virtual time: traffic leaves a group
 * that cannot serve at once, returns after failbackAfterMs of unbroken health, and a
 * flapping primary cannot bounce it.
 */
import { describe, expect, it } from 'vitest';
import { scheduleOnce } from '../../../src/scheduler.js';
import { FailoverPolicy, failoverDefaults, parseFailoverOptions, type PriorityMove } from '../../../src/pool/health/failover-policy.js';
import { VirtualTime } from './virtual-time.js';

/** The pool's part: evaluate on every health change and at nextEvaluationAt(). */
function harness(input: Record<string, unknown> = {}, priorities = [0, 1]) {
  const time = new VirtualTime();
  const policy = new FailoverPolicy(parseFailoverOptions(input), priorities, 0);
  const up = new Map(priorities.map((p) => [p, true]));
  const moves: PriorityMove[] = [];
  let cancel = (): void => {};
  const evaluate = () => {
    const move = policy.evaluate(time.now(), (p) => up.get(p)!);
    if (move) moves.push(move);
    cancel();
    const at = policy.nextEvaluationAt();
    if (at !== undefined) cancel = scheduleOnce(time.scheduler, at - time.now(), evaluate);
  };
  evaluate();
  /** Schedules a health change of `priority` at absolute time `at`. */
  const setAt = (at: number, priority: number, serving: boolean) =>
    time.scheduler.schedule(() => { up.set(priority, serving); evaluate(); }, at - time.now());
  /** `priority` cannot serve for downMs every periodMs, from `from` until `until`. */
  const flap = (priority: number, from: number, until: number, periodMs: number, downMs: number) => {
    for (let t = from; t < until; t += periodMs) {
      setAt(t, priority, false);
      setAt(t + downMs, priority, true);
    }
  };
  return { time, policy, moves, setAt, flap, stop: () => cancel() };
}

describe('failover policy', () => {
  it('fails over at once when the active group cannot serve, and back after failbackAfterMs of health', () => {
    const { time, policy, moves, setAt } = harness({ failbackAfterMs: 30_000 });
    setAt(10_000, 0, false);
    setAt(15_000, 0, true);
    time.advance(44_999);
    expect(policy.active).toBe(1);
    time.advance(1);
    expect(policy.active).toBe(0);
    expect(moves).toEqual([
      { type: 'failover', from: 0, to: 1, at: 10_000, reason: 'unavailable' },
      { type: 'failback', from: 1, to: 0, at: 45_000, reason: 'stable', stableForMs: 30_000, requiredStableMs: 30_000 },
    ]);
  });

  it('a break in health starts the stable time over', () => {
    const { time, policy, setAt } = harness({ failbackAfterMs: 30_000 });
    setAt(10_000, 0, false);
    setAt(15_000, 0, true);
    setAt(40_000, 0, false);
    setAt(41_000, 0, true);
    time.advance(70_999);
    expect(policy.active).toBe(1);
    time.advance(1);
    expect(policy.active).toBe(0);
  });

  it('a primary flapping faster than failbackAfterMs never gets traffic back while it flaps', () => {
    const { time, policy, moves, flap } = harness({ failbackAfterMs: 30_000 });
    flap(0, 10_000, 600_000, 20_000, 1000); // down 1 s every 20 s for ten minutes
    time.advance(600_000);
    expect(moves.map((m) => m.type)).toEqual(['failover']);
    time.advance(30_000); // stable again: traffic returns after failbackAfterMs
    expect(policy.active).toBe(0);
    expect(moves.map((m) => [m.type, m.at])).toEqual([['failover', 10_000], ['failback', 621_000]]);
  });

  it('a primary flapping slower than failbackAfterMs: each failover doubles the stable time asked, so traffic stops bouncing', () => {
    const damped = harness({ failbackAfterMs: 30_000, maxFailbackAfterMs: 300_000 });
    damped.flap(0, 10_000, 600_000, 42_000, 2000); // down 2 s, then up 40 s, for ten minutes
    damped.time.advance(600_000);
    expect(damped.moves.map((m) => m.type)).toEqual(['failover', 'failback', 'failover']);
    expect(damped.policy.requiredStableMs(0)).toBe(60_000);
    // Without the growth (cap = start) the same primary bounces traffic on every flap.
    const undamped = harness({ failbackAfterMs: 30_000, maxFailbackAfterMs: 30_000 });
    undamped.flap(0, 10_000, 600_000, 42_000, 2000);
    undamped.time.advance(600_000);
    expect(undamped.moves.length).toBeGreaterThanOrEqual(26);
  });

  it('the stable time asked grows to maxFailbackAfterMs, and a group that then carries traffic that long is forgiven', () => {
    const { time, policy, setAt, moves } = harness({ failbackAfterMs: 10_000, maxFailbackAfterMs: 40_000 });
    let t = 0;
    for (const required of [10_000, 20_000, 40_000, 40_000]) {
      setAt(t += 1000, 0, false);
      setAt(t += 1000, 0, true);
      time.advanceTo(t += required);
      expect(policy.active, `after ${required}`).toBe(0);
    }
    expect(moves.filter((m) => m.type === 'failback').map((m) => m.type === 'failback' && m.requiredStableMs)).toEqual([10_000, 20_000, 40_000, 40_000]);
    time.advance(40_000); // carried traffic for maxFailbackAfterMs: forgiven
    t = time.now();
    setAt(t + 1000, 0, false);
    setAt(t + 2000, 0, true);
    time.advance(12_000);
    expect(moves.at(-1)).toMatchObject({ type: 'failback', requiredStableMs: 10_000 });
  });

  it('moves to the most preferred group that can serve; stays when none can', () => {
    const { time, policy, setAt, moves } = harness({ failbackAfterMs: 5000 }, [2, 0, 1]);
    setAt(500, 1, false);
    setAt(1000, 0, false);
    time.advance(1000);
    expect(policy.active).toBe(2);
    setAt(2000, 2, false);
    time.advance(1000);
    expect(policy.active).toBe(2); // nowhere to go
    setAt(3000, 1, true);
    time.advance(1000);
    expect(moves.map((m) => [m.type, m.from, m.to, m.at])).toEqual([['failover', 0, 2, 1000], ['failover', 2, 1, 3000]]);
  });

  it('validates its options and its groups', () => {
    expect(parseFailoverOptions(undefined)).toEqual(failoverDefaults);
    expect(() => parseFailoverOptions({ failbackAfterMs: 60_000, maxFailbackAfterMs: 1000 }, 'pool.failover'))
      .toThrow('pool.failover.maxFailbackAfterMs must be >= pool.failover.failbackAfterMs (60000), got 1000');
    expect(() => new FailoverPolicy(failoverDefaults, [], 0)).toThrow('failover needs at least one priority group, got none');
  });
});
