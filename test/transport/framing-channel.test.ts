/**
 * PACKED frames inside one `WireChannel`, on an in-memory stream. The framing pool's
 * `decode` is replaced by a promise the test settles, so order and backpressure are
 * checked deterministically (the real worker round trip is in framing-wire.test.ts).
 */
import { Duplex } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { hasCode, ProtocolError } from '../../src/errors.js';
import { FrameDecoder } from '../../src/transport/frame-decoder.js';
import { encodeFrame } from '../../src/transport/frame-writer.js';
import { packInner, packPacked, parsePackedFrame, unpackInner } from '../../src/transport/framing-packed.js';
import { createFramingPool, type FramingPool } from '../../src/transport/framing-pool.js';
import { MsgpackCodec } from '../../src/transport/msgpack-codec.js';
import { WireChannel } from '../../src/transport/wire-channel.js';
import { MessageType as T, parseWireMessage, type WireMessage } from '../../src/transport/wire-messages.js';
import { turn, waitFor } from './helpers.js';

const THRESHOLD = 1024;
const pools: FramingPool[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

interface Deferred {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/** A pool whose `decode` hands each call to the test instead of a worker. */
function controlledPool(): { pool: FramingPool; calls: Deferred[] } {
  const pool = createFramingPool({ maxThreads: 1, offloadThresholdBytes: THRESHOLD });
  pools.push(pool);
  const calls: Deferred[] = [];
  vi.spyOn(pool, 'decode').mockImplementation(
    () => new Promise((resolve, reject) => calls.push({ resolve, reject })),
  );
  return { pool, calls };
}

/** Our side of a channel: `feed` pushes inbound bytes, `out` collects what it writes. */
function harness(options: { framing?: FramingPool; maxQueuedBytes?: number } = {}) {
  const out: Buffer[] = [];
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      out.push(chunk);
      cb();
    },
  });
  const got: WireMessage[] = [];
  const closes: (Error | undefined)[] = [];
  const channel = new WireChannel(stream, {
    maxFrameBytes: 1 << 24,
    maxQueuedBytes: options.maxQueuedBytes ?? 1 << 20,
    onMessage: (msg) => void got.push(msg),
    onClose: (err) => void closes.push(err),
    ...(options.framing ? { framing: options.framing } : {}),
  });
  // The peer's encoder: the handshake one-off, then its record stream.
  const tx = new MsgpackCodec();
  const feed = (payload: Uint8Array): void => void stream.push(encodeFrame(payload));
  feed(tx.encodeOneOff([T.HELLO, { version: 1 }]));
  return { stream, channel, got, closes, out, tx, feed };
}

const big = (tag: string) => ({ tag, rows: Array.from({ length: 200 }, (_, i) => ({ i, name: `row-${i}` })) });
const types = (msgs: WireMessage[]) => msgs.map((m) => m.type);

