/**
 * An idle wire connection keeps no msgpack codec state: heartbeats in either direction
 * build no encoder or decoder, and the first request builds them on demand. (Each one
 * costs 0.1–2 KB for the connection's life; idle connections are the 10k case.)
 */
import { asyncScheduler } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';

const built = vi.hoisted(() => ({ packr: 0, unpackr: 0 }));

vi.mock('msgpackr', async (importOriginal) => {
  const m = await importOriginal<typeof import('msgpackr')>();
  class CountingPackr extends m.Packr {
    constructor(...args: ConstructorParameters<typeof m.Packr>) {
      super(...args);
      built.packr++;
    }
  }
  class CountingUnpackr extends m.Unpackr {
    constructor(...args: ConstructorParameters<typeof m.Unpackr>) {
      super(...args);
      built.unpackr++;
    }
  }
  return { ...m, Packr: CountingPackr, Unpackr: CountingUnpackr };
});

const { tcp } = await import('../../src/transport/tcp.js');
const { createWireServer } = await import('../../src/transport/wire-server.js');
const { wire } = await import('../../src/transport/wire.js');

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('idle wire connection', () => {
  it('pings build no codec on either side; the first request builds them', async () => {
    const server = createWireServer({ handler: (p) => p });
    cleanups.push(() => server.close({ graceful: false }));
    const { port } = (await server.listen()) as { port: number };
    const stream = await tcp().dial({ port }, { connectTimeoutMs: 2000 });
    const session = await wire().open(stream, {
      signal: new AbortController().signal,
      endpoint: { host: '127.0.0.1', port },
      markAlive: () => {},
      scheduler: asyncScheduler,
    });
    cleanups.push(() => session.destroy());
    await session.ping(); // the server has finished its side of the handshake too
    const afterHandshake = { ...built };
    for (let i = 0; i < 100; i++) await session.ping();
    expect(built).toEqual(afterHandshake);
    expect(await session.request({ op: 'echo' })).toEqual({ op: 'echo' });
    // client encoder + server decoder for the request, server encoder + client decoder for the reply
    expect(built).toEqual({ packr: afterHandshake.packr + 2, unpackr: afterHandshake.unpackr + 2 });
  });
});
