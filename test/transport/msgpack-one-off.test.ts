/**
 * One-off frames (handshake, GOAWAY): encoded by a throwaway encoder, the handshake
 * decoded by a throwaway decoder, and the connection's own record tables stay in step
 * around them, whatever shapes come before and after.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MsgpackCodec } from '../../src/transport/msgpack-codec.js';

const shape = fc.dictionary(fc.constantFrom('version', 'token', 'clientId', 'reason', 'a', 'b'), fc.integer(), { minKeys: 1 });

describe('MsgpackCodec one-off frames', () => {
  it('a self-contained handshake, then any stream of values (handshake shapes included), decodes', () => {
    fc.assert(
      fc.property(shape, fc.array(shape, { maxLength: 20 }), (hello, values) => {
        const tx = new MsgpackCodec();
        const rx = new MsgpackCodec();
        expect(rx.decodeOneOff(tx.encodeOneOff([1, hello]))).toEqual([1, hello]);
        for (const v of [hello, ...values]) expect(rx.decode(tx.encode(v))).toEqual(v);
      }),
      { numRuns: 200 },
    );
  });

  it('a one-off frame in the middle of a stream (GOAWAY) keeps both record tables in step', () => {
    fc.assert(
      fc.property(fc.array(shape, { maxLength: 10 }), shape, fc.array(shape, { maxLength: 10 }), (before, goaway, after) => {
        const tx = new MsgpackCodec();
        const rx = new MsgpackCodec();
        for (const v of before) expect(rx.decode(tx.encode(v))).toEqual(v);
        expect(rx.decode(tx.encodeOneOff([11, goaway]))).toEqual([11, goaway]);
        for (const v of [...before, ...after]) expect(rx.decode(tx.encode(v))).toEqual(v);
      }),
      { numRuns: 200 },
    );
  });

  it('the handshake bytes are what a fresh connection encoder writes', () => {
    const hello = [1, { version: 1, token: 'x' }];
    expect([...new MsgpackCodec().encodeOneOff(hello)]).toEqual([...new MsgpackCodec().encode(hello)]);
  });
});
