/**
 * The gate's bound on what a frame decodes to (msgpack-plain.ts, review of issue 10, items
 * 2 and 3): one byte may decode to an empty `Map` (~190 bytes of heap, ~0.5 µs), an empty
 * `Buffer` or an empty record object, so containers are weighed against the frame's bytes;
 * and a handshake frame, read before any authentication, may define only a few records.
 * Legitimate shapes at their densest still pass.
 */
import { Unpackr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { hasCode, ProtocolError } from '../../src/errors.js';
import { packInner, unpackInner } from '../../src/transport/framing-packed.js';
import { HANDSHAKE_MAX_RECORD_DEFINITIONS, MsgpackCodec } from '../../src/transport/msgpack-codec.js';
import { MessageType, toWire, WIRE_VERSION, type WireMessage } from '../../src/transport/wire-messages.js';

function refusal(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    expect(hasCode(err, 'WW_PROTOCOL_ERROR')).toBe(true);
    return err as Error;
  }
  throw new Error('expected a ProtocolError');
}

/** An array32 of `count` copies of `unit` (after `prefix`, counted as `prefixElements`). */
function arrayOf(unit: number[], count: number, prefix: number[] = [], prefixElements = 0): Buffer {
  const b = Buffer.alloc(5 + prefix.length + count * unit.length);
  b[0] = 0xdd;
  b.writeUInt32BE(count + prefixElements, 1);
  b.set(prefix, 5);
  for (let i = 0, p = 5 + prefix.length; i < count; i++, p += unit.length) b.set(unit, p);
  return b;
}

const str = (text: string): number[] => [0xa0 + text.length, ...Buffer.from(text)];
const bare = (frame: Buffer): unknown => new Unpackr({ useRecords: true, sequential: true }).unpack(frame);

describe('decoded cost: containers are weighed against the frame\'s bytes', () => {
  it('refuses a frame of empty maps (one byte each, a Map each), naming the weights and the limit', () => {
    const frame = arrayOf([0x80], 100_000);
    expect((bare(frame) as unknown[])[0]).toBeInstanceOf(Map); // what it was before the gate
    const err = refusal(() => new MsgpackCodec().decode(frame));
    expect(err.message).toBe(
      'msgpack frame of 100005 bytes would decode to too many objects for its size: weight 400001 > 100069 ' +
        '(its bytes + 64; an array weighs 1, a map 4, a binary 3, an empty record 2, a record definition 4); refused before decoding',
    );
    expect(refusal(() => unpackInner(frame)).message).toMatch(/^PACKED inner of 100005 bytes would decode to too many objects/);
  });

  it('refuses a frame of empty binaries and one of empty-record references', () => {
    expect(refusal(() => new MsgpackCodec().decode(arrayOf([0xc4, 0x00], 50_000))).message).toMatch(/weight 150001 > 100069/);
    // `{}` defined once as record 0x40, then referenced by its one-byte id: an object per byte.
    const records = arrayOf([0x40], 50_000, [0xd4, 0x72, 0x40, 0x90], 1);
    expect((bare(records) as unknown[]).at(-1)).toEqual({});
    expect(refusal(() => new MsgpackCodec().decode(records)).message).toMatch(/weight 100008 > 50073/);
  });

  it('passes legitimate shapes at their densest: small dicts from another encoder, tuples, empty arrays, rows', () => {
    const codec = new MsgpackCodec();
    // [{"a":1}, …] as a Python or Go encoder writes it: a map of one entry in 4 bytes.
    const dicts = codec.decode(arrayOf([0x81, ...str('a'), 0x01], 20_000)) as Map<string, number>[];
    expect(dicts).toHaveLength(20_000);
    expect(dicts[0]).toEqual(new Map([['a', 1]]));
    expect(codec.decode(arrayOf([0x91, 0x01], 20_000))).toHaveLength(20_000); // [[1], [1], …]
    expect(codec.decode(arrayOf([0x90], 20_000))).toHaveLength(20_000); // [[], [], …]: arrays cost a byte each
    expect(codec.decode(arrayOf([0x92, 0x01, 0x90], 20_000))).toHaveLength(20_000); // [[1, []], …]
    expect(codec.decode(arrayOf([0xc4, 0x01, 0x07], 20_000))).toHaveLength(20_000); // one-byte binaries
    const rows = Array.from({ length: 5000 }, (_, i) => ({ id: i, tags: [], meta: {}, blob: Buffer.alloc(0) }));
    const tx = new MsgpackCodec();
    expect(new MsgpackCodec().decode(tx.encode(rows))).toEqual(rows);
    expect(unpackInner(packInner(rows))).toEqual(rows);
    const maps = Array.from({ length: 5000 }, (_, i) => new Map([[i, 'v']]));
    expect(new MsgpackCodec().decode(tx.encode(maps))).toEqual(maps);
  });

  it('a tiny frame may weigh a little more than its bytes (a request holding an empty Map)', () => {
    expect(new MsgpackCodec().decode(Buffer.from([0x93, 0x04, 0x01, 0x80]))).toEqual([4, 1, new Map()]);
  });
});

