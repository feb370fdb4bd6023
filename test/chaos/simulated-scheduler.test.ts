/**
 * The simulated run's clock: the same order as RxJS's `VirtualTimeScheduler` (so runs
 * replay as they did on it), a periodic action that stays one action however long it
 * runs (no chain to recurse through at teardown), and cancelling that leaves nothing.
 */
import { VirtualTimeScheduler, type SchedulerAction, type Subscription } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/chaos/seeded-random.js';
import { SimulatedScheduler } from '../../src/chaos/simulated-scheduler.js';

interface Clock {
  now(): number;
  schedule: SimulatedScheduler['schedule'];
  nextDueAt(): number | undefined;
  runInstant(at: number): void;
}

function vtsClock(): Clock {
  const vts = new VirtualTimeScheduler();
  return {
    now: () => vts.now(),
    schedule: vts.schedule.bind(vts) as SimulatedScheduler['schedule'],
    nextDueAt: () => vts.actions[0]?.delay,
    runInstant: (at) => {
      vts.maxFrames = at;
      vts.flush();
      vts.maxFrames = Number.POSITIVE_INFINITY;
    },
  };
}

function simulatedClock(): Clock {
  const s = new SimulatedScheduler();
  return { now: () => s.now(), schedule: s.schedule.bind(s), nextDueAt: () => s.nextDueAt(), runInstant: (at) => s.runInstant(at) };
}

/**
 * A seeded program of timers: one-shots, periodic actions re-armed from inside with
 * varying delays, actions cancelled or re-armed from outside while queued, and work
 * scheduled at the instant it runs. Returns the order things ran in.
 */
function runProgram(clock: Clock, seed: number): string[] {
  const random = seededRandom(seed);
  const log: string[] = [];
  // Per timer: the handle first returned, and the action its last re-arm returned (what
  // the runtime keeps, as probe-deadlines.ts does, to re-arm or cancel from outside).
  const timers: { handle: Subscription; latest: Subscription }[] = [];
  const pick = (n: number) => Math.floor(random() * n);
  let id = 0;
  const start = (depth: number): void => {
    const name = `a${id++}`;
    let runs = 0;
    const periods = pick(4);
    const timer = { handle: undefined as unknown as Subscription, latest: undefined as unknown as Subscription };
    timer.handle = timer.latest = clock.schedule(function (this: SchedulerAction<number>, state?: number) {
      log.push(`${clock.now()} ${name}#${runs} s=${state}`);
      runs++;
      if (runs <= periods) timer.latest = this.schedule(runs, pick(3) * 5);
      if (depth < 2 && pick(4) === 0) start(depth + 1);
      const victim = timers[pick(timers.length)]!;
      const roll = pick(10);
      if (roll === 0) victim.handle.unsubscribe();
      if (roll === 1) victim.latest = (victim.latest as SchedulerAction<number>).schedule(-1, pick(3) * 5);
    }, pick(6) * 5, 0);
    timers.push(timer);
  };
  for (let i = 0; i < 60; i++) start(0);
  for (let next = clock.nextDueAt(); next !== undefined; next = clock.nextDueAt()) clock.runInstant(next);
  return log;
}

describe('SimulatedScheduler', () => {
  it('runs actions in the order VirtualTimeScheduler does: due time, then creation or re-arm order', () => {
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const expected = runProgram(vtsClock(), seed);
      expect(expected.length).toBeGreaterThan(60);
      expect(runProgram(simulatedClock(), seed)).toEqual(expected);
    }
  });

  it('keeps a periodic action as one action however many times it re-arms, and its handle cancels it', () => {
    const s = new SimulatedScheduler();
    let ticks = 0;
    let sameAction = true;
    const handle = s.schedule(function (this: SchedulerAction<undefined>) {
      ticks++;
      sameAction &&= this === handle && this.schedule(undefined, 50) === handle;
    }, 50);
    for (let i = 0; i < 100_000; i++) s.runInstant(s.nextDueAt()!);
    expect(ticks).toBe(100_000);
    expect(sameAction).toBe(true);
    expect(s.pending).toBe(1);
    // On VirtualTimeScheduler each re-arm chains a new action under the previous one, and
    // this unsubscribe recursed through all of them (Maximum call stack size exceeded).
    expect(() => handle.unsubscribe()).not.toThrow();
    expect(s.pending).toBe(0);
    expect(s.nextDueAt()).toBeUndefined();
  });

  it('unsubscribing the first handle of a long VirtualTimeScheduler chain overflows the stack (why it is not used)', () => {
    const vts = new VirtualTimeScheduler();
    const handle = vts.schedule(function (this: SchedulerAction<undefined>) {
      this.schedule(undefined, 50);
    }, 50);
    vts.maxFrames = 50 * 100_000;
    vts.flush();
    expect(() => handle.unsubscribe()).toThrow(/Maximum call stack size exceeded/);
  });

  it('moves time only forward: a negative delay runs now, an infinite one never, cancelled work never', () => {
    const s = new SimulatedScheduler();
    const ran: string[] = [];
    s.runInstant(100);
    s.schedule(() => ran.push(`late@${s.now()}`), -20);
    s.schedule(() => ran.push('never'), Number.POSITIVE_INFINITY);
    const cancelled = s.schedule(() => ran.push('cancelled'), 10);
    s.schedule(() => ran.push(`ok@${s.now()}`), 10);
    expect(s.pending).toBe(3);
    cancelled.unsubscribe();
    expect(s.pending).toBe(2);
    s.runInstant(s.nextDueAt()!);
    expect(s.now()).toBe(100);
    s.runInstant(s.nextDueAt()!);
    expect(ran).toEqual(['late@100', 'ok@110']);
    expect(s.pending).toBe(0);
    s.moveTo(50);
    expect(s.now()).toBe(110);
  });

  it('runs work scheduled for the current instant in the same step, after what was already due', () => {
    const s = new SimulatedScheduler();
    const ran: string[] = [];
    s.schedule(() => {
      ran.push('a');
      s.schedule(() => ran.push('a0'), 0);
    }, 10);
    s.schedule(() => ran.push('b'), 10);
    s.schedule(() => ran.push('c'), 11);
    s.runInstant(10);
    expect(ran).toEqual(['a', 'b', 'a0']);
  });

  it('a work that throws cancels everything queued and the error reaches the driver', () => {
    const s = new SimulatedScheduler();
    const boom = new Error('boom');
    const other = s.schedule(() => {}, 20);
    s.schedule(() => {
      throw boom;
    }, 10);
    expect(() => s.runInstant(10)).toThrow(boom);
    expect(s.pending).toBe(0);
    expect(other.closed).toBe(true);
  });
});
