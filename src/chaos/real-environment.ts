/**
 * The real-socket run mode: the hosted server listens on 127.0.0.1 (an ephemeral port,
 * kept across restarts; each accepted socket goes to the server's `accept`), a
 * `ChaosProxy` on 127.0.0.1 sits between each upstream — that server, or a target's own
 * endpoints — and the pool, and time is the wall clock (`asyncScheduler`). Randomness is still seeded, but the kernel
 * and the machine's load decide the exact interleaving: a real run is not replayable,
 * only comparable.
 *
 * "Nothing left running" compares this process's sockets, listeners and timers with the
 * counts taken before the run, after letting closing handles go (up to `settleMs`).
 */
import { createServer, type Server } from 'node:net';
import { asyncScheduler } from 'rxjs';
import { ListenFailedError } from '../errors.js';
import { createRuntime } from '../runtime.js';
import { describeEndpoint } from '../transport/dial-socket.js';
import { proxyLink, type ChaosLink } from './chaos-link.js';
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
  let listener: Server | undefined;
  const proxies: ChaosProxy[] = [];

  const binding: ServerBinding = {
    get address() {
      return `${HOST}:${port}`;
    },
    bind: (accept) => new Promise<void>((resolve, reject) => {
      const server = createServer({ noDelay: true }, accept);
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(new ListenFailedError(`scenario server could not listen on ${HOST}:${port}: ${err.code ?? err.message}`, { cause: err }));
      });
      server.listen(port, HOST, () => {
        // Accept errors after listening (EMFILE…) are transient: never an uncaught exception.
        server.removeAllListeners('error');
        server.on('error', () => {});
        port = (server.address() as { port: number }).port;
        listener = server;
        resolve();
      });
    }),
    // Resolves once the listening socket is gone, so that a restart can listen on the same port.
    unbind: () => new Promise<void>((resolve) => {
      const server = listener;
      listener = undefined;
      if (!server) return resolve();
      server.close(() => resolve());
    }),
  };

  return {
    mode: 'real',
    scheduler,
    runtime,
    binding,
    transport: undefined,
    async connect(upstreams) {
      const links: ChaosLink[] = [];
      const endpoints = [];
      for (const [i, upstream] of upstreams.entries()) {
        const proxy = createChaosProxy({
          name: upstreams.length === 1 ? name : `${name}-${i + 1}`,
          upstream: describeEndpoint(upstream),
          random: seededRandom(deriveSeed(seed, upstreams.length === 1 ? 'network' : `network-${i}`)),
          connectTimeoutMs: 1000,
        });
        proxies.push(proxy);
        await proxy.start();
        links.push(proxyLink(proxy));
        endpoints.push({ ...upstream, host: HOST, port: proxy.address!.port });
      }
      return { links, endpoints };
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
      for (const proxy of proxies) await proxy.close();
      await binding.unbind();
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