describe('decoded cost: the handshake frame defines few records', () => {
  const oneOffs: WireMessage[] = [
    { type: MessageType.HELLO, version: WIRE_VERSION, token: 't'.repeat(8000) },
    { type: MessageType.HELLO, version: WIRE_VERSION, token: undefined },
    { type: MessageType.HELLO_OK, version: WIRE_VERSION, clientId: 7 },
    { type: MessageType.HELLO_ERR, error: { code: 'WW_HANDSHAKE_FAILED', message: 'bad token' } },
    { type: MessageType.GOAWAY, reason: 'bye' },
    { type: MessageType.GOAWAY, reason: undefined },
  ];

  it('our handshake and GOAWAY frames define one record each, and decode as one-offs', () => {
    for (const msg of oneOffs) {
      const frame = new MsgpackCodec().encodeOneOff(toWire(msg));
      let definitions = 0;
      for (let i = 0; i + 1 < frame.length; i++) if (frame[i] === 0xd4 && frame[i + 1] === 0x72) definitions++;
      expect(definitions, `message type ${msg.type}`).toBeLessThanOrEqual(1);
      expect(new MsgpackCodec().decodeOneOff(frame)).toEqual(toWire(msg));
    }
  });

  it(`refuses a handshake frame with more than ${HANDSHAKE_MAX_RECORD_DEFINITIONS} record definitions, before decoding it`, () => {
    // Each record defined, then read four times: msgpackr compiles a reader for each (~25 µs).
    const unit = (i: number): number[] => [0xd4, 0x72, 0x40, 0x91, ...str(`k${i}`), 0xc0, 0x40, 0xc0, 0x40, 0xc0, 0x40, 0xc0];
    const bomb = (n: number): Buffer => {
      const parts = Array.from({ length: n }, (_, i) => unit(i)).flat();
      return Buffer.from([0xdc, (4 * n) >> 8, (4 * n) & 0xff, ...parts]);
    };
    expect(new MsgpackCodec().decodeOneOff(bomb(HANDSHAKE_MAX_RECORD_DEFINITIONS))).toHaveLength(4 * HANDSHAKE_MAX_RECORD_DEFINITIONS);
    const frame = bomb(500); // ~7.5 KiB: fits maxHandshakeFrameBytes
    expect(frame.length).toBeLessThan(8 * 1024);
    expect(bare(frame)).toHaveLength(2000); // what the server decoded before any authentication
    expect(refusal(() => new MsgpackCodec().decodeOneOff(frame)).message).toBe(
      `msgpack frame of ${frame.length} bytes defines more than 4 records (the next at offset 59); refused before decoding`,
    );
  });

  it('refuses a record definition whose keys are not an array', () => {
    expect(refusal(() => new MsgpackCodec().decode(Buffer.from([0xd4, 0x72, 0x40, ...str('ab'), 0x01, 0x02]))).message).toBe(
      'msgpack frame of 8 bytes holds a record definition at offset 0 whose keys are not an array',
    );
  });
});
