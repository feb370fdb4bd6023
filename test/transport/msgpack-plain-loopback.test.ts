/**
 * Plain msgpack only, end to end on 127.0.0.1: a real `createWireServer`, a raw peer that
 * sends hostile frames after a valid handshake, and a `wire()` client that keeps being
 * served. Each hostile frame kills its own connection at once; no handler sees it.
 */
import { asyncScheduler } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/errors.js';
import { encodeFrame } from '../../src/transport/frame-writer.js';
import { PACKED_HEADER_BYTES } from '../../src/transport/framing-packed.js';
import { createFramingPool } from '../../src/transport/framing-pool.js';
import { tcp } from '../../src/transport/tcp.js';
import { MessageType as T } from '../../src/transport/wire-messages.js';
import { createWireServer, type WireClientDropped, type WireServerOptions } from '../../src/transport/wire-server.js';
import type { WireSession } from '../../src/transport/wire-session.js';
import { wire, type WireOptions } from '../../src/transport/wire.js';
import { expectHandlesBackTo, handleCounts, RawPeer, waitFor } from './helpers.js';
import { packedBomb, referenceBomb } from './msgpack-bombs.js';

const cleanups: Array<() => unknown> = [];
let baseline: Record<string, number>;

beforeEach(() => {
  baseline = handleCounts();
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startServer(opts?: WireServerOptions): Promise<{ port: number; dropped: WireClientDropped[]; payloads: unknown[] }> {
  const dropped: WireClientDropped[] = [];
  const payloads: unknown[] = [];
  const server = createWireServer({
    handler: (payload) => {
      payloads.push(payload);
      return payload;
    },
    ...opts,
    onClientDropped: (d) => dropped.push(d),
  });
  cleanups.push(() => server.close({ graceful: false }));
  const addr = (await server.listen()) as { host: string; port: number };
  return { port: addr.port, dropped, payloads };
}

async function connectClient(port: number, opts?: WireOptions): Promise<WireSession> {
  const stream = await tcp().dial({ port }, { connectTimeoutMs: 2000 });
  const session = await wire(opts).open(stream, {
    signal: new AbortController().signal,
    endpoint: { host: '127.0.0.1', port },
    markAlive: () => {},
    scheduler: asyncScheduler,
  });
  cleanups.push(() => session.destroy());
  return session;
}

/** Sends `payload` as one frame after a valid handshake; resolves once the server dropped the peer. */
async function sendHostile(port: number, payload: Buffer): Promise<{ elapsedMs: number; rssGrowthBytes: number }> {
  const peer = await RawPeer.connect(port);
  cleanups.push(() => peer.socket.destroy());
  peer.send([T.HELLO, { version: 1 }]);
  await peer.next(T.HELLO_OK);
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  peer.socket.write(encodeFrame(payload));
  await waitFor(() => peer.closed, 'the hostile peer to be dropped');
  return { elapsedMs: performance.now() - started, rssGrowthBytes: process.memoryUsage().rss - rssBefore };
}

describe('plain msgpack only, over loopback', () => {
  it('a reference bomb, a cycle or a Set kills that connection within 100 ms; no handler sees it; another client is still served', async () => {
    const { port, dropped, payloads } = await startServer();
    const healthy = await connectClient(port);
    expect(await healthy.request({ before: 1 })).toEqual({ before: 1 });
    const hostile: [Buffer, RegExp][] = [
      [referenceBomb(23), /msgpack frame of 311 bytes holds a structured-clone reference target \(extension 0x69\) at offset 3/],
      [Buffer.from([0x93, 0x04, 0x02, 0xd6, 0x69, 0, 0, 0, 1, 0x91, 0xd6, 0x70, 0, 0, 0, 1]), /structured-clone reference target/],
      [Buffer.from([0x93, 0x04, 0x03, 0xd4, 0x73, 0x00, 0x91, 0x01]), /holds a Set \(extension 0x73\)/],
    ];
    for (const [frame, message] of hostile) {
      const { elapsedMs, rssGrowthBytes } = await sendHostile(port, frame);
      expect(elapsedMs).toBeLessThan(100);
      expect(rssGrowthBytes).toBeLessThan(32 * 1024 * 1024);
      const drop = dropped.at(-1)!;
      expect(drop.reason).toBe('protocol-error');
      expect(drop.error).toBeInstanceOf(ProtocolError);
      expect(drop.error!.message).toMatch(message);
      expect(await healthy.request({ still: 'served' })).toEqual({ still: 'served' });
    }
    expect(dropped).toHaveLength(3);
    expect(payloads).toEqual([{ before: 1 }, { still: 'served' }, { still: 'served' }, { still: 'served' }]);
  });

  it('a 1.3 KB PACKED bomb is refused on the framing worker (and inline without a pool) within 100 ms', async () => {
    const framing = createFramingPool({ maxThreads: 1, offloadThresholdBytes: 0 });
    cleanups.push(() => framing.close());
    const leaf = [0xd9, 0xf4, ...Buffer.alloc(500, 0x61)];
    for (const opts of [{ framing }, {}]) {
      const { port, dropped } = await startServer(opts);
      const healthy = await connectClient(port);
      // Starts the server's worker thread (slow under tsx), so only the refusal is timed.
      expect(await healthy.request({ warm: true }, { offload: true })).toEqual({ warm: true });
      const frame = packedBomb(23, leaf);
      expect(frame.length).toBeGreaterThan(1300);
      const { elapsedMs, rssGrowthBytes } = await sendHostile(port, frame);
      expect(elapsedMs).toBeLessThan(100);
      expect(rssGrowthBytes).toBeLessThan(32 * 1024 * 1024);
      expect(dropped.map((d) => d.reason)).toEqual(['protocol-error']);
      expect(dropped[0]!.error!.message).toContain(`PACKED inner of ${frame.length - PACKED_HEADER_BYTES} bytes holds a structured-clone reference target`);
      expect(await healthy.request({ still: 'served' }, { offload: true })).toEqual({ still: 'served' });
    }
  });

  it('the client sends plain data only: Date, Set, Error, undefined and typed arrays reach the handler in their plain forms', async () => {
    const { port, payloads } = await startServer();
    const session = await connectClient(port);
    const sent = { when: new Date(0), tags: new Set(['a']), err: new RangeError('r'), missing: undefined, floats: new Float32Array([1]) };
    const plain = { when: new Date(0), tags: ['a'], err: ['RangeError', 'r', null], missing: null, floats: Buffer.from(new Float32Array([1]).buffer) };
    expect(await session.request(sent)).toEqual(plain);
    expect(await session.request(sent, { offload: true })).toEqual(plain);
    expect(payloads).toEqual([plain, plain]);
  });

  it('leaves no socket or timer behind once the server and clients are closed', async () => {
    const { port } = await startServer();
    await connectClient(port);
    await sendHostile(port, referenceBomb(23));
    for (const c of cleanups.splice(0).reverse()) await c();
    await expectHandlesBackTo(baseline);
  });
});
