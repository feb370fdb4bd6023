/**
 * The slow-frame and handshake bounds of the wire server in virtual time (issue 10, item
 * 4): a client that trickles a frame (slowloris) is dropped once the frame stays
 * short of `frameMinBytesPerSecond` over a `frameTimeoutMs` window, before and after HELLO;
 * a burst does not buy time for a trickle after it, and no frame outlives
 * `frameMaxTimeoutMs` (review of issue 10, item 5); a steady slow frame is not cut; the
 * server's own pauses are not blamed on the client; and trickled bytes do not extend the
 * handshake bound.
 *
 * The server runs on a VirtualTimeScheduler and serves an in-memory stream
 * (`server.accept`), so every byte lands at a known virtual instant.
 */
import { VirtualTimeScheduler } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/transport/frame-writer.js';
import { MessageType as T } from '../../src/transport/wire-messages.js';
import { createWireServer, type WireClientDropped, type WireServer, type WireServerOptions } from '../../src/transport/wire-server.js';
import { FrameWatch, frameTooSlow, sweepIntervalMs, type FrameProgress } from '../../src/transport/wire-server-watchdog.js';
import { advance, duplexPair, RawPeer, turn } from './helpers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Harness {
  readonly server: WireServer;
  readonly vts: VirtualTimeScheduler;
  readonly dropped: WireClientDropped[];
  readonly peer: RawPeer;
}

/** A server on virtual time serving one in-memory client; long heartbeat bounds unless given. */
function harness(opts: WireServerOptions): Harness {
  const vts = new VirtualTimeScheduler();
  const dropped: WireClientDropped[] = [];
  const server = createWireServer({
    clientIdleTimeoutMs: 600_000,
    clientProbeTimeoutMs: 600_000,
    handshakeTimeoutMs: 600_000,
    scheduler: vts,
    onClientDropped: (d) => dropped.push(d),
    ...opts,
  });
  cleanups.push(() => server.close({ graceful: false }));
  const [client, side] = duplexPair();
  server.accept(side);
  return { server, vts, dropped, peer: new RawPeer(client) };
}

async function handshake(h: Harness): Promise<void> {
  h.peer.send([T.HELLO, { version: 1 }]);
  await h.peer.next(T.HELLO_OK);
}

/**
 * Writes `bytes` one at a time, one every `everyMs` of virtual time, until the client is
 * dropped or `limitMs` passes; returns the virtual ms from the first byte to the drop.
 */
async function trickle(h: Harness, bytes: Buffer, everyMs: number, limitMs: number): Promise<number | undefined> {
  const start = h.vts.now();
  for (let i = 0; h.vts.now() - start < limitMs; i++) {
    if (i < bytes.length) h.peer.socket.write(bytes.subarray(i, i + 1));
    await turn();
    if (h.dropped.length > 0) return h.vts.now() - start;
    advance(h.vts, everyMs);
    if (h.dropped.length > 0) return h.vts.now() - start;
  }
  return undefined;
}

/** A REQ frame whose payload is a string of `n` characters. */
function requestFrame(h: Harness, id: number, n: number): Buffer {
  return encodeFrame(h.peer.codec.encode([T.REQ, id, 'x'.repeat(n)]));
}

