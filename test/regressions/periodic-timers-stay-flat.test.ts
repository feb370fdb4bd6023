/**
 * Regression (issue 16): a periodic timer must not leave one subscription behind per
 * period. On RxJS's `VirtualTimeScheduler` every re-arm of a periodic action (the
 * heartbeat ticker, the shared probe deadline, the wire server's watchdog) chains a new
 * action under the previous one; after a few virtual minutes unsubscribing the first link
 * recursed through thousands ("Maximum call stack size exceeded" at teardown) and left the
 * last one scheduled. This drives a pool with a heartbeat and a wire server with a
 * watchdog for many periods and measures the deepest chain of subscriptions the
 * scheduler handed out:
 * - on the real `asyncScheduler` (Node timers under vitest's fake clock, no sleeping) and
 *   on `SimulatedScheduler` it stays flat, whatever the number of periods;
 * - on `VirtualTimeScheduler` it grows with every period: the measure sees the chain.
 */
import { asyncScheduler, VirtualTimeScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { seededRandom } from '../../src/chaos/seeded-random.js';
import { createSimulatedNetwork } from '../../src/chaos/simulated-network.js';
import { SimulatedScheduler } from '../../src/chaos/simulated-scheduler.js';
import { VirtualDriver } from '../../src/chaos/virtual-driver.js';
import { createRuntime } from '../../src/runtime.js';
import { createWireServer } from '../../src/transport/wire-server.js';
import { wire } from '../../src/transport/wire.js';

const HEARTBEAT_MS = 100;
const PERIODS = 600;

/** Depth of the subscriptions chained under `sub` (RxJS keeps them in `_finalizers`). */
function chainDepth(sub: Subscription): number {
  let depth = 0;
  let cur: Subscription | undefined = sub;
  while (cur !== undefined) {
    const finalizers: unknown[] = (cur as unknown as { _finalizers: unknown[] | null })._finalizers ?? [];
    cur = finalizers.find((f: unknown): f is Subscription => typeof f === 'object' && f !== null && 'unsubscribe' in f);
    if (cur !== undefined) depth++;
  }
  return depth;
}

/** A scheduler that remembers every subscription it hands out. */
function recording(inner: SchedulerLike): { scheduler: SchedulerLike; deepest(): number } {
  const handed: Subscription[] = [];
  const scheduler: SchedulerLike = {
    now: () => inner.now(),
    schedule: ((work: never, delay?: number, state?: unknown) => {
      const sub = inner.schedule(work, delay, state);
      handed.push(sub);
      return sub;
    }) as SchedulerLike['schedule'],
  };
  return { scheduler, deepest: () => Math.max(0, ...handed.map(chainDepth)) };
}

/**
 * Runs a 4-connection pool with a heartbeat against a wire server for `periods`
 * heartbeats; returns the deepest chain and how many probes were sent.
 */
async function run(kind: 'async' | 'simulated' | 'virtual-time', periods: number): Promise<{ depth: number; probes: number }> {
  const inner: SchedulerLike = kind === 'async' ? asyncScheduler : kind === 'simulated' ? new SimulatedScheduler() : new VirtualTimeScheduler();
  const advance: (ms: number) => Promise<void> = kind === 'async'
    ? async (ms) => {
      for (let t = 0; t < ms; t += 10) await vi.advanceTimersByTimeAsync(10);
    }
    : ((driver) => (ms: number) => driver.advance(ms))(new VirtualDriver(inner as SimulatedScheduler));
  const { scheduler, deepest } = recording(inner);
  const net = createSimulatedNetwork({ scheduler, random: seededRandom(1) });
  const server = createWireServer({ scheduler, handler: (req) => req, frameTimeoutMs: 1000 });
  net.listen('10.0.0.1:7000', (stream) => server.accept(stream));
  const rt = createRuntime({ scheduler, random: seededRandom(2), loadSource: () => 0 });
  let probes = 0;
  rt.events$.subscribe((e) => {
    if (e.type === 'state' && e.to === 'probing') probes++;
  });
  rt.createPool({
    endpoints: [{ host: '10.0.0.1', port: 7000 }], protocol: wire(), transport: net.transport, min: 4, max: 4,
    heartbeat: { intervalMs: HEARTBEAT_MS, minTimeoutMs: 20, maxTimeoutMs: 50, minIntervalMs: HEARTBEAT_MS, maxIntervalMs: HEARTBEAT_MS },
  });
  await advance(periods * HEARTBEAT_MS);
  const depth = deepest();
  const stopped = rt.shutdown().then(() => server.close());
  await advance(2_000);
  await stopped;
  net.close();
  return { depth, probes };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('periodic timers leave no chain behind (issue 16)', () => {
  it('on the real asyncScheduler: no subscription chains under another, after hundreds of periods', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'] });
    const { depth, probes } = await run('async', PERIODS);
    expect(probes).toBeGreaterThanOrEqual(4 * (PERIODS - 5));
    expect(depth).toBe(0);
  });

  it('on SimulatedScheduler: the same, however many periods', async () => {
    const { depth, probes } = await run('simulated', PERIODS);
    expect(probes).toBeGreaterThanOrEqual(4 * (PERIODS - 5));
    expect(depth).toBe(0);
  });

  it('on VirtualTimeScheduler the chain grows with every period (what the measure detects)', async () => {
    const { depth } = await run('virtual-time', PERIODS);
    expect(depth).toBeGreaterThanOrEqual(PERIODS - 10);
  });
});