describe('WireChannel with PACKED frames', () => {
  it('decodes a big PACKED frame on the pool and holds every later frame until it is dispatched', async () => {
    const { pool, calls } = controlledPool();
    const h = harness({ framing: pool });
    const bigInner = packInner([T.MSG, big('first')]);
    expect(bigInner.length).toBeGreaterThanOrEqual(THRESHOLD);
    h.feed(packPacked([T.MSG, big('first')]));
    h.feed(h.tx.encode([T.MSG, { tag: 'second' }]));
    h.feed(Buffer.from([0x92, T.PING, 0x07]));
    h.feed(packPacked([T.MSG, { tag: 'small packed' }]));
    await waitFor(() => calls.length === 1, 'the offloaded decode');
    await turn(2);
    expect(types(h.got)).toEqual([T.HELLO]);
    calls[0]!.resolve(unpackInner(bigInner));
    await waitFor(() => h.got.length === 5, 'the held messages');
    expect(h.got.slice(1)).toEqual([
      { type: T.MSG, payload: big('first') },
      { type: T.MSG, payload: { tag: 'second' } },
      { type: T.PING, id: 7 },
      { type: T.MSG, payload: { tag: 'small packed' } },
    ]);
    // Idle again: the next frame is dispatched synchronously with its chunk.
    h.feed(h.tx.encode([T.MSG, { tag: 'third' }]));
    await waitFor(() => h.got.length === 6, 'the next message');
    expect(pool.decode).toHaveBeenCalledTimes(1);
    h.channel.destroy();
  });

  it('decodes small PACKED frames inline, and every frame inline without a pool', async () => {
    const { pool, calls } = controlledPool();
    const withPool = harness({ framing: pool });
    withPool.feed(packPacked([T.MSG, { tag: 'small' }]));
    const noPool = harness();
    noPool.feed(packPacked([T.MSG, big('big, no pool')]));
    await waitFor(() => withPool.got.length === 2 && noPool.got.length === 2, 'inline dispatch');
    expect(calls).toHaveLength(0);
    expect(noPool.got[1]).toEqual({ type: T.MSG, payload: big('big, no pool') });
    withPool.channel.destroy();
    noPool.channel.destroy();
  });

  it('pauses reading while more than maxQueuedBytes wait, and resumes once they are dispatched', async () => {
    const { pool, calls } = controlledPool();
    const h = harness({ framing: pool, maxQueuedBytes: 512 });
    const inner = packInner([T.MSG, big('x')]);
    h.feed(packPacked([T.MSG, big('x')]));
    await waitFor(() => calls.length === 1, 'the offloaded decode');
    expect(h.stream.isPaused()).toBe(true);
    calls[0]!.resolve(unpackInner(inner));
    await waitFor(() => h.got.length === 2, 'dispatch');
    expect(h.stream.isPaused()).toBe(false);
    h.channel.destroy();
  });

  it('does not resume a stream its owner paused (a frozen server) when the backlog drains', async () => {
    const { pool, calls } = controlledPool();
    const h = harness({ framing: pool, maxQueuedBytes: 512 });
    const inner = packInner([T.MSG, big('x')]);
    h.feed(packPacked([T.MSG, big('x')]));
    await waitFor(() => calls.length === 1, 'the offloaded decode');
    h.channel.pause();
    calls[0]!.resolve(unpackInner(inner));
    await waitFor(() => h.got.length === 2, 'dispatch');
    expect(h.stream.isPaused()).toBe(true);
    h.channel.resume();
    expect(h.stream.isPaused()).toBe(false);
    h.channel.destroy();
  });

  it('a failed offloaded decode kills the connection in its turn: earlier messages are dispatched, later ones are not', async () => {
    const { pool, calls } = controlledPool();
    const h = harness({ framing: pool });
    const inner = packInner([T.MSG, big('ok')]);
    h.feed(packPacked([T.MSG, big('ok')]));
    h.feed(packPacked([T.MSG, big('bad')]));
    h.feed(h.tx.encode([T.MSG, { tag: 'after' }]));
    await waitFor(() => calls.length === 2, 'two offloaded decodes');
    calls[1]!.reject(new ProtocolError('undecodable PACKED inner of 4000 bytes'));
    calls[0]!.resolve(unpackInner(inner));
    await waitFor(() => h.closes.length === 1, 'close');
    expect(h.got.map((m) => (m.type === T.MSG ? (m.payload as { tag: string }).tag : m.type))).toEqual([T.HELLO, 'ok']);
    expect(hasCode(h.closes[0], 'WW_PROTOCOL_ERROR')).toBe(true);
  });

  it('drops what still waits when the connection closes; nothing is dispatched after onClose', async () => {
    const { pool, calls } = controlledPool();
    const h = harness({ framing: pool });
    const inner = packInner([T.MSG, big('late')]);
    h.feed(packPacked([T.MSG, big('late')]));
    h.feed(h.tx.encode([T.MSG, { tag: 'behind' }]));
    await waitFor(() => calls.length === 1, 'the offloaded decode');
    h.channel.destroy();
    await waitFor(() => h.closes.length === 1, 'close');
    calls[0]!.resolve(unpackInner(inner));
    await turn(3);
    expect(types(h.got)).toEqual([T.HELLO]);
  });

  it('refuses a PACKED frame that carries a handshake or heartbeat, or arrives before the handshake', async () => {
    const h = harness();
    h.feed(packPacked([T.PING, 1]));
    await waitFor(() => h.closes.length === 1, 'close');
    expect(hasCode(h.closes[0], 'WW_PROTOCOL_ERROR')).toBe(true);
    expect(h.closes[0]!.message).toMatch(/PACKED/);

    const stream = new Duplex({ read() {}, write: (_c, _e, cb) => cb() });
    const closes: (Error | undefined)[] = [];
    new WireChannel(stream, { maxFrameBytes: 1 << 20, maxQueuedBytes: 1 << 20, onMessage: () => {}, onClose: (e) => void closes.push(e) });
    stream.push(encodeFrame(packPacked([T.MSG, 'too early'])));
    await waitFor(() => closes.length === 1, 'close');
    expect(hasCode(closes[0], 'WW_PROTOCOL_ERROR')).toBe(true);
  });

  it('sends PACKED frames without touching the record stream: the peer decodes everything in order', async () => {
    const h = harness();
    const sent: WireMessage[] = [
      { type: T.MSG, payload: { user: 'a', age: 1 } },
      { type: T.MSG, payload: { user: 'b', age: 2 } },
      { type: T.MSG, payload: { user: 'c', age: 3 } },
      { type: T.PUSH, payload: [{ user: 'd', age: 4 }] },
    ];
    h.channel.send(sent[0]!);
    h.channel.send(sent[1]!, true);
    h.channel.send(sent[2]!);
    h.channel.send(sent[3]!, true);
    await turn(2);
    const rx = new MsgpackCodec();
    const got: WireMessage[] = [];
    const packedAt: number[] = [];
    const decoder = new FrameDecoder((frame) => {
      const inner = parsePackedFrame(frame);
      if (inner !== undefined) packedAt.push(got.length);
      got.push(parseWireMessage(inner !== undefined ? unpackInner(inner) : rx.decode(frame)));
    });
    for (const chunk of h.out) decoder.push(chunk);
    expect(got).toEqual(sent);
    expect(packedAt).toEqual([1, 3]);
    h.channel.destroy();
  });

  it('refuses an unencodable or oversized PACKED send synchronously, leaving the channel usable', async () => {
    const out: Buffer[] = [];
    const stream = new Duplex({ read() {}, write: (c: Buffer, _e, cb) => { out.push(c); cb(); } });
    const channel = new WireChannel(stream, { maxFrameBytes: 256, maxQueuedBytes: 1 << 20, onMessage: () => {}, onClose: () => {} });
    expect(() => channel.send({ type: T.MSG, payload: 2n ** 70n }, true)).toThrow(ProtocolError);
    let tooLarge: unknown;
    try {
      channel.send({ type: T.MSG, payload: 'x'.repeat(300) }, true);
    } catch (err) {
      tooLarge = err;
    }
    expect(hasCode(tooLarge, 'WW_FRAME_TOO_LARGE')).toBe(true);
    channel.send({ type: T.MSG, payload: 'fits' }, true);
    await turn(2);
    expect(out.length).toBeGreaterThan(0);
    const frames: Buffer[] = [];
    const d = new FrameDecoder((f) => frames.push(Buffer.from(f)));
    for (const c of out) d.push(c);
    expect(frames).toHaveLength(1);
    expect(unpackInner(parsePackedFrame(frames[0]!)!)).toEqual([T.MSG, 'fits']);
    channel.destroy();
  });
});
