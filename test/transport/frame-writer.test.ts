import { Writable, Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors.js';
import { FrameDecoder } from '../../src/transport/frame-decoder.js';
import { FrameWriter, encodeFrame } from '../../src/transport/frame-writer.js';
import { turn } from './helpers.js';

/** A Duplex whose writes are held until `release()`: `write()` returns false at once. */
function slowPeer() {
  const held: Array<{ chunk: Buffer; cb: () => void }> = [];
  const received: Buffer[] = [];
  const stream = new Duplex({
    highWaterMark: 1,
    read() {},
    write(chunk: Buffer, _enc, cb) {
      held.push({ chunk, cb });
    },
    writev(chunks, cb) {
      for (const c of chunks) held.push({ chunk: c.chunk as Buffer, cb: () => {} });
      held.push({ chunk: Buffer.alloc(0), cb });
    },
  });
  return {
    stream,
    received,
    held,
    /** Lets everything held so far through (the peer reads). */
    release() {
      for (const h of held.splice(0)) {
        received.push(h.chunk);
        h.cb();
      }
    },
  };
}

function framesOf(chunks: Buffer[]): string[] {
  const out: string[] = [];
  const d = new FrameDecoder((f) => out.push(String(f)));
  for (const c of chunks) d.push(c);
  return out;
}

describe('FrameWriter', () => {
  it('encodeFrame prefixes a u32 big-endian length', () => {
    expect([...encodeFrame(Buffer.from('hi'))]).toEqual([0, 0, 0, 2, 0x68, 0x69]);
  });

  it('queues behind backpressure up to maxQueuedBytes, then throws WriteQueueFullError', () => {
    const peer = slowPeer(); // never drains in this test
    const w = new FrameWriter(peer.stream, { maxQueuedBytes: 100 });
    expect(w.write(Buffer.alloc(10))).toBe(true); // held for the tick's burst
    expect(w.write(Buffer.alloc(10))).toBe(false); // the held frame went to the stream, which signals backpressure: queued
    expect(w.blocked).toBe(true);
    for (let i = 0; i < 6; i++) expect(w.write(Buffer.alloc(10))).toBe(false); // 7 × 14 = 98 bytes queued
    expect(w.queuedBytes).toBe(98);
    let caught: unknown;
    try {
      w.write(Buffer.alloc(10));
    } catch (err) {
      caught = err;
    }
    expect(hasCode(caught, 'WW_WRITE_QUEUE_FULL')).toBe(true);
    expect((caught as Error).message).toMatch(/98 bytes queued, a frame of 14 bytes would exceed maxQueuedBytes 100/);
    expect(w.queuedBytes).toBe(98); // the refused frame left no trace
    // The stream's own buffer holds only the first frame: nothing grew without bound.
    expect(peer.stream.writableLength).toBeLessThanOrEqual(14);
    w.dispose();
  });

  it('writeFramed fills the header in place, queues behind backpressure in order, and refuses like write', async () => {
    const peer = slowPeer();
    const w = new FrameWriter(peer.stream, { maxQueuedBytes: 100, maxFrameBytes: 50 });
    const framed = (text: string) => Buffer.concat([Buffer.alloc(4), Buffer.from(text)]);
    const first = framed('ping');
    expect(w.writeFramed(first)).toBe(false); // straight to the stream, which signals backpressure
    expect([...first.subarray(0, 4)]).toEqual([0, 0, 0, 4]);
    expect(w.writeFramed(framed('pong'))).toBe(false); // queued (8 bytes)
    w.write(Buffer.from('x'));
    expect(w.queuedBytes).toBe(8 + 5);
    expect(() => w.writeFramed(framed('y'.repeat(51)))).toThrow(/51 bytes exceeds maxFrameBytes 50/);
    for (let i = 0; i < 20 && peer.held.length + w.queuedBytes > 0; i++) {
      peer.release();
      await turn();
    }
    expect(framesOf(peer.received)).toEqual(['ping', 'pong', 'x']);
    w.dispose();
    expect(() => w.writeFramed(framed('late'))).toThrow(/closed/);
  });

  it('a heartbeat frame written behind a held frame keeps its place: both leave in one writev at the end of the tick', async () => {
    const calls: Buffer[][] = [];
    const sink = new Duplex({
      read() {},
      write(c: Buffer, _e, cb) {
        calls.push([c]);
        cb();
      },
      writev(cs, cb) {
        calls.push(cs.map((c) => c.chunk as Buffer));
        cb();
      },
    });
    const w = new FrameWriter(sink);
    w.write(Buffer.from('req'));
    w.writeFramed(Buffer.concat([Buffer.alloc(4), Buffer.from('ping')]));
    expect(calls).toEqual([]);
    await Promise.resolve();
    expect(calls).toHaveLength(1);
    expect(framesOf(calls[0]!)).toEqual(['req', 'ping']);
  });

  it('flushes the queue in order on drain', async () => {
    const peer = slowPeer();
    const w = new FrameWriter(peer.stream, { maxQueuedBytes: 1000 });
    for (const s of ['a', 'bb', 'ccc', 'dddd']) w.write(Buffer.from(s));
    expect(w.queuedBytes).toBeGreaterThan(0);
    for (let i = 0; i < 10 && (peer.held.length > 0 || w.queuedBytes > 0); i++) {
      peer.release();
      await turn();
    }
    expect(w.queuedBytes).toBe(0);
    expect(framesOf(peer.received)).toEqual(['a', 'bb', 'ccc', 'dddd']);
  });

  it('end() flushes queued frames before ending the stream', async () => {
    const peer = slowPeer();
    const w = new FrameWriter(peer.stream);
    w.write(Buffer.from('one'));
    w.write(Buffer.from('two'));
    let ended = false;
    const done = w.end().then(() => (ended = true));
    expect(() => w.write(Buffer.from('late'))).toThrowError(/closed or ending/);
    await turn();
    expect(ended).toBe(false);
    for (let i = 0; i < 10 && !ended; i++) {
      peer.release();
      await turn();
    }
    await done;
    expect(peer.stream.writableEnded).toBe(true);
    expect(framesOf(peer.received)).toEqual(['one', 'two']);
  });

  it('refuses a payload above maxFrameBytes before writing anything', () => {
    const chunks: Buffer[] = [];
    const sink = new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) });
    const w = new FrameWriter(sink as unknown as Duplex, { maxFrameBytes: 4 });
    expect(() => w.write(Buffer.alloc(5))).toThrowError(/frame of 5 bytes exceeds maxFrameBytes 4/);
    expect(chunks).toHaveLength(0);
  });

  it('refuses writes on a destroyed stream with ConnectionClosedError', () => {
    const peer = slowPeer();
    const w = new FrameWriter(peer.stream);
    peer.stream.destroy();
    let caught: unknown;
    try {
      w.write(Buffer.from('x'));
    } catch (err) {
      caught = err;
    }
    expect(hasCode(caught, 'WW_CONNECTION_CLOSED')).toBe(true);
  });

  it('auto-pipelines: the frames of one tick leave in one writev when the tick ends, big payloads uncopied', async () => {
    const calls: number[] = [];
    const seen: Buffer[] = [];
    const sink = new Duplex({
      read() {},
      write(c: Buffer, _e, cb) {
        calls.push(1);
        seen.push(c);
        cb();
      },
      writev(cs, cb) {
        calls.push(cs.length);
        for (const c of cs) seen.push(c.chunk as Buffer);
        cb();
      },
    });
    const w = new FrameWriter(sink);
    const big = Buffer.alloc(64 * 1024, 7);
    w.write(Buffer.from('a'));
    w.write(Buffer.from('b'));
    w.write(big);
    expect(calls).toEqual([]); // 'a' is held, the rest corked behind it until the tick ends
    await turn();
    expect(calls).toEqual([4]); // 'a', 'b', big's header, big itself: one writev
    expect(seen.some((c) => c === big)).toBe(true);
    expect(framesOf(seen).map((f) => f.length)).toEqual([1, 1, big.length]);
  });

  it('writeFrame sends a frame encoded behind header room as is, in the burst, whatever its size', async () => {
    const calls: number[] = [];
    const seen: Buffer[] = [];
    const sink = new Duplex({
      read() {},
      write(c: Buffer, _e, cb) {
        calls.push(1);
        seen.push(c);
        cb();
      },
      writev(cs, cb) {
        calls.push(cs.length);
        for (const c of cs) seen.push(c.chunk as Buffer);
        cb();
      },
    });
    const w = new FrameWriter(sink);
    const small = Buffer.from('\0\0\0\0hi');
    const big = Buffer.alloc(4 + 64 * 1024, 7);
    w.write(Buffer.from('a'));
    w.writeFrame(small);
    w.writeFrame(big);
    expect(calls).toEqual([]); // one burst with the frames written before it
    await turn();
    expect(calls).toEqual([3]); // 'a' framed by copy, then the two frames themselves: no header buffer, no copy
    expect(seen[1]).toBe(small);
    expect(seen[2]).toBe(big);
    expect(framesOf(seen)).toEqual(['a', 'hi', String(big.subarray(4))]);
    const tooBig = new FrameWriter(sink, { maxFrameBytes: 1 });
    expect(() => tooBig.writeFrame(Buffer.from('\0\0\0\0hi'))).toThrow(expect.objectContaining({ code: 'WW_FRAME_TOO_LARGE' }));
  });

  it('ends every writer\'s burst in one microtask: a lone frame is written as is (no cork), a burst in one writev', async () => {
    const sink = () => {
      const calls: number[] = [];
      const stream = new Duplex({
        read() {},
        write(_c: Buffer, _e, cb) {
          calls.push(1);
          cb();
        },
        writev(cs, cb) {
          calls.push(cs.length);
          cb();
        },
      });
      return { stream, calls };
    };
    const a = sink();
    const b = sink();
    const wa = new FrameWriter(a.stream);
    const wb = new FrameWriter(b.stream);
    wa.write(Buffer.from('1'));
    wb.write(Buffer.from('2'));
    wa.write(Buffer.from('3'));
    wb.write(Buffer.from('4'));
    wb.write(Buffer.from('5'));
    expect([a.calls, b.calls]).toEqual([[], []]);
    await Promise.resolve(); // one microtask: the burst is over
    expect([a.calls, b.calls]).toEqual([[2], [3]]);
    let corks = 0;
    const cork = a.stream.cork.bind(a.stream);
    a.stream.cork = () => void (corks++, cork());
    wa.write(Buffer.from('6')); // a new burst, alone in its tick: one plain write, never corked
    expect(a.calls).toEqual([2]);
    await Promise.resolve();
    expect(a.calls).toEqual([2, 1]);
    expect(corks).toBe(0);
    // A lone frame with a large payload goes as header + payload (never copied): corked, one writev.
    wa.write(Buffer.alloc(20 * 1024));
    await Promise.resolve();
    expect(a.calls).toEqual([2, 1, 2]);
    expect(a.stream.writableCorked).toBe(0);
  });
});
