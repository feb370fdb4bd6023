import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors.js';
import {
  PACKED_HEADER_BYTES, PACKED_TYPE, packedMessage, packInner, packPacked, parsePackedFrame, unpackInner, writePackedHeader,
} from '../../src/transport/framing-packed.js';
import { MsgpackCodec } from '../../src/transport/msgpack-codec.js';
import { MessageType } from '../../src/transport/wire-messages.js';

const jsonish = fc
  .jsonValue({ maxDepth: 3 })
  .map((v) => JSON.stringify(v))
  .filter((text) => !text.includes('"__proto__"'))
  .map((text) => JSON.parse(text) as unknown);

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('PACKED message framing', () => {
  it('is message type 12, the next free number after GOAWAY', () => {
    expect(PACKED_TYPE).toBe(12);
    expect(MessageType.PACKED).toBe(12);
    expect(MessageType.GOAWAY).toBe(11);
  });

  it('accepts only messages that carry user data inside PACKED (no handshake, heartbeat, GOAWAY or nesting)', () => {
    expect(packedMessage([MessageType.REQ, 1, 'x'])).toEqual({ type: MessageType.REQ, id: 1, payload: 'x' });
    expect(packedMessage([MessageType.ERR, 1, { message: 'no' }]).type).toBe(MessageType.ERR);
    for (const bad of [[MessageType.PING, 1], [MessageType.HELLO, { version: 1 }], [MessageType.GOAWAY, {}], [MessageType.PACKED, Buffer.alloc(1)]]) {
      expect(hasCode(caught(() => packedMessage(bad)), 'WW_PROTOCOL_ERROR')).toBe(true);
    }
  });

  it('writes a 7-byte header: fixarray(2), type 12, bin32 with the big-endian length', () => {
    const out = new Uint8Array(PACKED_HEADER_BYTES);
    writePackedHeader(out, 0, 0x01020304);
    expect([...out]).toEqual([0x92, 0x0c, 0xc6, 1, 2, 3, 4]);
  });

  it('reads back what a standard msgpack encoder writes for [12, bin] in every bin form', () => {
    const plain = new Packr({ useRecords: false });
    for (const size of [0, 5, 255, 256, 70_000]) {
      const inner = Buffer.alloc(size, 7);
      const frame = plain.pack([PACKED_TYPE, inner]);
      const view = parsePackedFrame(frame);
      expect(view && Buffer.from(view).equals(inner)).toBe(true);
      // A view, not a copy.
      expect(view!.buffer).toBe(frame.buffer);
    }
  });

  it('returns undefined for any other message, so the ordinary path takes it', () => {
    const codec = new MsgpackCodec();
    expect(parsePackedFrame(codec.encode([MessageType.REQ, 1, { a: 1 }]))).toBeUndefined();
    expect(parsePackedFrame(Buffer.from([0x92, 0x09, 0x01]))).toBeUndefined();
    expect(parsePackedFrame(Buffer.alloc(0))).toBeUndefined();
  });

  it('refuses a PACKED frame whose bin length does not match the bytes present', () => {
    const frame = packPacked([MessageType.MSG, 'hello']);
    for (const bad of [frame.subarray(0, frame.length - 1), Buffer.concat([frame, Buffer.from([0])])]) {
      const err = caught(() => parsePackedFrame(bad));
      expect(hasCode(err, 'WW_PROTOCOL_ERROR')).toBe(true);
      expect((err as Error).message).toMatch(/declared/);
    }
    const notBin = caught(() => parsePackedFrame(Buffer.from([0x92, 0x0c, 0xa1, 0x61])));
    expect(hasCode(notBin, 'WW_PROTOCOL_ERROR')).toBe(true);
    expect((notBin as Error).message).toContain('tag 0xa1');
  });

  it('packs self-contained inners: each decodes alone, in any order, although shapes repeat', () => {
    const a = packPacked([MessageType.REQ, 1, { user: 'a', age: 1 }]);
    const b = packPacked([MessageType.REQ, 2, { user: 'b', age: 2 }]);
    // b first, with no knowledge of a: records are defined inside each inner.
    expect(unpackInner(parsePackedFrame(b)!)).toEqual([MessageType.REQ, 2, { user: 'b', age: 2 }]);
    expect(unpackInner(parsePackedFrame(a)!)).toEqual([MessageType.REQ, 1, { user: 'a', age: 1 }]);
  });

  it('decodes an inner to what the connection codec decodes for the same message (Maps, Buffers, records)', () => {
    const message = [MessageType.PUSH, { rows: [{ id: 1, tags: ['x'] }], blob: Buffer.from([1, 2, 3]), index: new Map([[1, 'one']]) }];
    const viaCodec = new MsgpackCodec().decode(new MsgpackCodec().encode(message));
    const viaInner = unpackInner(packInner(message));
    expect(viaInner).toEqual(viaCodec);
    expect(Buffer.isBuffer((viaInner as [number, { blob: unknown }])[1].blob)).toBe(true);
    expect((viaInner as [number, { index: unknown }])[1].index).toBeInstanceOf(Map);
  });

  it('round-trips arbitrary values', () => {
    fc.assert(
      fc.property(jsonish, (v) => {
        expect(unpackInner(packInner([MessageType.MSG, v]))).toEqual([MessageType.MSG, v]);
      }),
      { numRuns: 200 },
    );
  });

  it('reports malformed inners as ProtocolError without quoting the value', () => {
    const inner = Buffer.concat([packInner([MessageType.REQ, 1, { token: 's3cret-token' }]), Buffer.from([0xc0])]);
    const err = caught(() => unpackInner(inner));
    expect(hasCode(err, 'WW_PROTOCOL_ERROR')).toBe(true);
    expect(String((err as Error).message) + String(((err as Error).cause as Error).message)).not.toContain('s3cret');
    expect(((err as Error).cause as Error).message).toBe('trailing bytes after the value');
    expect(hasCode(caught(() => unpackInner(Buffer.from([0x93, 0x01]))), 'WW_PROTOCOL_ERROR')).toBe(true);
  });

  it('reports values msgpack cannot encode as ProtocolError, and keeps encoding afterwards', () => {
    const err = caught(() => packInner([MessageType.MSG, 2n ** 70n]));
    expect(hasCode(err, 'WW_PROTOCOL_ERROR')).toBe(true);
    expect(unpackInner(packInner([MessageType.MSG, { ok: true }]))).toEqual([MessageType.MSG, { ok: true }]);
  });
});
