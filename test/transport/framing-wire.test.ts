/**
 * Framing offload end to end on 127.0.0.1: a real `createWireServer` and `wire()` client,
 * each with its own framing pool (real worker threads), big PACKED frames both ways.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { hasCode, ProtocolError } from '../../src/errors.js';
import { encodeFrame } from '../../src/transport/frame-writer.js';
import { offloaded } from '../../src/transport/framing-offloaded.js';
import { packInner, PACKED_HEADER_BYTES, writePackedHeader } from '../../src/transport/framing-packed.js';
import { createFramingPool, type FramingPool } from '../../src/transport/framing-pool.js';
import { tcp } from '../../src/transport/tcp.js';
import { MessageType as T } from '../../src/transport/wire-messages.js';
import { createWireServer, type WireClientDropped, type WireServer, type WireServerOptions } from '../../src/transport/wire-server.js';
import type { WireSession } from '../../src/transport/wire-session.js';
import { wire, type WireOptions } from '../../src/transport/wire.js';
import { expectHandlesBackTo, handleCounts, RawPeer, waitFor, rejection } from './helpers.js';

const THRESHOLD = 64 * 1024;
const cleanups: Array<() => unknown> = [];
let baseline: Record<string, number>;

beforeEach(() => {
  baseline = handleCounts();
});

afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of cleanups.splice(0).reverse()) await c();
});

function framingPool(): FramingPool {
  const pool = createFramingPool({ maxThreads: 1, offloadThresholdBytes: THRESHOLD });
  cleanups.push(() => pool.close());
  return pool;
}

async function startServer(opts?: WireServerOptions): Promise<{ server: WireServer; port: number; dropped: WireClientDropped[] }> {
  const dropped: WireClientDropped[] = [];
  const server = createWireServer({ ...opts, onClientDropped: (d) => dropped.push(d) });
  cleanups.push(() => server.close({ graceful: false }));
  const addr = (await server.listen()) as { host: string; port: number };
  return { server, port: addr.port, dropped };
}

async function connectClient(port: number, opts?: WireOptions): Promise<WireSession> {
  const stream = await tcp().dial({ port }, { connectTimeoutMs: 2000 });
  const { asyncScheduler } = await import('rxjs');
  const session = await wire(opts).open(stream, {
    signal: new AbortController().signal,
    endpoint: { host: '127.0.0.1', port },
    markAlive: () => {},
    scheduler: asyncScheduler,
  });
  cleanups.push(() => session.destroy());
  return session;
}

/** About `bytes` of msgpack: rows of small records. */
function rows(bytes: number, tag = 0): { tag: number; rows: { id: number; name: string; score: number }[] } {
  const out = [];
  for (let i = 0; out.length * 30 < bytes; i++) out.push({ id: i, name: `user-${i}`, score: i * 0.5 });
  return { tag, rows: out };
}

