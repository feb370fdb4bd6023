/**
 * The frame decoder's changeable limit (a server accepts only a HELLO-sized frame before
 * the handshake) and the partial-frame view its owner's watchdog reads.
 */
import { describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors.js';
import { FrameDecoder } from '../../src/transport/frame-decoder.js';
import { encodeFrame } from '../../src/transport/frame-writer.js';

describe('FrameDecoder.limit', () => {
  it('refuses a length over the narrowed limit on the 4 header bytes alone, naming the option', () => {
    const d = new FrameDecoder(() => {});
    d.limit(8192, 'maxHandshakeFrameBytes');
    let caught: unknown;
    try {
      d.push(Buffer.from([0x01, 0x00, 0x00, 0x00])); // 16 MiB: within the default, over the narrowed limit
    } catch (err) {
      caught = err;
    }
    expect(hasCode(caught, 'WW_FRAME_TOO_LARGE')).toBe(true);
    expect((caught as Error).message).toBe('frame of 16777216 bytes exceeds maxHandshakeFrameBytes 8192');
    expect(d.bufferedBytes).toBe(0);
  });

  it('applies a limit changed from onFrame to the very next header of the same chunk', () => {
    const got: string[] = [];
    const d = new FrameDecoder((f) => {
      got.push(String(f));
      d.limit(1 << 20); // the first frame was the handshake: lift the limit
    });
    d.limit(16, 'maxHandshakeFrameBytes');
    d.push(Buffer.concat([encodeFrame(Buffer.from('hello')), encodeFrame(Buffer.alloc(1000, 0x61))]));
    expect(got.map((s) => s.length)).toEqual([5, 1000]);
    expect(d.maxFrameBytes).toBe(1 << 20);
  });

  it('rejects an invalid limit with a RangeError naming it', () => {
    const d = new FrameDecoder(() => {});
    expect(() => d.limit(-1, 'maxHandshakeFrameBytes')).toThrow('maxHandshakeFrameBytes must be an integer in [0, 4294967295], got -1');
    expect(d.maxFrameBytes).toBe(16 * 1024 * 1024);
  });
});

describe('FrameDecoder partial-frame view', () => {
  it('partialFrameBytes counts header and body bytes of the frame in progress; framesDecoded moves per frame', () => {
    const d = new FrameDecoder(() => {});
    const frame = encodeFrame(Buffer.from('abcdef'));
    expect([d.partialFrameBytes, d.framesDecoded]).toEqual([0, 0]);
    d.push(frame.subarray(0, 2));
    expect(d.partialFrameBytes).toBe(2); // half a header
    d.push(frame.subarray(2, 4));
    expect(d.partialFrameBytes).toBe(4); // a header announcing a length, no body yet
    d.push(frame.subarray(4, 7));
    expect(d.partialFrameBytes).toBe(7);
    d.push(frame.subarray(7));
    expect([d.partialFrameBytes, d.framesDecoded]).toEqual([0, 1]);
    d.push(Buffer.concat([encodeFrame(Buffer.alloc(0)), frame, frame.subarray(0, 5)]));
    expect([d.partialFrameBytes, d.framesDecoded]).toEqual([5, 3]);
  });
});
