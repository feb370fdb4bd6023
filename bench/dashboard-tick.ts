/**
 * What one dashboard tick costs while a page is open: reading the supervision tree,
 * every pool's `stats()`, and the JSON sent to the page, for pools of N connections on
 * the simulated network (no sockets, so only the dashboard's own work is timed).
 *
 *   npm run bench -- dashboard-tick            # N = 1000 and 10000
 *   npm run bench -- dashboard-tick 5000       # one size
 */
import { seededRandom } from '../src/chaos/seeded-random.js';
import { createSimulatedNetwork } from '../src/chaos/simulated-network.js';
import { SimulatedScheduler } from '../src/chaos/simulated-scheduler.js';
import { VirtualDriver } from '../src/chaos/virtual-driver.js';
import { DashboardFeed } from '../src/observe/dashboard-feed.js';
import { createRuntime } from '../src/runtime.js';
import { createWireServer } from '../src/transport/wire-server.js';
import { wire } from '../src/transport/wire.js';

async function measure(connections: number): Promise<void> {
  const scheduler = new SimulatedScheduler();
  const driver = new VirtualDriver(scheduler);
  const net = createSimulatedNetwork({ scheduler, random: seededRandom(1) });
  const server = createWireServer({ scheduler, handler: (r) => r });
  net.listen('10.0.0.1:7000', (s) => server.accept(s));
  const rt = createRuntime({ scheduler, random: seededRandom(2), loadSource: () => 0 });
  const pool = rt.createPool({ endpoints: [{ host: '10.0.0.1', port: 7000 }], protocol: wire(), transport: net.transport, min: connections, max: connections });
  await driver.advance(10_000);
  const ready = pool.connections().filter((c) => c.state === 'ready').length;
  const feed = new DashboardFeed(rt, () => rt.pools(), {
    intervalMs: 1000, maxClients: 8, maxBacklogBytes: 1 << 20, maxEvents: 200, maxBatchEvents: 500, flushMs: 25, rttSamples: 60,
  });
  let bytes = 0;
  for (let i = 0; i < 20; i++) bytes = JSON.stringify(feed.snapshot()).length; // warm-up
  const samples: number[] = [];
  for (let i = 0; i < 50; i++) {
    const t0 = performance.now();
    bytes = JSON.stringify(feed.snapshot()).length;
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  const median = samples[Math.floor(samples.length / 2)]!;
  console.log(`${String(connections).padStart(6)} connections (${ready} ready): tick median ${median.toFixed(2)} ms, p90 ${samples[Math.floor(samples.length * 0.9)]!.toFixed(2)} ms, ${(bytes / 1024).toFixed(0)} KiB per snapshot`);
  feed.close();
  await driver.settle(rt.shutdown(), 60_000);
  await driver.settle(server.close(), 60_000);
  net.close();
}

const sizes = process.argv.slice(2).map(Number).filter((n) => Number.isInteger(n) && n > 0);
for (const n of sizes.length > 0 ? sizes : [1000, 10_000]) await measure(n);
