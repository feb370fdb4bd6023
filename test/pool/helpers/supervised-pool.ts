/**
 * A runtime on a fresh VirtualTimeScheduler with one `rt.createPool` over the in-memory
 * network: the real supervisor and connection actors, no sockets, no sleeping.
 */
import { createRuntime, type Runtime } from '../../../src/runtime.js';
import type { RuntimeEvent } from '../../../src/observe/events.js';
import type { CreatePoolOptions } from '../../../src/pool/create-pool.js';
import type { Pool } from '../../../src/pool/pool.js';
import { constantBackoff } from '../../../src/supervisor/backoff.js';
import { MemoryNetwork, type MemSession } from './memory-network.js';
import { VirtualClock } from './virtual-clock.js';

export interface SupervisedPool {
  rt: Runtime;
  pool: Pool<MemSession>;
  net: MemoryNetwork;
  clock: VirtualClock;
  events: RuntimeEvent[];
}

export const A = '10.0.0.1:7000';
export const B = '10.0.0.2:7000';

export function supervisedPool(
  options: Partial<CreatePoolOptions<MemSession>> = {},
  up: readonly string[] = [A],
  protocolOf: (net: MemoryNetwork) => CreatePoolOptions<MemSession>['protocol'] = (net) => net.protocol,
): SupervisedPool {
  const clock = new VirtualClock();
  const net = new MemoryNetwork();
  for (const key of up) net.setUp(key);
  const rt = createRuntime({ scheduler: clock.scheduler, random: () => 0.5, loadSource: () => 0 });
  const events: RuntimeEvent[] = [];
  rt.events$.subscribe((e) => events.push(e));
  const pool = rt.createPool<MemSession>({
    endpoints: [{ host: '10.0.0.1', port: 7000 }],
    protocol: protocolOf(net),
    transport: net.transport,
    heartbeat: { intervalMs: 60_000 },
    backoff: constantBackoff({ delayMs: 100 }),
    housekeepingIntervalMs: 100,
    ...options,
  });
  return { rt, pool, net, clock, events };
}

/** Shuts the runtime down in virtual time and checks nothing is left. */
export async function shutdown(t: SupervisedPool, stepMs = 50): Promise<void> {
  const done = t.rt.shutdown();
  let settled = false;
  void done.then(() => (settled = true), () => (settled = true));
  for (let i = 0; i < 400 && !settled; i++) await t.clock.advance(stepMs);
  await done;
}

/** `restart` events for the pool's children (one per dial retry or replacement). */
export function restartsOf(t: SupervisedPool): number {
  return t.events.filter((e) => e.type === 'restart' && e.path.startsWith(`${t.pool.path}/`)).length;
}
