import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { hasCode } from '../../src/errors.js';
import { FrameDecoder } from '../../src/transport/frame-decoder.js';
import { encodeFrame } from '../../src/transport/frame-writer.js';

/** Cuts `bytes` at the given (sorted, deduplicated) offsets. */
function cut(bytes: Buffer, offsets: number[]): Buffer[] {
  const points = [...new Set(offsets.map((o) => o % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  return out;
}

describe('FrameDecoder', () => {
  afterEach(() => vi.restoreAllMocks());

  it('round-trips any list of payloads under any chunking (split and coalesced)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (payloads, offsets) => {
          const stream = Buffer.concat(payloads.map((p) => encodeFrame(p)));
          const got: Buffer[] = [];
          const decoder = new FrameDecoder((f) => got.push(Buffer.from(f)));
          for (const chunk of cut(stream, offsets)) decoder.push(chunk);
          expect(got.map((b) => [...b])).toEqual(payloads.map((p) => [...p]));
          expect(decoder.bufferedBytes).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('hands out a view of the chunk (no copy) when a frame lies inside one chunk', () => {
    const chunk = Buffer.concat([encodeFrame(Buffer.from('abc')), encodeFrame(Buffer.from('defg'))]);
    const frames: Buffer[] = [];
    new FrameDecoder((f) => frames.push(f)).push(chunk);
    expect(frames.map(String)).toEqual(['abc', 'defg']);
    expect(frames[0]!.buffer).toBe(chunk.buffer);
    expect(frames[1]!.byteOffset).toBe(chunk.byteOffset + 7 + 4);
  });

  it('copies only frames split across chunks', () => {
    const bytes = encodeFrame(Buffer.from('hello world'));
    // Unpooled chunks, each with its own ArrayBuffer, as a socket would deliver them.
    const own = (b: Buffer): Buffer => {
      const out = Buffer.alloc(b.length);
      b.copy(out);
      return out;
    };
    const chunks = [own(bytes.subarray(0, 2)), own(bytes.subarray(2, 9)), own(bytes.subarray(9))];
    const frames: Buffer[] = [];
    const d = new FrameDecoder((f) => frames.push(f));
    d.push(chunks[0]!); // half a header
    d.push(chunks[1]!);
    expect(frames).toHaveLength(0);
    expect(d.bufferedBytes).toBe(5);
    d.push(chunks[2]!);
    expect(frames.map(String)).toEqual(['hello world']);
    for (const c of chunks) expect(frames[0]!.buffer).not.toBe(c.buffer);
  });

  it('delivers empty frames', () => {
    const frames: Buffer[] = [];
    new FrameDecoder((f) => frames.push(f)).push(Buffer.from([0, 0, 0, 0, 0, 0, 0, 1, 7, 0, 0, 0, 0]));
    expect(frames.map((f) => [...f])).toEqual([[], [7], []]);
  });

  it('refuses an oversized length on the 4-byte header alone, before allocating', () => {
    const allocUnsafe = vi.spyOn(Buffer, 'allocUnsafe');
    const alloc = vi.spyOn(Buffer, 'alloc');
    const concat = vi.spyOn(Buffer, 'concat');
    const onFrame = vi.fn();
    const d = new FrameDecoder(onFrame, { maxFrameBytes: 1024 });
    let caught: unknown;
    try {
      d.push(Buffer.from([0xff, 0xff, 0xff, 0xff])); // 4 GiB - 1 declared
    } catch (err) {
      caught = err;
    }
    expect(hasCode(caught, 'WW_FRAME_TOO_LARGE')).toBe(true);
    expect((caught as Error).message).toBe('frame of 4294967295 bytes exceeds maxFrameBytes 1024');
    expect(onFrame).not.toHaveBeenCalled();
    for (const spy of [allocUnsafe, alloc]) {
      for (const [size] of spy.mock.calls) expect(size).toBeLessThan(1024);
    }
    expect(concat).not.toHaveBeenCalled();
  });

  it('refuses an oversized length even when the header arrives byte by byte', () => {
    const d = new FrameDecoder(() => {}, { maxFrameBytes: 16 });
    d.push(Buffer.from([0]));
    d.push(Buffer.from([0]));
    d.push(Buffer.from([0]));
    expect(() => d.push(Buffer.from([17]))).toThrowError(/frame of 17 bytes exceeds maxFrameBytes 16/);
  });

  it('reads a split header as an unsigned 32-bit length (no sign overflow above 2^31)', () => {
    const d = new FrameDecoder(() => {}, { maxFrameBytes: 0xfffffffe });
    for (const b of [0xff, 0xff, 0xff]) d.push(Buffer.from([b]));
    expect(() => d.push(Buffer.from([0xff]))).toThrowError(/frame of 4294967295 bytes exceeds maxFrameBytes 4294967294/);
    const e = new FrameDecoder(() => {}, { maxFrameBytes: 16 });
    e.push(Buffer.from([0x80, 0x00]));
    expect(() => e.push(Buffer.from([0x00, 0x01]))).toThrowError(/frame of 2147483649 bytes/);
  });

  it('uses a 16 MiB limit by default and accepts a frame of exactly maxFrameBytes', () => {
    expect(new FrameDecoder(() => {}).maxFrameBytes).toBe(16 * 1024 * 1024);
    const got: number[] = [];
    const d = new FrameDecoder((f) => got.push(f.length), { maxFrameBytes: 3 });
    d.push(encodeFrame(Buffer.from('abc')));
    expect(got).toEqual([3]);
    expect(() => d.push(encodeFrame(Buffer.from('abcd')))).toThrowError(/exceeds maxFrameBytes 3/);
  });

  it('rejects a nonsensical maxFrameBytes at construction', () => {
    expect(() => new FrameDecoder(() => {}, { maxFrameBytes: -1 })).toThrowError(/maxFrameBytes must be an integer/);
  });

  it('propagates an onFrame failure and can be reset', () => {
    const d = new FrameDecoder(() => {
      throw new Error('boom');
    });
    expect(() => d.push(encodeFrame(Buffer.from('x')))).toThrowError('boom');
    d.push(Buffer.from([0, 0]));
    d.reset();
    expect(d.bufferedBytes).toBe(0);
  });
});
