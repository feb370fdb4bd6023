/**
 * PING/PONG payloads by hand: byte-identical to msgpackr's, recognised exactly, and
 * anything else left to the generic decoder.
 */
import fc from 'fast-check';
import { Packr, Unpackr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { encodePingPayload, parsePingPayload } from '../../src/transport/ping-frames.js';
import { MessageType as T } from '../../src/transport/wire-messages.js';

const recordsPackr = (): Packr => new Packr({ useRecords: true, sequential: true });

describe('ping frames', () => {
  it('encode exactly as msgpackr does, for every id width up to 2^32 - 1', () => {
    const edges = [0, 1, 63, 64, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1];
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(...edges), fc.integer({ min: 0, max: 2 ** 32 - 1 })), fc.constantFrom(T.PING, T.PONG), (id, type) => {
        const mine = encodePingPayload(type, id)!;
        expect([...mine]).toEqual([...recordsPackr().pack([type, id])]);
        expect(new Unpackr({ useRecords: true, sequential: true }).unpack(mine)).toEqual([type, id]);
        expect(parsePingPayload(mine)).toEqual({ type, id });
      }),
      { numRuns: 300 },
    );
  });

  it('leaves ids it does not cover to the generic path', () => {
    expect(encodePingPayload(T.PING, 2 ** 32)).toBeUndefined();
    expect(encodePingPayload(T.PING, -1)).toBeUndefined();
    expect(encodePingPayload(T.PING, 1.5)).toBeUndefined();
  });

  it('recognises only the exact layouts: other frames take the validating decoder', () => {
    const cases: number[][] = [
      [0x92, 0x0a, 0x07, 0x00], // trailing byte
      [0x92, 0x0a], // no id
      [0x92, 0x0a, 0xcc], // truncated uint8
      [0x92, 0x0a, 0xcf, 0, 0, 0, 0, 0, 0, 0, 1], // uint64 id
      [0x92, 0x0a, 0xff], // negative fixint
      [0x92, 0x0a, 0x40], // a record reference, not an integer (records on)
      [0x92, 0x05, 0x07], // RES, not a ping
      [0x93, 0x0a, 0x07, 0x07], // three elements
      [0x92, 0x0a, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0], // float id
    ];
    for (const bytes of cases) expect(parsePingPayload(Buffer.from(bytes))).toBeUndefined();
    expect(parsePingPayload(Buffer.from([0x92, 0x09, 0xcd, 0x01, 0x2c]))).toEqual({ type: T.PING, id: 300 });
  });
});
