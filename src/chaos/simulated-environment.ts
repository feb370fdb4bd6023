/**
 * The simulated run mode: a `SimulatedScheduler` shared by the runtime, the wire
 * server, the network and the toxics, seeded randomness everywhere, and a driver that
 * jumps from one scheduled action to the next. Same seed, same run — event for event.
 *
 * The runtime's load gauge is pinned to 0: this process's real event-loop utilisation
 * would otherwise widen probe timeouts differently from one run to the next.
 */
import { createRuntime } from '../runtime.js';
import { describeEndpoint } from '../transport/dial-socket.js';
import { resourceCounts, resourcesAbove, type ScenarioEnvironment } from './scenario-environment.js';
import type { ServerBinding } from './scenario-server.js';
import { deriveSeed, seededRandom } from './seeded-random.js';
import { createSimulatedNetwork, type SimulatedListener } from './simulated-network.js';
import { SimulatedScheduler } from './simulated-scheduler.js';
import { VirtualDriver } from './virtual-driver.js';

/** Where the simulated server listens. Not a loopback address: nothing real is ever dialed. */
export const SIMULATED_SERVER = Object.freeze({ host: '10.0.0.1', port: 7000 });

/** @internal */
export function createSimulatedEnvironment(seed: number): ScenarioEnvironment & { readonly driver: VirtualDriver } {
  const baseline = resourceCounts();
  const scheduler = new SimulatedScheduler();
  const driver = new VirtualDriver(scheduler);
  const runtime = createRuntime({ scheduler, random: seededRandom(deriveSeed(seed, 'runtime')), loadSource: () => 0 });
  const net = createSimulatedNetwork({ scheduler, random: seededRandom(deriveSeed(seed, 'network')) });
  const address = `${SIMULATED_SERVER.host}:${SIMULATED_SERVER.port}`;
  let listener: SimulatedListener | undefined;

  const binding: ServerBinding = {
    address,
    bind: (accept) => {
      listener = net.listen(address, accept);
      return Promise.resolve();
    },
    unbind: () => {
      listener?.close();
      listener = undefined;
      return Promise.resolve();
    },
  };

  return {
    mode: 'simulated',
    scheduler,
    runtime,
    binding,
    driver,
    transport: net.transport,
    connect: (upstreams) => {
      const elsewhere = upstreams.map((e) => describeEndpoint(e)).filter((where) => where !== address);
      if (elsewhere.length > 0) {
        return Promise.reject(new Error(
          `the simulated network reaches only the server the runner hosts, not ${elsewhere.join(', ')}: ` +
            'run a target.endpoints scenario on real sockets (mode \'real\', the CLI\'s default), or host it with target.server',
        ));
      }
      return Promise.resolve({ links: [net.link(address)], endpoints: [{ ...SIMULATED_SERVER }] });
    },
    advanceTo: (t) => driver.advanceTo(t),
    settle: async (promise, limitMs) => (await driver.settle(promise, limitMs)).settled,
    close: () => {
      net.close();
      return Promise.resolve();
    },
    leftovers: () => {
      const out: string[] = [];
      const actions = scheduler.pending;
      if (actions > 0) out.push(`${actions} scheduled action${actions === 1 ? '' : 's'} (next due at ${scheduler.nextDueAt()!} ms)`);
      if (net.connections > 0) out.push(`${net.connections} simulated connection${net.connections === 1 ? '' : 's'}`);
      const listening = net.listening();
      if (listening.length > 0) out.push(`simulated listener${listening.length === 1 ? '' : 's'} on ${listening.join(', ')}`);
      out.push(...resourcesAbove(baseline));
      return Promise.resolve(out);
    },
  };
}
