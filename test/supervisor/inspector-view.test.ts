/**
 * What the Stately inspector shows of a running service, through `@statelyai/inspect`'s
 * own `createInspector` with a collecting adapter (the WebSocket adapter's serialisation:
 * safe-stable-stringify, depth 10): the root and every pool's supervisor come with a
 * statechart (states, guarded transitions), `maxRestarts: Infinity` reads "Infinity" (not
 * `null`), and no credential of the pool's protocol appears in any event, accepted or refused.
 */
import { createInspector } from '@statelyai/inspect';
import safeStableStringify from 'safe-stable-stringify';
import { expect, test } from 'vitest';
import { seededRandom } from '../../src/chaos/seeded-random.js';
import { createSimulatedNetwork } from '../../src/chaos/simulated-network.js';
import { SimulatedScheduler } from '../../src/chaos/simulated-scheduler.js';
import { VirtualDriver } from '../../src/chaos/virtual-driver.js';
import { createRuntime } from '../../src/runtime.js';
import { createWireServer } from '../../src/transport/wire-server.js';
import { wire } from '../../src/transport/wire.js';

const TOKEN = 'wire-T0ken-shown-nowhere';
const WRONG_TOKEN = 'wr0ng-Token-shown-nowhere';

/** Serialises like the inspector's WebSocket adapter before it sends. */
const serialize = safeStableStringify.configure({ maximumDepth: 10 });

interface SentActor {
  readonly type: '@xstate.actor';
  readonly name: string;
  readonly definition: string;
  readonly snapshot: { value?: unknown; context?: Record<string, unknown> };
}

/** Lets the inspector's idle callbacks (a `setTimeout(0)` each, queued in order) run. */
const inspectorQueueDrained = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

test('the root and the pools are drawn as supervisors, Infinity reads "Infinity", and no token leaks', async () => {
  const sent: string[] = [];
  const inspector = createInspector({ send: (event: unknown) => void sent.push(serialize(event)!) });
  const scheduler = new SimulatedScheduler();
  const driver = new VirtualDriver(scheduler);
  const net = createSimulatedNetwork({ scheduler, random: seededRandom(1) });
  const server = createWireServer({ scheduler, token: TOKEN, handler: (req) => req });
  net.listen('10.0.0.1:7000', (stream) => server.accept(stream));
  const rt = createRuntime({ scheduler, random: seededRandom(2), loadSource: () => 0, inspect: inspector.inspect });
  const endpoints = [{ host: '10.0.0.1', port: 7000 }];
  const pool = rt.createPool({ endpoints, protocol: wire({ token: TOKEN }), transport: net.transport, min: 2, max: 2 });
  // A pool whose handshake the server refuses: errors travel in outputs and events too.
  rt.createPool({ endpoints, protocol: wire({ token: WRONG_TOKEN }), transport: net.transport, min: 1, max: 1 });
  await driver.advance(2000);
  expect(await pool.use((conn) => conn.request({ echo: 1 }))).toEqual({ echo: 1 });
  await driver.advance(5000);
  await driver.settle(rt.shutdown(), 10_000);
  await driver.settle(server.close(), 10_000);
  net.close();
  await inspectorQueueDrained();

  const events = sent.map((s) => JSON.parse(s) as { type: string });
  const actors = events.filter((e): e is SentActor => e.type === '@xstate.actor');
  const named = (name: string) => actors.find((a) => a.name === name)!;
  for (const name of ['root', pool.path.split('/')[1]!, 'pool-2']) {
    const definition = JSON.parse(named(name).definition) as { id: string; states: Record<string, { on?: Record<string, unknown> }> };
    // (safe-stable-stringify sorts keys.)
    expect(Object.keys(definition.states).sort(), name).toEqual(['failed', 'failing', 'running', 'stopped', 'stopping']);
    expect(JSON.stringify(definition.states.running!.on!['xstate.done.actor.*'])).toContain('"guard":"intensityExceeded"');
  }
  // A pool's supervisor never gives up (maxRestarts Infinity); the root's limit is 0.
  expect(named('pool-1').snapshot.context).toMatchObject({ maxRestarts: 'Infinity', strategy: 'one-for-one' });
  expect(named('root').snapshot.context).toMatchObject({ maxRestarts: 0 });
  const poolSnapshots = events.filter((e) => e.type === '@xstate.snapshot' && JSON.stringify(e).includes('"path":"root/pool-1"'));
  expect(poolSnapshots.length).toBeGreaterThan(0);
  for (const s of poolSnapshots) expect(JSON.stringify(s)).toContain('"maxRestarts":"Infinity"');
  expect(sent.join('\n')).not.toMatch(/"maxRestarts":null/);
  // The snapshots showed phases the definition draws (the pools closed first, so the root went straight to stopped).
  const rootValues = new Set(events.filter((e) => e.type === '@xstate.snapshot' && JSON.stringify(e).includes('"path":"root",'))
    .map((e) => (e as unknown as { snapshot: { value: string } }).snapshot.value));
  expect(rootValues).toEqual(new Set(['running', 'stopped']));

  // The refused handshake did happen (so its errors were in the events scanned below).
  expect(sent.some((s) => s.includes('handshake'))).toBe(true);
  for (const [i, s] of sent.entries()) {
    expect(s.includes(TOKEN), `token in inspection event ${i}`).toBe(false);
    expect(s.includes(WRONG_TOKEN), `wrong token in inspection event ${i}`).toBe(false);
  }
});
