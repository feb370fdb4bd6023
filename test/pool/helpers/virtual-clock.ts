/**
 * Virtual time for pool tests: a fresh VirtualTimeScheduler per test, advanced in
 * steps (flush() alone would run a periodic sweep forever), with microtasks drained
 * between steps so promise continuations see the time they were scheduled at.
 */
import { VirtualTimeScheduler } from 'rxjs';

export function drain(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class VirtualClock {
  readonly scheduler = new VirtualTimeScheduler();

  /**
   * `startMs`: the scheduler's time at the start. Real clocks are far from 0
   * (`performance.now()` is the process's uptime): a test whose result depends on the
   * clock's value, not only on differences, starts elsewhere to catch a stray 0.
   */
  constructor(startMs = 0) {
    this.scheduler.frame = startMs;
  }

  now(): number {
    return this.scheduler.now();
  }

  /** Runs every action due within `ms`, in order, draining microtasks after each step. */
  async advance(ms: number, stepMs = ms): Promise<void> {
    const end = this.scheduler.now() + ms;
    while (this.scheduler.now() < end) {
      const target = Math.min(end, this.scheduler.now() + stepMs);
      this.scheduler.maxFrames = target;
      this.scheduler.flush();
      this.scheduler.frame = target;
      await drain();
    }
    await drain();
  }

  /** Scheduled actions still pending (timers left behind). */
  get pendingActions(): number {
    return this.scheduler.actions.length;
  }
}
