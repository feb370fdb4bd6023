/**
 * A runtime on a fresh `VirtualTimeScheduler` with a fixed random source, recording
 * every event. `advance(ms)` runs exactly the actions due within `ms` and leaves the
 * clock at the target, so "after 999 ms nothing happened" is checkable.
 */
import { VirtualTimeScheduler } from 'rxjs';
import { createRuntime, type Runtime, type RuntimeOptions } from '../../../src/runtime.js';
import type { RuntimeEvent } from '../../../src/observe/events.js';

export interface VirtualRuntime {
  readonly vts: VirtualTimeScheduler;
  readonly rt: Runtime;
  readonly events: RuntimeEvent[];
  advance(ms: number): void;
  /** Events of one type. */
  of<T extends RuntimeEvent['type']>(type: T): Extract<RuntimeEvent, { type: T }>[];
  /** Shuts down, flushing virtual time until done. */
  shutdown(): Promise<void>;
}

export function virtualRuntime(options?: Omit<RuntimeOptions, 'scheduler'>): VirtualRuntime {
  const vts = new VirtualTimeScheduler();
  const rt = createRuntime({ random: () => 0.5, ...options, scheduler: vts });
  const events: RuntimeEvent[] = [];
  rt.events$.subscribe((e) => events.push(e));
  const advance = (ms: number) => {
    const target = vts.frame + ms;
    vts.maxFrames = target;
    vts.flush();
    vts.frame = Math.max(vts.frame, target);
    vts.maxFrames = Number.POSITIVE_INFINITY;
  };
  return {
    vts, rt, events, advance,
    of: <T extends RuntimeEvent['type']>(type: T) => events.filter((e): e is Extract<RuntimeEvent, { type: T }> => e.type === type),
    async shutdown() {
      const done = rt.shutdown();
      vts.flush();
      await done;
    },
  };
}

/** `state` events of one path, as `from→to` strings. */
export function transitions(events: readonly RuntimeEvent[], path: string): string[] {
  return events.filter((e) => e.type === 'state' && e.path === path).map((e) => (e.type === 'state' ? `${e.from}→${e.to}` : ''));
}
