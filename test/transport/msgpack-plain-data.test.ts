/**
 * The plain-data gate (msgpack-plain.ts) in front of every decode of peer bytes: crafted
 * byte sequences for each kind msgpackr would otherwise turn into something other than
 * plain data, shown decoded by a bare msgpackr `Unpackr` first (what reached handlers
 * before the gate), then refused by the connection codec and the PACKED decoder.
 */
import fc from 'fast-check';
import { Unpackr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { hasCode, ProtocolError } from '../../src/errors.js';
import { packInner, unpackInner } from '../../src/transport/framing-packed.js';
import { MsgpackCodec } from '../../src/transport/msgpack-codec.js';
import { assertPlainMsgpack } from '../../src/transport/msgpack-plain.js';
import { referenceBomb } from './msgpack-bombs.js';

/** What decoded peer bytes were before the gate: msgpackr with the codec's own options. */
function bareDecode(bytes: number[] | Buffer): unknown {
  return new Unpackr({ useRecords: true, sequential: true }).unpack(Buffer.from(bytes));
}

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

const str = (text: string): number[] => [0xa0 + text.length, ...Buffer.from(text)];

function holdsSet(v: unknown): boolean {
  if (v instanceof Set) return true;
  if (v instanceof Map) return [...v.values()].some(holdsSet);
  return typeof v === 'object' && v !== null && !Buffer.isBuffer(v) && Object.values(v).some(holdsSet);
}

/** [name, bytes, what msgpackr alone makes of them, the kind the refusal names] */
const REFUSED: [string, number[], (v: unknown) => boolean, RegExp][] = [
  ['undefined', [0xd4, 0x00, 0x00], (v) => v === undefined, /an undefined \(extension 0\)/],
  ['BigInt extension', [0xc7, 0x09, 0x42, 0x01, 0, 0, 0, 0, 0, 0, 0, 0], (v) => v === 2n ** 64n, /a BigInt extension/],
  ['Error', [0xd4, 0x65, 0x00, 0x93, ...str('TypeError'), ...str('x'), 0xc0], (v) => v instanceof TypeError, /an Error \(extension 0x65\)/],
  ['RegExp', [0xd4, 0x78, 0x00, 0x92, ...str('a*'), ...str('g')], (v) => v instanceof RegExp, /a RegExp/],
  ['Set', [0xd4, 0x73, 0x00, 0x92, 0x01, 0x02], (v) => v instanceof Set, /a Set/],
  ['typed array', [0xc7, 0x09, 0x74, 0x08, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f], (v) => v instanceof Float64Array, /a typed array/],
  [
    'cycle',
    [0xd6, 0x69, 0, 0, 0, 7, 0x91, 0xd6, 0x70, 0, 0, 0, 7],
    (v) => Array.isArray(v) && v[0] === v,
    /a structured-clone reference target \(extension 0x69\) at offset 0/,
  ],
  ['0xc1', [0x92, 0x01, 0xc1], (v) => Array.isArray(v) && v[1] !== null && typeof v[1] === 'object', /the reserved byte 0xc1 at offset 2/],
  [
    'two-byte record definition',
    [0xd5, 0x72, 0x40, 0x00, 0x91, ...str('a'), 0x01],
    (v) => (v as { a?: number }).a === 1,
    /a record definition in a form the wire protocol does not use/,
  ],
  ["msgpackr's invalid-Date form", [0xd4, 0xff, 0xff], (v) => v instanceof Date && Number.isNaN(v.getTime()), /a malformed timestamp/],
];

describe('plain msgpack only: what msgpackr alone decodes into non-plain values is refused', () => {
  it.each(REFUSED)('%s: msgpackr builds it, the codec and the PACKED decoder refuse it, naming the kind', (_name, bytes, built, kind) => {
    expect(built(bareDecode(bytes))).toBe(true);
    for (const decode of [(b: Buffer) => new MsgpackCodec().decode(b), (b: Buffer) => new MsgpackCodec().decodeOneOff(b), unpackInner]) {
      const err = refusal(() => decode(Buffer.from(bytes)));
      expect(err.message).toMatch(kind);
      expect(err.message).toMatch(/the wire protocol accepts plain msgpack data only/);
    }
  });

  it('refuses extensions msgpackr does not know, and the other ext forms, by type (signed, as the spec numbers them)', () => {
    const cases: [number[], RegExp][] = [
      [[0xd8, 0x05, ...new Array<number>(16).fill(0)], /extension type 5 at offset 0/],
      [[0xc8, 0x00, 0x01, 0x80, 0x00], /extension type -128/],
      [[0xc9, 0x00, 0x00, 0x00, 0x01, 0x10, 0x00], /extension type 16/],
      [[0xd6, 0x62, 0, 0, 0, 0, 0xc0], /a string bundle \(extension 0x62\)/],
    ];
    for (const [bytes, kind] of cases) expect(refusal(() => assertPlainMsgpack(Buffer.from(bytes), 'frame')).message).toMatch(kind);
  });

  it('finds an extension wherever it sits: in an array, a map value, a record field, behind strings and binaries', () => {
    const set = [0xd4, 0x73, 0x00, 0x91, 0x01];
    const frames = [
      [0x93, 0x04, 0x01, ...set],
      [0x93, 0x04, 0x01, 0x81, ...str('k'), ...set],
      // a record definition { k } whose one field is the Set
      [0x93, 0x04, 0x01, 0xd4, 0x72, 0x40, 0x91, ...str('k'), ...set],
      [0x94, 0xc4, 0x03, 0xd4, 0x73, 0x00, 0xda, 0x00, 0x02, 0x61, 0x62, 0xcb, 1, 2, 3, 4, 5, 6, 7, 8, ...set],
    ];
    for (const bytes of frames) {
      expect(holdsSet(bareDecode(bytes))).toBe(true);
      expect(refusal(() => new MsgpackCodec().decode(Buffer.from(bytes))).message).toMatch(/a Set/);
    }
  });

  it('does not mistake extension tags inside strings and binaries for extensions (a byte scan would)', () => {
    const tags = Buffer.from([0xc1, 0xd4, 0x69, 0x00, 0xd6, 0x70, 0, 0, 0, 0, 0xc7, 0x09, 0x74]);
    const value = { text: tags.toString('latin1'), bytes: tags, list: [tags, 'x'] };
    const tx = new MsgpackCodec();
    const frame = tx.encode(value);
    expect(frame.includes(Buffer.from([0xd4, 0x69]))).toBe(true);
    expect(new MsgpackCodec().decode(frame)).toEqual(value);
    expect(unpackInner(packInner(value))).toEqual(value);
  });

  it('refuses the reference bomb (a ~300-byte request that decodes to 2^24 leaves) before building anything', () => {
    const frame = referenceBomb(23);
    expect(frame.length).toBeLessThan(330);
    // Before the gate: a chain of 24 arrays, each holding the next one twice (shared).
    let node = (bareDecode(frame) as unknown[])[2] as unknown[];
    let depth = 0;
    while (Array.isArray(node[0])) {
      expect(node[0]).toBe(node[1]);
      node = node[0] as unknown[];
      depth++;
    }
    expect(depth).toBe(23);
    const started = performance.now();
    const err = refusal(() => new MsgpackCodec().decode(frame));
    expect(performance.now() - started).toBeLessThan(50);
    expect(err.message).toBe(
      `msgpack frame of ${frame.length} bytes holds a structured-clone reference target (extension 0x69) at offset 3: the wire protocol accepts plain msgpack data only`,
    );
  });

  it('refuses a container header claiming more elements than bytes left, before allocation', () => {
    const cases: [number[], RegExp][] = [
      [[0xdd, 0xff, 0xff, 0xff, 0xff], /declares an array of 4294967295 elements at offset 0 with 0 bytes left; refused before allocation/],
      [[0x91, 0xdf, 0xff, 0xff, 0xff, 0xff, 0x01], /declares a map of 4294967295 entries at offset 1 with 1 bytes left/],
      [[0xdc, 0x00, 0x0b, ...new Array<number>(10).fill(0)], /an array of 11 elements at offset 0 with 10 bytes left/],
      // a map entry needs two bytes: 3 entries in 5 bytes cannot be
      [[0xde, 0x00, 0x03, 1, 2, 3, 4, 5], /a map of 3 entries at offset 0 with 5 bytes left/],
    ];
    for (const [bytes, message] of cases) {
      expect(refusal(() => new MsgpackCodec().decode(Buffer.from(bytes))).message).toMatch(message);
      expect(refusal(() => unpackInner(Buffer.from(bytes))).message).toMatch(message);
    }
    // Exactly enough bytes is fine.
    expect(new MsgpackCodec().decode(Buffer.from([0xdc, 0x00, 0x02, 0x01, 0x02]))).toEqual([1, 2]);
  });

  it('nesting deeper than the decoder\'s stack is a ProtocolError, not a crash (refused at the nesting limit)', () => {
    const deep = Buffer.concat([Buffer.alloc(200_000, 0x91), Buffer.from([0x01])]);
    const tail = 'nests containers 513 levels deep (offset 513), above the limit of 512; refused before decoding';
    expect(refusal(() => new MsgpackCodec().decode(deep)).message).toBe(`msgpack frame of 200001 bytes ${tail}`);
    expect(refusal(() => unpackInner(deep)).message).toBe(`PACKED inner of 200001 bytes ${tail}`);
  });

  it('reports a value cut short as truncated, whichever header or payload runs past the end', () => {
    const cut = [[0xd9, 0x05, 0x61], [0xc6, 0x00, 0x00], [0xcb, 0x00], [0xdd, 0x00], [0xd4, 0x72], [0xd4], [0xc7, 0x0c], [0x92, 0x01]];
    for (const bytes of cut) {
      const err = refusal(() => new MsgpackCodec().decode(Buffer.from(bytes)));
      expect(err.message).toMatch(/truncated|undecodable/);
    }
    expect(refusal(() => assertPlainMsgpack(Buffer.from([0xd9, 0x05, 0x61]), 'frame')).message).toBe(
      'frame of 3 bytes is truncated: its last value runs past the end',
    );
  });
});

describe('plain msgpack only: what is accepted', () => {
  it('records keep working across many shapes (ids wrap around their 64 slots), per connection and per PACKED inner', () => {
    const tx = new MsgpackCodec();
    const rx = new MsgpackCodec();
    for (let i = 0; i < 300; i++) {
      const value = { [`k${i}`]: i, nested: { [`n${i % 70}`]: [i] } };
      expect(rx.decode(tx.encode(value))).toEqual(value);
    }
    const many = Array.from({ length: 300 }, (_, i) => ({ [`k${i}`]: i }));
    expect(unpackInner(packInner(many))).toEqual(many);
  });

  it('accepts the spec timestamp (4, 8 and 12 bytes) as a Date, and refuses one that is no valid Date', () => {
    const dates = [new Date(0), new Date(1_500), new Date(-1_500), new Date(8.64e15), new Date(-8.64e15), new Date(2 ** 40 * 1000)];
    const tx = new MsgpackCodec();
    const rx = new MsgpackCodec();
    for (const d of dates) expect(rx.decode(tx.encode({ d }))).toEqual({ d });
    const ts96 = (nanoseconds: number, seconds: bigint): Buffer => {
      const b = Buffer.alloc(15);
      b.set([0xc7, 12, 0xff]);
      b.writeUInt32BE(nanoseconds, 3);
      b.writeBigInt64BE(seconds, 7);
      return b;
    };
    expect(new MsgpackCodec().decode(ts96(0, -1n))).toEqual(new Date(-1000));
    const invalid = [ts96(1e9, 0n), ts96(0, 8_640_000_000_001n), ts96(0, -(2n ** 62n)), Buffer.from([0xd7, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])];
    for (const frame of invalid) {
      const bare = bareDecode(frame) as Date;
      expect(bare).toBeInstanceOf(Date);
      expect(refusal(() => new MsgpackCodec().decode(frame)).message).toMatch(/a malformed timestamp/);
    }
  });

  it('the encoders write plain data only: undefined and an invalid Date as nil, Set/Error/RegExp/typed arrays plainly', () => {
    const value = {
      missing: undefined,
      list: [undefined, 1],
      when: new Date(NaN),
      tags: new Set(['a']),
      err: new TypeError('boom'),
      re: /a+/gi,
      floats: new Float64Array([1.5]),
      map: new Map([[1, 'one']]),
      big: 2n ** 63n,
    };
    const expected = {
      missing: null,
      list: [null, 1],
      when: null,
      tags: ['a'],
      err: ['TypeError', 'boom', null],
      re: ['a+', 'gi'],
      floats: Buffer.from(new Float64Array([1.5]).buffer),
      map: new Map([[1, 'one']]),
      big: 2n ** 63n,
    };
    expect(new MsgpackCodec().decode(new MsgpackCodec().encode(value))).toEqual(expected);
    expect(unpackInner(packInner(value))).toEqual(expected);
  });

  it('whatever JS value the encoders accept, their bytes pass the gate (the client never sends what the server refuses)', () => {
    const anything = fc.anything({
      withDate: true, withSet: true, withMap: true, withTypedArray: true, withBigInt: true,
      withSparseArray: true, withNullPrototype: true, withBoxedValues: true, maxDepth: 3,
    });
    fc.assert(
      fc.property(fc.array(anything, { maxLength: 8 }), (values) => {
        const tx = new MsgpackCodec();
        for (const v of values) {
          let frame: Buffer;
          try {
            frame = tx.encode(v);
          } catch {
            tx.resetEncoder(); // a BigInt beyond 64 bits: refused at encode, as before
            continue;
          }
          expect(() => assertPlainMsgpack(frame, 'frame')).not.toThrow();
          expect(() => assertPlainMsgpack(packInner(v), 'inner')).not.toThrow();
        }
      }),
      { numRuns: 300 },
    );
  });
});

/** A plain tree: no value reached twice, only plain types; returns its node count. */
function plainTreeSize(root: unknown): number {
  const seen = new Set<object>();
  let count = 0;
  const stack = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    count++;
    if (v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'string') continue;
    if (typeof v !== 'object') throw new Error(`not plain: ${typeof v}`);
    if (seen.has(v)) throw new Error('a value reached twice');
    seen.add(v);
    if (Buffer.isBuffer(v) || (v instanceof Date && !Number.isNaN(v.getTime()))) continue;
    if (Array.isArray(v)) stack.push(...(v as unknown[]));
    else if (v instanceof Map) for (const [k, x] of v) stack.push(k, x);
    else if (Object.getPrototypeOf(v) === Object.prototype) stack.push(...Object.values(v));
    else throw new Error(`not plain: ${Object.prototype.toString.call(v)}`);
  }
  return count;
}

