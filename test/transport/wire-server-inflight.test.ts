/**
 * A client pipelining requests against a slow handler must not grow the server's memory
 * without bound: at most `maxInFlightPerClient` handlers run per client, the rest wait
 * (the server stops reading that client), and every request is still answered.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { connectionMachine } from '../../src/actors/connection-machine.js';
import { connectionState, liveConnection } from '../../src/actors/live-connection.js';
import { createWireServer, type WireServer } from '../../src/transport/wire-server.js';
import type { WireSession } from '../../src/transport/wire-session.js';
import { wire } from '../../src/transport/wire.js';
import { InvalidOptionError } from '../../src/errors.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function waitFor(what: string, cond: () => boolean, limitMs = 5000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((r) => setTimeout(r, 5));
  }
}

describe('wire server: per-client in-flight bound', () => {
  it('runs at most maxInFlightPerClient handlers at once and answers every request', async () => {
    let running = 0;
    let peak = 0;
    const gates: Array<() => void> = [];
    const server: WireServer = createWireServer({
      maxInFlightPerClient: 4,
      handler: async (payload) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise<void>((resolve) => gates.push(resolve));
        running--;
        return payload;
      },
    });
    cleanups.push(() => server.close({ graceful: false }));
    const { port } = (await server.listen()) as { port: number };
    const actor = createActor(connectionMachine, {
      input: { endpoint: { host: '127.0.0.1', port }, protocol: wire(), heartbeat: { intervalMs: 60_000 } },
    });
    actor.subscribe({ error: () => {} });
    cleanups.push(() => actor.stop());
    actor.start();
    await waitFor('ready', () => connectionState(actor.getSnapshot()) === 'ready');
    const session = liveConnection<WireSession>(actor)!.session!;

    const replies = Array.from({ length: 50 }, (_, i) => session.request(i, { timeoutMs: 10_000 }));
    await waitFor('four handlers running', () => running === 4);
    await new Promise((r) => setTimeout(r, 50)); // more REQs have arrived by now; none may start
    expect(running).toBe(4);
    expect(server.clients()[0]!.inFlight).toBe(4);

    // Release handlers one by one: each completion lets exactly one waiting request in.
    for (let released = 0; released < 50; released++) {
      await waitFor(`gate ${released}`, () => gates.length > 0);
      gates.shift()!();
    }
    expect(await Promise.all(replies)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(peak).toBe(4);
  });

  it('rejects a bad bound at construction', () => {
    expect(() => createWireServer({ maxInFlightPerClient: 0 })).toThrow(InvalidOptionError);
    expect(() => createWireServer({ maxInFlightPerClient: 0 })).toThrow('wireServer.maxInFlightPerClient must be an integer >= 1, got 0');
  });
});