describe('framing offload over the wire protocol', () => {
  it('round-trips 1 MiB and 4 MiB objects both ways, decoded on the workers, equal to the input', async () => {
    const serverPool = framingPool();
    const clientPool = framingPool();
    const serverDecode = vi.spyOn(serverPool, 'decode');
    const clientDecode = vi.spyOn(clientPool, 'decode');
    const { server, port } = await startServer({ framing: serverPool, handler: (req) => offloaded(req) });
    const session = await connectClient(port, { framing: clientPool });
    for (const size of [1 << 20, 4 << 20]) {
      const payload = rows(size, size);
      expect(await session.request(payload, { offload: true, timeoutMs: 15_000 })).toEqual(payload);
    }
    expect(serverDecode).toHaveBeenCalledTimes(2);
    expect(clientDecode).toHaveBeenCalledTimes(2);
    const pushed: unknown[] = [];
    session.onPush((p) => pushed.push(p));
    const big = rows(2 << 20, 7);
    expect(server.push(session.clientId, big, { offload: true })).toBe(1);
    await waitFor(() => pushed.length === 1, 'the big push', 10_000);
    expect(pushed[0]).toEqual(big);
    expect(clientDecode).toHaveBeenCalledTimes(3);
  });

  it('keeps each connection in order: big offloaded and small inline requests, replies and pushes are dispatched in send order', async () => {
    const serverPool = framingPool();
    const clientPool = framingPool();
    const handled: number[] = [];
    const { server, port } = await startServer({
      framing: serverPool,
      handler: (req) => {
        const seq = (req as { seq: number }).seq;
        handled.push(seq);
        return seq % 3 === 0 ? offloaded({ seq, ...rows(200 * 1024) }) : { seq };
      },
    });
    const session = await connectClient(port, { framing: clientPool });
    const replied: number[] = [];
    const calls = Array.from({ length: 12 }, (_, seq) => {
      const big = seq % 3 === 0;
      const payload = big ? { seq, ...rows(200 * 1024) } : { seq };
      return session.request(payload, { offload: big, timeoutMs: 15_000 }).then((r) => void replied.push((r as { seq: number }).seq));
    });
    await Promise.all(calls);
    const inOrder = Array.from({ length: 12 }, (_, i) => i);
    expect(handled).toEqual(inOrder);
    expect(replied).toEqual(inOrder);

    const pushed: number[] = [];
    session.onPush((p) => void pushed.push((p as { tag: number }).tag));
    for (let tag = 0; tag < 9; tag++) {
      const big = tag % 2 === 0;
      server.push(session.clientId, big ? rows(150 * 1024, tag) : { tag }, { offload: big });
    }
    await waitFor(() => pushed.length === 9, 'all pushes', 10_000);
    expect(pushed).toEqual(Array.from({ length: 9 }, (_, i) => i));
  });

  it('a malformed PACKED inner kills only that connection with WW_PROTOCOL_ERROR, offloaded or inline', async () => {
    const serverPool = framingPool();
    const { port, dropped } = await startServer({ framing: serverPool, handler: (req) => req });
    const healthy = await connectClient(port);
    const badInners = [
      // Big enough for the worker: trailing bytes after a valid value.
      Buffer.concat([packInner([T.REQ, 1, rows(THRESHOLD * 2)]), Buffer.from([0xc0])]),
      // Small, decoded inline: a truncated array.
      Buffer.from([0x93, 0x04]),
    ];
    for (const inner of badInners) {
      const peer = await RawPeer.connect(port);
      peer.send([T.HELLO, { version: 1 }]);
      await peer.next(T.HELLO_OK);
      const payload = Buffer.allocUnsafe(PACKED_HEADER_BYTES + inner.length);
      writePackedHeader(payload, 0, inner.length);
      payload.set(inner, PACKED_HEADER_BYTES);
      peer.socket.write(encodeFrame(payload));
      await waitFor(() => peer.closed, 'the bad peer to be dropped', 10_000);
    }
    expect(dropped.map((d) => d.reason)).toEqual(['protocol-error', 'protocol-error']);
    for (const d of dropped) {
      expect(d.error).toBeInstanceOf(ProtocolError);
      expect(hasCode(d.error, 'WW_PROTOCOL_ERROR')).toBe(true);
    }
    expect(dropped[0]!.error!.message).toMatch(/undecodable PACKED inner/);
    // The other client never noticed.
    expect(await healthy.request({ still: 'here' })).toEqual({ still: 'here' });
  });

  it('maxFrameBytes still bounds the outer frame: refused before allocation inbound, synchronously outbound', async () => {
    const { port, dropped } = await startServer({ maxFrameBytes: 1 << 20, handler: (req) => req });
    const peer = await RawPeer.connect(port);
    peer.send([T.HELLO, { version: 1 }]);
    await peer.next(T.HELLO_OK);
    // Only the header of a 2 MiB PACKED frame: refused on the length alone.
    const header = Buffer.alloc(4 + PACKED_HEADER_BYTES);
    header.writeUInt32BE(PACKED_HEADER_BYTES + (2 << 20), 0);
    writePackedHeader(header, 4, 2 << 20);
    peer.socket.write(header);
    await waitFor(() => peer.closed, 'the peer to be dropped');
    expect(hasCode(dropped[0]?.error, 'WW_FRAME_TOO_LARGE')).toBe(true);

    const session = await connectClient(port, { maxFrameBytes: 1 << 20 });
    const err = await rejection(session.request(rows(2 << 20), { offload: true }));
    expect(hasCode(err, 'WW_FRAME_TOO_LARGE')).toBe(true);
    expect(await session.request({ small: true }, { offload: true })).toEqual({ small: true });
  });

  it('rejects anything but a framing pool as the framing option', () => {
    expect(() => wire({ framing: {} as FramingPool })).toThrow('wire.framing must be a framing pool (createFramingPool()), got an object');
    expect(() => createWireServer({ framing: 1 as unknown as FramingPool })).toThrow('wireServer.framing must be a framing pool');
  });

  it('leaves no worker thread, socket or timer once sessions, server and pools are closed', async () => {
    const serverPool = framingPool();
    const clientPool = framingPool();
    const { server, port } = await startServer({ framing: serverPool, handler: (req) => offloaded(req) });
    const session = await connectClient(port, { framing: clientPool });
    const payload = rows(THRESHOLD * 4);
    expect(await session.request(payload, { offload: true, timeoutMs: 10_000 })).toEqual(payload);
    expect(serverPool.threads + clientPool.threads).toBeGreaterThan(0);
    await session.close();
    await server.close();
    await Promise.all([serverPool.close(), clientPool.close()]);
    expect(serverPool.threads + clientPool.threads).toBe(0);
    expect(process.getActiveResourcesInfo().filter((r) => /Worker|MessagePort/.test(r))).toEqual([]);
    await expectHandlesBackTo(baseline);
  });
});