describe('wire server: slow frames (slowloris)', () => {
  it('drops a client that trickles a frame after HELLO once it stays incomplete past frameTimeoutMs', async () => {
    const h = harness({ frameTimeoutMs: 1000, handler: (p) => p });
    await handshake(h);
    const sweep = sweepIntervalMs({ clientIdleTimeoutMs: 600_000, clientProbeTimeoutMs: 600_000, handshakeTimeoutMs: 600_000, frameTimeoutMs: 1000 });
    const droppedAt = await trickle(h, requestFrame(h, 1, 200), 100, 10_000); // 1 byte per 100 ms: 10 B/s
    expect(h.dropped.map((d) => d.reason)).toEqual(['frame-timeout']);
    expect(droppedAt).toBeGreaterThanOrEqual(1000);
    expect(droppedAt).toBeLessThanOrEqual(1000 + 2 * sweep + 100);
    await turn(3);
    expect(h.peer.closed).toBe(true);
    expect(h.server.connections).toBe(0);
  });

  it('drops a client that trickles its HELLO too (frameTimeoutMs shorter than the handshake bound)', async () => {
    const h = harness({ frameTimeoutMs: 1000, handshakeTimeoutMs: 60_000 });
    const hello = encodeFrame(h.peer.codec.encode([T.HELLO, { version: 1, token: 't'.repeat(100) }]));
    const droppedAt = await trickle(h, hello, 100, 10_000);
    expect(h.dropped.map((d) => d.reason)).toEqual(['frame-timeout']);
    expect(droppedAt).toBeGreaterThanOrEqual(1000);
    expect(droppedAt).toBeLessThan(2000);
  });

  it('keeps a big frame that arrives slowly but steadily above frameMinBytesPerSecond, past frameTimeoutMs', async () => {
    const h = harness({ frameTimeoutMs: 1000, frameMinBytesPerSecond: 1024, handler: (p) => (p as string).length });
    await handshake(h);
    const frame = requestFrame(h, 7, 6000); // 100 bytes per 50 ms = 2000 B/s: 3 s for the frame
    for (let at = 0; at < frame.length; at += 100) {
      h.peer.socket.write(frame.subarray(at, at + 100));
      await turn();
      advance(h.vts, 50);
    }
    expect(h.vts.now()).toBeGreaterThan(3 * 1000);
    expect(await h.peer.next(T.RES)).toEqual([T.RES, 7, 6000]);
    expect(h.dropped).toEqual([]);
  });

  it('does not blame the client while the server itself stops reading (too many handlers running)', async () => {
    let release!: () => void;
    const h = harness({
      frameTimeoutMs: 1000,
      maxInFlightPerClient: 1,
      handler: (p) => (p === 'slow' ? new Promise<string>((r) => (release = () => r('done'))) : p),
    });
    await handshake(h);
    const slow = encodeFrame(h.peer.codec.encode([T.REQ, 1, 'slow']));
    const queued = encodeFrame(h.peer.codec.encode([T.REQ, 2, 'queued']));
    const third = encodeFrame(h.peer.codec.encode([T.REQ, 3, 'third']));
    // One chunk: a running handler, a waiting request (reading stops), half of a third frame.
    h.peer.socket.write(Buffer.concat([slow, queued, third.subarray(0, 5)]));
    await turn();
    advance(h.vts, 10_000); // far past frameTimeoutMs, while the server holds reading
    expect(h.dropped).toEqual([]);
    release();
    const replies = [await h.peer.next(T.RES), await h.peer.next(T.RES)];
    expect(replies).toEqual(expect.arrayContaining([[T.RES, 1, 'done'], [T.RES, 2, 'queued']]));
    // Reading resumed: the clock restarts, and the rest of the frame in time is fine.
    advance(h.vts, 500);
    h.peer.socket.write(third.subarray(5));
    expect(await h.peer.next(T.RES)).toEqual([T.RES, 3, 'third']);
    expect(h.dropped).toEqual([]);
  });

  it('sends no heartbeat the client could not answer while the server holds its reading', async () => {
    let release!: () => void;
    const h = harness({
      clientIdleTimeoutMs: 1000,
      clientProbeTimeoutMs: 500,
      maxInFlightPerClient: 1,
      handler: (p) => (p === 'slow' ? new Promise<string>((r) => (release = () => r('done'))) : p),
    });
    await handshake(h);
    const slow = encodeFrame(h.peer.codec.encode([T.REQ, 1, 'slow']));
    const queued = encodeFrame(h.peer.codec.encode([T.REQ, 2, 'queued']));
    h.peer.socket.write(Buffer.concat([slow, queued])); // the second request stops reading
    await turn();
    for (let i = 0; i < 100; i++) advance(h.vts, 100); // 10 s: ten idle bounds, twenty probe bounds
    expect(h.dropped).toEqual([]);
    release();
    expect([await h.peer.next(T.RES), await h.peer.next(T.RES)]).toEqual(expect.arrayContaining([[T.RES, 1, 'done'], [T.RES, 2, 'queued']]));
    // Reading resumed: a silent client is probed and, unanswered, dropped as before.
    for (let i = 0; i < 30 && h.dropped.length === 0; i++) {
      advance(h.vts, 100);
      await turn();
    }
    expect(h.dropped.map((d) => d.reason)).toEqual(['heartbeat-timeout']);
  });

  it('a front-loaded burst buys no time: almost all of a 1 MiB frame at once, then a trickle, is cut after one window', async () => {
    const h = harness({ frameTimeoutMs: 1000, frameMinBytesPerSecond: 1024, handler: (p) => p });
    await handshake(h);
    const frame = requestFrame(h, 1, 1 << 20);
    h.peer.socket.write(frame.subarray(0, frame.length - 100));
    await turn();
    // Before: the allowance counted the burst (1 s per KiB received), ~17 minutes here.
    const droppedAt = await trickle(h, frame.subarray(frame.length - 100), 500, 60_000);
    expect(h.dropped.map((d) => d.reason)).toEqual(['frame-timeout']);
    expect(droppedAt).toBeLessThanOrEqual(1000 + 2 * 250 + 500);
    await turn(3);
    expect(h.server.connections).toBe(0);
  });

  it('no frame outlives frameMaxTimeoutMs, however steadily it arrives', async () => {
    const h = harness({ frameTimeoutMs: 1000, frameMinBytesPerSecond: 1024, frameMaxTimeoutMs: 3000, handler: (p) => (p as string).length });
    await handshake(h);
    const frame = requestFrame(h, 7, 20_000); // 100 bytes per 50 ms = 2000 B/s: 10 s for the frame
    const start = h.vts.now();
    for (let at = 0; at < frame.length && h.dropped.length === 0; at += 100) {
      h.peer.socket.write(frame.subarray(at, at + 100));
      await turn();
      advance(h.vts, 50);
    }
    expect(h.dropped.map((d) => d.reason)).toEqual(['frame-timeout']);
    expect(h.vts.now() - start).toBeGreaterThanOrEqual(3000);
    expect(h.vts.now() - start).toBeLessThanOrEqual(3000 + 2 * 250 + 50);
  });

  it('refuses a ceiling shorter than the window', () => {
    expect(() => createWireServer({ frameTimeoutMs: 10_000, frameMaxTimeoutMs: 5000 })).toThrow(
      'wireServer.frameMaxTimeoutMs must be at least frameTimeoutMs (10000), got 5000',
    );
  });

  it('forgives a stall caused by freeze(); the frame still has to finish after thaw()', async () => {
    const h = harness({ frameTimeoutMs: 1000, handler: (p) => p });
    await handshake(h);
    h.peer.socket.write(requestFrame(h, 1, 50).subarray(0, 10));
    await turn();
    advance(h.vts, 300);
    h.server.freeze();
    advance(h.vts, 10_000);
    h.server.thaw();
    advance(h.vts, 600);
    expect(h.dropped).toEqual([]);
    advance(h.vts, 1500);
    expect(h.dropped.map((d) => d.reason)).toEqual(['frame-timeout']);
  });
});

