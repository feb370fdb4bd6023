/**
 * Properties of the wire protocol's inbound decoding (msgpack codec, PACKED frames,
 * `parseWireMessage`, in the order `WireChannel` applies them):
 * - any sequence of byte strings, fed as frames of one connection, yields a message or a
 *   coded error per frame (`WW_PROTOCOL_ERROR`), never anything else;
 * - a decoded message carries plain data only;
 * - any plain value sent as a request, plainly or PACKED, arrives unchanged.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MessageType as T, WIRE_VERSION, type WireMessage } from '../../src/transport/wire-messages.js';
import { WirePeer } from '../../fuzz/generators/wire-messages.js';
import { isCoded, nonPlain, sameValue } from '../../fuzz/oracles.js';
import { WireReceiver } from '../../fuzz/wire-receiver.js';

/** msgpack-ish bytes: random, or built from tags a decoder must handle with care. */
const msgpackish = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc
    .array(
      fc.oneof(
        fc.constantFrom(
          [0x92, 0x0c, 0xc6, 0, 0, 0, 4], [0x93, 0x04, 0x01], [0x92, 0x09, 0x01], [0x92, 0x01], [0xd4, 0x72, 0x40], [0x40],
          [0xdd, 0xff, 0xff, 0xff, 0xff], [0xdf, 0, 0, 0, 9], [0xd4, 0x69, 0], [0xd6, 0x70, 0, 0, 0, 0], [0xd4, 0x65, 0],
          [0xd4, 0x73, 0], [0xd4, 0x78, 0], [0xc7, 0x02, 0x74, 0x01, 0x00], [0xd4, 0x42, 0xff], [0xc1], [0xc0], [0x91], [0x81],
          [0xa1, 0x61], [0xa9, ...Buffer.from('__proto__')],
        ),
        fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 6 }),
      ),
      { maxLength: 12 },
    )
    .map((parts) => Uint8Array.from(parts.flat())),
);

function receiveAll(frames: readonly Uint8Array[]): void {
  const receiver = new WireReceiver();
  for (const f of frames) {
    let msg: WireMessage;
    try {
      msg = receiver.receive(Buffer.from(f));
    } catch (err) {
      expect(isCoded(err), `threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`).toBe(true);
      return; // a channel closes the connection at its first error
    }
    expect(nonPlain('payload' in msg ? msg.payload : msg)).toBeUndefined();
  }
}

/** Plain data as msgpack carries it (no undefined at the top: it is nil on the wire). */
const plain = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
    fc.string({ unit: 'grapheme' }),
    fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__'), tie('value'), { maxKeys: 5, noNullPrototype: true }),
    fc.array(fc.tuple(fc.oneof(fc.string({ maxLength: 6 }), fc.integer()), tie('value')), { maxLength: 4 }).map((entries) => new Map<unknown, unknown>(entries)),
  ),
})).value;

describe('wire decoding of arbitrary frames', () => {
  it('yields a message or a coded error for every frame, in any sequence', () => {
    fc.assert(fc.property(fc.array(msgpackish, { minLength: 1, maxLength: 6 }), receiveAll), { numRuns: 4000 });
  });

  it('yields a message or a coded error after a well-formed handshake too', () => {
    const hello = new WirePeer().encode({ type: T.HELLO, version: WIRE_VERSION, token: 't' }).payload;
    fc.assert(fc.property(fc.array(msgpackish, { minLength: 1, maxLength: 6 }), (frames) => receiveAll([hello, ...frames])), { numRuns: 4000 });
  });

  it('carries any plain value unchanged, plainly and PACKED', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(plain, fc.boolean()), { minLength: 1, maxLength: 5 }), (payloads) => {
        const peer = new WirePeer();
        const receiver = new WireReceiver();
        receiver.receive(peer.encode({ type: T.HELLO, version: WIRE_VERSION, token: undefined }).payload);
        payloads.forEach(([payload, packed], i) => {
          const sent: WireMessage = { type: T.REQ, id: i, payload };
          const got = receiver.receive(peer.encode(sent, packed).payload);
          expect(sameValue(got, sent)).toBe(true);
        });
      }),
      { numRuns: 1000 },
    );
  });
});
