/**
 * During an outage every connection of a pool waits between incarnations, and the
 * supervisor notifies the pool after each of its events (an exit, a backoff timer, a
 * spawn). The pool used to look up every waiting connection's child after every event:
 * O(connections) per event, O(connections²) per outage — at 1,000 connections most of
 * the CPU of an outage. It now looks up only the children spawned since the last event
 * (and connections that just began waiting): a few lookups per restart, whatever the
 * pool's size. And every connection still comes back.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { seededRandom } from '../../src/chaos/seeded-random.js';
import { createSimulatedNetwork } from '../../src/chaos/simulated-network.js';
import { SimulatedScheduler } from '../../src/chaos/simulated-scheduler.js';
import { VirtualDriver } from '../../src/chaos/virtual-driver.js';
import { createRuntime } from '../../src/runtime.js';
import { exponentialBackoff } from '../../src/supervisor/backoff.js';
import { ChildTable } from '../../src/supervisor/child-table.js';
import { createWireServer } from '../../src/transport/wire-server.js';
import { wire } from '../../src/transport/wire.js';

const ADDRESS = '10.0.0.1:7000';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('a pool in an outage', () => {
  it('looks up a few children per restart, not every waiting connection per supervisor event', async () => {
    const connections = 200;
    const scheduler = new SimulatedScheduler();
    const driver = new VirtualDriver(scheduler);
    const net = createSimulatedNetwork({ scheduler, random: seededRandom(1) });
    const server = createWireServer({ scheduler, handler: (req) => req });
    net.listen(ADDRESS, (stream) => server.accept(stream));
    const rt = createRuntime({ scheduler, random: seededRandom(2), loadSource: () => 0 });
    let restarts = 0;
    let ready = 0;
    rt.events$.subscribe((e) => {
      if (e.type === 'restart') restarts++;
      if (e.type === 'state' && e.to === 'ready' && e.from !== 'probing' && e.from !== 'suspect') ready++;
    });
    const pool = rt.createPool({
      endpoints: [{ host: '10.0.0.1', port: 7000 }], protocol: wire(), transport: net.transport, min: connections, max: connections,
      backoff: exponentialBackoff({ initialMs: 50, maxMs: 1000 }),
    });
    await driver.advance(2000);
    expect(ready).toBe(connections);

    const lookups = vi.spyOn(ChildTable.prototype, 'childRef');
    await net.link(ADDRESS).disable(); // every connection cut, every dial refused
    await driver.advance(10_000);
    await net.link(ADDRESS).enable();
    await driver.advance(5_000);
    expect(restarts).toBeGreaterThan(4 * connections);
    // Each lookup of the pool's supervisor by its handle is one of the root's too. Before:
    // ~500 per restart here (2.5 million), growing with the pool's size; now ~7.
    expect(lookups.mock.calls.length).toBeLessThan(10 * restarts);
    expect(ready).toBe(2 * connections);
    expect(pool.health().ready).toBe(true);

    await driver.settle(rt.shutdown(), 10_000);
    await driver.settle(server.close(), 10_000);
    net.close();
    expect(scheduler.pending).toBe(0);
  });
});