describe('wire server: the handshake bound holds against trickled bytes', () => {
  it('drops a client that trickles bytes without completing HELLO at handshakeTimeoutMs from connect', async () => {
    const h = harness({ handshakeTimeoutMs: 2000, frameTimeoutMs: 600_000 });
    // A HELLO trickled byte by byte: every byte is traffic, none of it extends the handshake.
    const hello = encodeFrame(h.peer.codec.encode([T.HELLO, { version: 1, token: 't'.repeat(200) }]));
    const droppedAt = await trickle(h, hello, 100, 10_000);
    expect(h.dropped.map((d) => d.reason)).toEqual(['handshake-timeout']);
    expect(droppedAt).toBeGreaterThanOrEqual(2000);
    expect(droppedAt).toBeLessThanOrEqual(2000 + 2 * 500 + 100);
  });
});

describe('frameTooSlow', () => {
  const limits = { frameTimeoutMs: 1000, frameMinBytesPerSecond: 1000, frameMaxTimeoutMs: 5000 };
  /** A frame in progress whose received bytes the test sets. */
  const progress = (): FrameProgress & { partialFrameBytes: number } => ({ partialFrameBytes: 0, framesDecoded: 0, readingHeld: false, frameWatch: new FrameWatch() });

  it('a sender at the minimum rate keeps going until the ceiling; a trickle is cut after one window', () => {
    const steady = progress();
    let droppedAt: number | undefined;
    for (let now = 0; now <= 10_000 && droppedAt === undefined; now += 250) {
      steady.partialFrameBytes = 1 + now; // 1000 B/s
      if (frameTooSlow(steady, now, limits)) droppedAt = now;
    }
    expect(droppedAt).toBe(5000); // the ceiling, from the first sweep that saw the frame
    const trickle = progress();
    droppedAt = undefined;
    for (let now = 0; now <= 10_000 && droppedAt === undefined; now += 250) {
      trickle.partialFrameBytes = 1 + Math.floor(now / 100); // 10 B/s
      if (frameTooSlow(trickle, now, limits)) droppedAt = now;
    }
    expect(droppedAt).toBe(1000);
  });

  it('bytes that came before the frame was first seen, or beyond a window due, buy no time later', () => {
    const burst = progress();
    burst.partialFrameBytes = 1 << 20; // a megabyte at once
    expect(frameTooSlow(burst, 0, limits)).toBe(false);
    burst.partialFrameBytes += 1;
    expect(frameTooSlow(burst, 1000, limits)).toBe(true); // 1 byte in the first window
    const ahead = progress();
    ahead.partialFrameBytes = 1;
    expect(frameTooSlow(ahead, 0, limits)).toBe(false);
    ahead.partialFrameBytes += 100_000; // 100 windows' worth in the first
    expect(frameTooSlow(ahead, 1000, limits)).toBe(false);
    expect(frameTooSlow(ahead, 2000, limits)).toBe(true); // nothing in the second
  });

  it('restarts its clocks for a new frame and while the server holds reading', () => {
    const conn = progress();
    conn.partialFrameBytes = 10;
    expect(frameTooSlow(conn, 0, limits)).toBe(false);
    (conn as { framesDecoded: number }).framesDecoded = 1; // that frame completed; another one is in progress
    expect(frameTooSlow(conn, 1500, limits)).toBe(false);
    expect(frameTooSlow(conn, 2500, limits)).toBe(true);
    const held = { ...progress(), partialFrameBytes: 10, readingHeld: true };
    expect(frameTooSlow(held, 0, limits)).toBe(false);
    expect(frameTooSlow(held, 10_000, limits)).toBe(false);
    expect(held.frameWatch.seenAt).toBe(-1);
  });

  it('sweeps every quarter of the shortest bound', () => {
    expect(sweepIntervalMs({ clientIdleTimeoutMs: 15_000, clientProbeTimeoutMs: 5000, handshakeTimeoutMs: 10_000, frameTimeoutMs: 10_000 })).toBe(1250);
    expect(sweepIntervalMs({ clientIdleTimeoutMs: 15_000, clientProbeTimeoutMs: 5000, handshakeTimeoutMs: 10_000, frameTimeoutMs: 400 })).toBe(100);
    expect(sweepIntervalMs({ clientIdleTimeoutMs: 1, clientProbeTimeoutMs: 1, handshakeTimeoutMs: 1, frameTimeoutMs: 1 })).toBe(1);
  });
});
