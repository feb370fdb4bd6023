/**
 * A stream that throws from its own write (a user Duplex whose `_write` throws
 * synchronously) dies alone: the write queue destroys it with the error, every other
 * queue whose burst ends in the same microtask still flushes, and a caller whose item was
 * not written gets `ConnectionClosedError` (the throw as `cause`), not the error of
 * another caller's item. Nothing escapes as an uncaught exception (vitest fails a file on one).
 */
import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ConnectionClosedError } from '../../src/errors.js';
import { FrameWriter } from '../../src/transport/frame-writer.js';
import { encodeCommand } from '../../src/transport/resp-encoder.js';
import { respWriter } from '../../src/transport/resp-writer.js';
import { turn } from './helpers.js';

/** A Duplex recording each write call (chunks per call); `throws` makes `_write`/`_writev` throw. */
function sink(options: { throws?: Error; highWaterMark?: number; holdFirst?: boolean } = {}) {
  const calls: number[] = [];
  const errors: Error[] = [];
  const held: Array<() => void> = [];
  const stream = new Duplex({
    highWaterMark: options.highWaterMark ?? 16 * 1024,
    read() {},
    write(_chunk, _enc, cb) {
      if (options.holdFirst && calls.length === 0) {
        calls.push(1);
        held.push(() => cb());
        return;
      }
      if (options.throws) throw options.throws;
      calls.push(1);
      cb();
    },
    writev(chunks, cb) {
      if (options.throws) throw options.throws;
      calls.push(chunks.length);
      cb();
    },
  });
  stream.on('error', (err) => errors.push(err));
  return { stream, calls, errors, release: () => held.splice(0).forEach((cb) => cb()) };
}

describe('write queue: a stream that throws while writing', () => {
  it('ends every other burst of the microtask; the throwing stream alone is destroyed with its error', async () => {
    const boom = new Error('b: _write threw');
    const a = sink();
    const b = sink({ throws: boom });
    const c = sink();
    const wa = new FrameWriter(a.stream);
    const wb = respWriter(b.stream, 1 << 20);
    const wc = new FrameWriter(c.stream);
    wa.write(Buffer.from('1'));
    wb.write(encodeCommand(['GET', 'k'], 1 << 20));
    wc.write(Buffer.from('3'));
    wc.write(Buffer.from('4'));
    await turn();
    expect(a.calls).toEqual([1]);
    expect(c.calls).toEqual([2]); // after b's throw: uncorked into one writev
    expect(c.stream.writableCorked).toBe(0);
    expect(b.stream.destroyed).toBe(true);
    expect(b.errors).toEqual([boom]);
    expect(wb.writable).toBe(false);
    // The next tick's burst of c leaves as well: its queue was not left held.
    wc.write(Buffer.from('5'));
    await turn();
    expect(c.calls).toEqual([2, 1]);
  });

  it('a second item in the tick whose held one throws: the stream is destroyed, the caller gets ConnectionClosedError', async () => {
    const boom = new Error('write threw');
    const s = sink();
    const write = s.stream.write.bind(s.stream);
    let first = true;
    // The first item's write throws (a stream overriding write); the queue writes it only when the second comes.
    s.stream.write = ((chunk: Buffer) => {
      if (first) {
        first = false;
        throw boom;
      }
      return write(chunk);
    }) as typeof s.stream.write;
    const w = new FrameWriter(s.stream);
    expect(w.write(Buffer.from('mine'))).toBe(true); // held
    let caught: unknown;
    try {
      w.write(Buffer.from('yours'));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConnectionClosedError);
    expect((caught as Error).message).toBe('cannot write a frame: the stream threw while writing and was destroyed');
    expect((caught as Error).cause).toBe(boom);
    expect(s.stream.destroyed).toBe(true);
    await turn();
    expect(s.errors).toEqual([boom]);
    expect(() => w.write(Buffer.from('later'))).toThrow(ConnectionClosedError);
  });

  it('a throw while the queue flushes on drain destroys the stream instead of escaping the drain listener', async () => {
    const boom = new Error('writev threw');
    const s = sink({ highWaterMark: 1, holdFirst: true });
    const w = new FrameWriter(s.stream);
    w.write(Buffer.from('a'));
    await turn(); // 'a' goes to the stream, which pushes back and holds it
    expect(w.write(Buffer.from('b'))).toBe(false);
    expect(w.write(Buffer.from('c'))).toBe(false);
    expect(w.blocked).toBe(true);
    s.stream._writev = () => {
      throw boom;
    };
    s.stream._write = () => {
      throw boom;
    };
    s.release(); // 'drain': the queue writes b and c, the stream throws
    await turn(2);
    expect(s.stream.destroyed).toBe(true);
    expect(s.errors).toEqual([boom]);
    expect(w.queuedBytes).toBe(0);
  });

  it('a throw from writeAlone (a heartbeat on a quiet connection) destroys the stream; the caller gets ConnectionClosedError', async () => {
    const boom = new Error('_write threw');
    const s = sink({ throws: boom });
    const w = new FrameWriter(s.stream);
    expect(() => w.writeFramed(Buffer.from([0, 0, 0, 1, 7]))).toThrow(ConnectionClosedError);
    expect(s.stream.destroyed).toBe(true);
    await turn();
    expect(s.errors).toEqual([boom]);
  });
});
