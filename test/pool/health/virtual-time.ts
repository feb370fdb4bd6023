/**
 * Synchronous virtual time for the endpoint-health blocks, which hold no promises: a fresh
 * `VirtualTimeScheduler` advanced in one step (or to a given time), and the number of
 * timers left on it.
 */
import { VirtualTimeScheduler } from 'rxjs';

export class VirtualTime {
  readonly scheduler = new VirtualTimeScheduler();

  now(): number {
    return this.scheduler.now();
  }

  /** Runs every action due within `ms`, in order; time ends at now + ms. */
  advance(ms: number): void {
    this.advanceTo(this.scheduler.now() + ms);
  }

  advanceTo(at: number): void {
    this.scheduler.maxFrames = at;
    this.scheduler.flush();
    this.scheduler.frame = at;
  }

  /** Timers still scheduled. */
  get pending(): number {
    return this.scheduler.actions.length;
  }
}

/** A deterministic random source cycling through `values`. */
export function draws(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}
