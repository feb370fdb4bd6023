/**
 * Property: any byte sequence, in any chunking, either yields frames or makes `push`
 * throw a coded error (`WW_FRAME_TOO_LARGE`); never anything else, and the chunking
 * changes neither the frames nor the error nor the bytes held.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameDecoder } from '../../src/transport/frame-decoder.js';
import { isCoded } from '../../fuzz/oracles.js';

interface Outcome {
  readonly frames: number[][];
  readonly code: string | undefined;
  readonly held: number;
}

function feed(chunks: readonly Uint8Array[], maxFrameBytes: number): Outcome {
  const frames: number[][] = [];
  const decoder = new FrameDecoder((f) => frames.push([...f]), { maxFrameBytes });
  try {
    for (const c of chunks) decoder.push(Buffer.from(c));
  } catch (err) {
    // Only a coded error may escape; anything else fails the property here.
    expect(isCoded(err), `push threw ${String(err)}`).toBe(true);
    return { frames, code: (err as { code: string }).code, held: decoder.bufferedBytes };
  }
  return { frames, code: undefined, held: decoder.bufferedBytes };
}

function cut(bytes: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const points = [...new Set(offsets.map((o) => o % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  return out;
}

/** Bytes that often look like frames: a length (small, at the limit, or huge) then a body. */
const frameLike = fc
  .array(
    fc.record({
      length: fc.oneof(fc.nat({ max: 64 }), fc.constantFrom(255, 256, 1024, 1025, 0x7fffffff, 0xffffffff), fc.nat({ max: 0xffffffff })),
      body: fc.uint8Array({ maxLength: 80 }),
    }),
    { maxLength: 6 },
  )
  .map((frames) =>
    Buffer.concat(
      frames.map(({ length, body }) => {
        const header = Buffer.allocUnsafe(4);
        header.writeUInt32BE(length);
        return Buffer.concat([header, body]);
      }),
    ),
  );

describe('FrameDecoder on arbitrary bytes', () => {
  it('decodes or throws a coded error, the same for every chunking', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 600 }), frameLike),
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.constantFrom(0, 1, 64, 1024, 16 * 1024 * 1024),
        (bytes, offsets, maxFrameBytes) => {
          const whole = feed([bytes], maxFrameBytes);
          const split = feed(cut(bytes, offsets), maxFrameBytes);
          expect(split).toEqual(whole);
          // Nothing is held beyond what arrived, whatever a header declared.
          expect(whole.held).toBeLessThanOrEqual(bytes.length);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
