/**
 * A pool's wait queue in virtual time, for the shedding measurements: `connections`
 * connections, exponential service times, Poisson arrivals, a FIFO queue, and a waiter
 * tick that drops waiters past the shedder's `dropAfterMs` as the pool's does. Everything
 * runs on one `SimulatedScheduler` with a seeded random source, so a run replays exactly.
 */
import { SimulatedScheduler } from '../../../src/chaos/simulated-scheduler.js';
import { seededRandom } from '../../../src/chaos/seeded-random.js';
import { QueueDelayShedder, type SheddingOptions } from '../../../src/pool/health/queue-delay-shedder.js';

export interface QueueRunOptions {
  readonly connections: number;
  readonly meanServiceMs: number;
  /** Offered load as a multiple of capacity (connections / meanServiceMs). */
  readonly load: number;
  /** How long acquires arrive. */
  readonly durationMs: number;
  /** How long the run goes on after the last arrival, for queued waiters to be served. Default 0. */
  readonly drainMs?: number;
  readonly shedding?: SheddingOptions;
  readonly waiterTickMs?: number;
  readonly seed?: number;
}

export interface QueueRunResult {
  readonly offered: number;
  readonly served: number;
  readonly rejected: number;
  readonly dropped: number;
  /** Queue waits of served acquires, in order of service. */
  readonly waits: Float64Array;
  readonly maxQueue: number;
  readonly modeChanges: number;
}

export function percentile(values: ArrayLike<number>, p: number): number {
  const sorted = Float64Array.from(values).sort();
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function runQueue(o: QueueRunOptions): QueueRunResult {
  const scheduler = new SimulatedScheduler();
  const endMs = o.durationMs + (o.drainMs ?? 0);
  const random = seededRandom(o.seed ?? 1);
  const exp = (mean: number) => -Math.log(1 - random()) * mean;
  const arrivalMeanMs = o.meanServiceMs / o.connections / o.load;
  let modeChanges = 0;
  const shedder = o.shedding ? new QueueDelayShedder(o.shedding, () => modeChanges++) : undefined;
  const queue: number[] = []; // arrival times
  let head = 0;
  let idle = o.connections;
  let offered = 0;
  let rejected = 0;
  let dropped = 0;
  let maxQueue = 0;
  const waits: number[] = [];
  const queued = () => queue.length - head;

  const dropExpired = (now: number) => {
    if (!shedder) return;
    const limit = shedder.dropAfterMs;
    while (queued() > 0 && now - queue[head]! > limit) {
      head++;
      dropped++;
    }
  };
  const serve = (now: number, waited: number) => {
    waits.push(waited);
    idle--;
    scheduler.schedule(complete, exp(o.meanServiceMs));
  };
  function complete() {
    const now = scheduler.now();
    idle++;
    dropExpired(now);
    if (queued() === 0) return;
    const waited = now - queue[head++]!;
    shedder?.onDequeue(now, waited);
    if (queued() === 0) shedder?.onEmpty(now);
    serve(now, waited);
  }
  function arrive() {
    const now = scheduler.now();
    if (now >= o.durationMs) return;
    offered++;
    scheduler.schedule(arrive, exp(arrivalMeanMs));
    if (idle > 0 && queued() === 0) return serve(now, 0);
    const headWaited = queued() === 0 ? 0 : now - queue[head]!;
    if (shedder && !shedder.admit(now, headWaited)) {
      rejected++;
      return;
    }
    queue.push(now);
    if (queued() > maxQueue) maxQueue = queued();
    if (head > 4096 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
  }
  function tick() {
    const now = scheduler.now();
    dropExpired(now);
    if (queued() === 0) shedder?.onEmpty(now);
    else shedder?.observeQueue(now, now - queue[head]!);
    if (now < endMs) scheduler.schedule(tick, o.waiterTickMs ?? 10);
  }
  scheduler.schedule(arrive, 0);
  scheduler.schedule(tick, o.waiterTickMs ?? 10);
  for (let next = scheduler.nextDueAt(); next !== undefined && next <= endMs; next = scheduler.nextDueAt()) {
    scheduler.runInstant(next);
  }
  return { offered, served: waits.length, rejected, dropped, waits: Float64Array.from(waits), maxQueue, modeChanges };
}
