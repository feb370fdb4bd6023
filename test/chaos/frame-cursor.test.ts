/**
 * `FrameCursor` follows frame boundaries however the bytes are cut: a stream of frames
 * fed in random pieces (headers split anywhere, several frames in one chunk, empty
 * frames) reports the same position as the stream itself says, after every piece.
 */
import { describe, expect, it } from 'vitest';
import { FrameCursor } from '../../src/chaos/frame-splitter.js';
import { seededRandom } from '../../src/chaos/seeded-random.js';

/** Frames back to back, and for each byte offset where the stream stands. */
function stream(random: () => number, frames: number): { bytes: Buffer; positionAt: (offset: number) => { header: number[]; bodyRemaining: number } } {
  const parts: Buffer[] = [];
  for (let i = 0; i < frames; i++) {
    const length = random() < 0.2 ? 0 : Math.floor(random() * 300);
    const frame = Buffer.alloc(4 + length, i & 0xff);
    frame.writeUInt32BE(length, 0);
    parts.push(frame);
  }
  const bytes = Buffer.concat(parts);
  const positionAt = (offset: number) => {
    let at = 0;
    for (;;) {
      if (at === offset) return { header: [], bodyRemaining: 0 };
      if (offset < at + 4) return { header: [...bytes.subarray(at, offset)], bodyRemaining: 0 };
      const end = at + 4 + bytes.readUInt32BE(at);
      if (offset < end) return { header: [], bodyRemaining: end - offset };
      at = end;
    }
  };
  return { bytes, positionAt };
}

describe('FrameCursor', () => {
  it('knows where it stands after every piece, however the stream is cut', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const random = seededRandom(seed);
      const { bytes, positionAt } = stream(random, 40);
      const cursor = new FrameCursor();
      let offset = 0;
      while (offset < bytes.length) {
        const take = Math.min(bytes.length - offset, random() < 0.5 ? 1 + Math.floor(random() * 6) : Math.floor(random() * 700));
        cursor.feed(bytes.subarray(offset, offset + take));
        offset += take;
        const expected = positionAt(offset);
        const position = cursor.position();
        expect({ header: [...position.header], bodyRemaining: position.bodyRemaining }).toEqual(expected);
        expect(cursor.atBoundary).toBe(expected.header.length === 0 && expected.bodyRemaining === 0);
      }
    }
  });

  it('resumes from a position taken mid-header', () => {
    const cursor = new FrameCursor({ header: Buffer.from([0, 0]), bodyRemaining: 0 });
    cursor.feed(Buffer.from([0, 3, 9, 9]));
    expect(cursor.position().bodyRemaining).toBe(1);
    cursor.feed(Buffer.from([9]));
    expect(cursor.atBoundary).toBe(true);
  });
});
