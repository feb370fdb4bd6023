/**
 * The real-socket run mode: the wire server listens on 127.0.0.1 (an ephemeral port,
 * kept across restarts), a `ChaosProxy` on 127.0.0.1 sits between it and the pool, and
 * time is the wall clock (`asyncScheduler`). Randomness is still seeded, but the kernel
 * and the machine's load decide the exact interleaving: a real run is not replayable,
 * only comparable.
 *
 * "Nothing left running" compares this process's sockets, listeners and timers with the
 * counts taken before the run, after letting closing handles go (up to `settleMs`).
 */
import { asyncScheduler } from 'rxjs';
import { createRuntime } from '../runtime.js';
import { createWireServer } from '../transport/wire-server.js';
import { proxyLink } from './chaos-link.js';
import { createChaosProxy, type ChaosProxy } from './chaos-proxy.js';
import { resourceCounts, resourcesAbove, type ScenarioEnvironment } from './scenario-environment.js';
import type { ServerBinding } from './scenario-server.js';
import { deriveSeed, seededRandom } from './seeded-random.js';

const HOST = '127.0.0.1';

/** Waits `ms` on the scheduler (wall time here); never a raw timer in library code. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => asyncScheduler.schedule(() => resolve(), Math.max(0, ms)));
}

/** @internal */
export function createRealEnvironment(seed: number, name: string, settleMs = 1000): ScenarioEnvironment {
  const baseline = resourceCounts();
  const scheduler = asyncScheduler;
  const runtime = createRuntime({ random: seededRandom(deriveSeed(seed, 'runtime')) });
  let port = 0;
  let proxy: ChaosProxy | undefined;

  const binding: ServerBinding = {
    get address() {
      return `${HOST}:${port}`;
    },
    create: (options) => createWireServer({ ...options, host: HOST, port }),
    bind: async (server) => {
      const address = await server.listen();
      if ('port' in address) port = address.port;
    },
    // The wire server's close() closes its listener.
    unbind: () => undefined,
  };

  return {
    mode: 'real',
    scheduler,
    runtime,
    binding,
    transport: undefined,
    async connect() {
      proxy = createChaosProxy({
        name,
        upstream: `${HOST}:${port}`,
        random: seededRandom(deriveSeed(seed, 'network')),
        connectTimeoutMs: 1000,
      });
      await proxy.start();
      return { link: proxyLink(proxy), endpoint: { host: HOST, port: proxy.address!.port } };
    },
    advanceTo: (t) => sleep(t - scheduler.now()),
    async settle(promise, limitMs) {
      let timer: { unsubscribe(): void } | undefined;
      const timedOut = new Promise<boolean>((resolve) => (timer = scheduler.schedule(() => resolve(false), limitMs)));
      const done = promise.then(() => true, () => true);
      const settled = await Promise.race([done, timedOut]);
      timer?.unsubscribe();
      return settled;
    },
    close: async () => {
      await proxy?.close();
    },
    async leftovers() {
      const deadline = performance.now() + settleMs;
      let left = resourcesAbove(baseline);
      while (left.length > 0 && performance.now() < deadline) {
        await sleep(10);
        left = resourcesAbove(baseline);
      }
      return left;
    },
  };
}
