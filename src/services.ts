/**
 * Runtime services (scheduler, random source, load gauge) reachable from inside any
 * actor of a runtime's system, without putting them in context or input: context must
 * stay plain data for the inspector, and a child spec's input should not have to carry
 * the clock. `createRuntime` binds its services to its actor system; actors look them up
 * with `servicesOf(self.system)` and fall back to process defaults when run standalone.
 */
import type { ActorSystem } from 'xstate';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any system of any runtime
type AnySystem = ActorSystem<any>;
import type { SchedulerLike } from 'rxjs';
import { defaultScheduler } from './scheduler.js';

export interface RuntimeServices {
  readonly scheduler: SchedulerLike;
  /** Uniform in [0, 1); injectable so jitter is reproducible from a seed. */
  readonly random: () => number;
  /**
   * The process's event-loop utilisation in [0, 1], used to widen probe timeouts so a
   * busy process does not accuse a healthy peer.
   */
  readonly loadSource: () => number;
}

const bound = new WeakMap<AnySystem, RuntimeServices>();

let processLoad: (() => number) | undefined;

/** ELU of this process over the last ~1 s window, sampled lazily. */
export function processLoadSource(): () => number {
  if (processLoad) return processLoad;
  let last = performance.eventLoopUtilization();
  let lastAt = performance.now();
  let value = 0;
  processLoad = () => {
    const now = performance.now();
    if (now - lastAt >= 1000) {
      const cur = performance.eventLoopUtilization();
      value = performance.eventLoopUtilization(cur, last).utilization;
      last = cur;
      lastAt = now;
    }
    return value;
  };
  return processLoad;
}

export const defaultServices: RuntimeServices = Object.freeze({
  scheduler: defaultScheduler,
  random: Math.random,
  loadSource: () => processLoadSource()(),
});

export function bindServices(system: AnySystem, services: RuntimeServices): void {
  bound.set(system, services);
}

export function servicesOf(system: AnySystem | undefined): RuntimeServices {
  return (system && bound.get(system)) ?? defaultServices;
}
