/**
 * The RESP writer: a tick's commands leave in one writev, backpressure fills a bounded
 * queue of whole commands, and `end` flushes the queue before ending the stream.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { encodeCommand } from '../../src/transport/resp-encoder.js';
import { respWriter } from '../../src/transport/resp-writer.js';
import { turn } from './helpers.js';

/** A sink that records each write/writev call and acknowledges only when told to. */
function sink(highWaterMark = 16 * 1024) {
  const calls: Buffer[][] = [];
  const pending: Array<() => void> = [];
  let hold = false;
  const stream = new Writable({
    highWaterMark,
    writev(chunks, cb) {
      calls.push(chunks.map((c) => c.chunk as Buffer));
      if (hold) pending.push(() => cb());
      else cb();
    },
    write(chunk: Buffer, _e, cb) {
      calls.push([chunk]);
      if (hold) pending.push(() => cb());
      else cb();
    },
  });
  return {
    stream, calls,
    hold: () => (hold = true),
    release: () => {
      hold = false;
      for (const cb of pending.splice(0)) cb();
    },
    text: () => Buffer.concat(calls.flat()).toString(),
  };
}

const cmd = (...args: string[]) => encodeCommand(args, 1 << 20);

describe('resp writer', () => {
  it('sends the commands of one tick in a single writev', async () => {
    const s = sink();
    const w = respWriter(s.stream as never, 1024);
    w.write(cmd('SET', 'a', '1'));
    w.write(cmd('GET', 'a'));
    w.write(cmd('PING'));
    expect(s.calls).toHaveLength(0);
    await turn();
    expect(s.calls).toHaveLength(1);
    expect(s.text()).toBe('*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\n*1\r\n$4\r\nPING\r\n');
  });

  it('a lone command with a large Buffer argument (several chunks) leaves in one writev; a small one in one write', async () => {
    const s = sink();
    const w = respWriter(s.stream as never, 1 << 20);
    const big = encodeCommand(['SET', 'k', Buffer.alloc(16 * 1024, 0x62)], 1 << 20);
    expect(big.chunks.length).toBeGreaterThan(1);
    w.write(big);
    await turn();
    expect(s.calls.map((c) => c.length)).toEqual([big.chunks.length]);
    expect(s.stream.writableCorked).toBe(0);
    w.write(cmd('GET', 'k'));
    await turn();
    expect(s.calls.map((c) => c.length)).toEqual([big.chunks.length, 1]);
  });

  it('writes ahead up to maxQueuedBytes, then holds whole commands in order until drain, never refusing', async () => {
    const s = sink(16);
    s.hold();
    const w = respWriter(s.stream as never, 50);
    const big = cmd('SET', 'k', 'x'.repeat(20)); // 47 bytes: over the high-water mark, under the bound
    w.write(big);
    w.write(cmd('GET', 'a')); // 20 bytes: the socket now holds 67 ≥ 50
    expect(s.stream.writableLength).toBe(67);
    w.write(cmd('GET', 'b')); // waits
    w.write(cmd('GET', 'c')); // waits
    expect(w.queuedBytes).toBe(40);
    expect(s.stream.writableLength).toBe(67);
    await turn();
    s.release();
    await turn(3);
    s.release();
    await turn(3);
    expect(w.queuedBytes).toBe(0);
    const expected = [big, cmd('GET', 'a'), cmd('GET', 'b'), cmd('GET', 'c')].flatMap((c) => c.chunks);
    expect(s.text()).toBe(Buffer.concat(expected).toString());
  });

  it('with a bound under the high-water mark, the socket still takes up to its high-water mark', () => {
    const s = sink(64);
    s.hold();
    const w = respWriter(s.stream as never, 0);
    w.write(cmd('GET', 'a'));
    w.write(cmd('GET', 'b'));
    w.write(cmd('GET', 'c')); // 60 bytes: still under the high-water mark
    expect(w.queuedBytes).toBe(0);
    w.write(cmd('GET', 'd')); // 80: the socket says wait
    w.write(cmd('GET', 'e'));
    expect(w.queuedBytes).toBe(20);
  });

  it('end() flushes the queue first, then ends the stream; writes after end are refused', async () => {
    const s = sink(16);
    s.hold();
    const w = respWriter(s.stream as never, 0);
    w.write(cmd('SET', 'k', 'x'.repeat(20)));
    w.write(cmd('GET', 'k')); // waits in the writer: the socket is full
    expect(w.queuedBytes).toBe(20);
    w.end();
    expect(s.stream.writableEnded).toBe(false);
    expect(() => w.write(cmd('PING'))).toThrow(/closed or ending/);
    s.release();
    await turn(3);
    s.release();
    await turn(3);
    expect(s.stream.writableEnded).toBe(true);
    expect(s.text().endsWith('*2\r\n$3\r\nGET\r\n$1\r\nk\r\n')).toBe(true);
  });
});