describe('plain msgpack only: the decoded size is bounded by the frame', () => {
  it('any byte string the gate lets through decodes (if at all) to a plain tree of at most one value per byte', () => {
    // Bytes biased towards what makes msgpackr build odd things: references, record
    // definitions and references, containers, extension headers and types.
    const interesting = [
      0x00, 0x01, 0x07, 0x40, 0x41, 0x42, 0x62, 0x65, 0x69, 0x70, 0x72, 0x73, 0x74, 0x78, 0xff,
      0x81, 0x91, 0x92, 0x93, 0xa1, 0xc0, 0xc1, 0xc4, 0xc7, 0xd4, 0xd5, 0xd6, 0xd7, 0xdc,
    ];
    const byte = fc.oneof(fc.constantFrom(...interesting), fc.integer({ min: 0, max: 255 }));
    const refusedByGate = { count: 0 };
    fc.assert(
      fc.property(fc.array(byte, { minLength: 1, maxLength: 40 }), (bytes) => {
        const frame = Buffer.from(bytes);
        let value: unknown;
        try {
          value = new MsgpackCodec().decode(frame);
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolError);
          refusedByGate.count++;
          return;
        }
        expect(plainTreeSize(value)).toBeLessThanOrEqual(frame.length);
      }),
      { numRuns: 5000 },
    );
    expect(refusedByGate.count).toBeGreaterThan(0);
  });
});
