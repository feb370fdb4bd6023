/**
 * The plain-data walk counts container nesting and refuses a frame past
 * `MAX_NESTING_DEPTH` before msgpackr (which decodes recursively) sees it: arrays, maps
 * and records alike, at the limit accepted, one past it a `WW_PROTOCOL_ERROR` naming the
 * depth and the limit. Closed containers give their level back: siblings never add up.
 */
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors.js';
import { MsgpackCodec } from '../../src/transport/msgpack-codec.js';
import { assertPlainMsgpack, MAX_NESTING_DEPTH } from '../../src/transport/msgpack-plain.js';

/** `levels` containers, each holding the next, around a 1: `header` opens one level. */
function nested(levels: number, header: number[], tail: number[] = [0x01]): Buffer {
  const out: number[] = [];
  for (let i = 0; i < levels; i++) out.push(...header);
  return Buffer.from([...out, ...tail]);
}

function refusal(bytes: Buffer): Error {
  try {
    assertPlainMsgpack(bytes, 'msgpack frame');
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a refusal');
}

/** Arrays nested `levels` deep around 1, as a JS value. */
function deepArray(levels: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = [v];
  return v;
}

describe('msgpack plain data: nesting is bounded', () => {
  const kinds: Array<[string, number[]]> = [
    ['fixarray', [0x91]],
    ['array16', [0xdc, 0x00, 0x01]],
    ['array32', [0xdd, 0x00, 0x00, 0x00, 0x01]],
    ['fixmap (as the value)', [0x81, 0xa2, 0x6b, 0x6b]], // a key of 3 bytes: a map weighs 4
    ['map16 (as the value)', [0xde, 0x00, 0x01, 0x01]],
  ];

  it.each(kinds)('%s: at the limit accepted, one past it refused naming the depth and the limit', (_, header) => {
    expect(() => assertPlainMsgpack(nested(MAX_NESTING_DEPTH, header), 'msgpack frame')).not.toThrow();
    const err = refusal(nested(MAX_NESTING_DEPTH + 1, header));
    expect(hasCode(err, 'WW_PROTOCOL_ERROR')).toBe(true);
    expect(err.message).toContain(`nests containers ${MAX_NESTING_DEPTH + 1} levels deep`);
    expect(err.message).toContain(`above the limit of ${MAX_NESTING_DEPTH}`);
  });

  it('the codec decodes 512 levels and refuses 513 before msgpackr', () => {
    const codec = new MsgpackCodec();
    expect(codec.decode(nested(MAX_NESTING_DEPTH, [0x91]))).toEqual(deepArray(MAX_NESTING_DEPTH));
    expect(() => new MsgpackCodec().decode(nested(MAX_NESTING_DEPTH + 1, [0x91]))).toThrow(/513 levels deep/);
  });

  it('records count as containers: an object nested 600 deep, written with records, is refused', () => {
    let v: Record<string, unknown> = { a: 1 };
    for (let i = 0; i < 600; i++) v = { a: v };
    const bytes = new Packr({ useRecords: true }).pack(v);
    expect(refusal(bytes).message).toContain(`above the limit of ${MAX_NESTING_DEPTH}`);
    let ok: Record<string, unknown> = { a: 1 };
    for (let i = 0; i < 200; i++) ok = { a: ok };
    expect(() => assertPlainMsgpack(new Packr({ useRecords: true }).pack(ok), 'msgpack frame')).not.toThrow();
  });

  it('closed containers give their level back: siblings and wide data never add up', () => {
    const sibling = nested(MAX_NESTING_DEPTH - 1, [0x91]);
    expect(() => assertPlainMsgpack(Buffer.concat([Buffer.from([0x93]), sibling, sibling, sibling]), 'msgpack frame')).not.toThrow();
    const rows = new Packr({ useRecords: true }).pack(Array.from({ length: 10_000 }, (_, i) => ({ id: i, tags: [[i], { k: [i] }] })));
    expect(() => assertPlainMsgpack(rows, 'msgpack frame')).not.toThrow();
    // Many frames in a row: the counter starts from zero each time.
    for (let i = 0; i < 3; i++) expect(() => assertPlainMsgpack(nested(MAX_NESTING_DEPTH, [0x91]), 'msgpack frame')).not.toThrow();
  });

  it('a frame refused mid-walk leaves nothing behind for the next one', () => {
    refusal(nested(MAX_NESTING_DEPTH + 1, [0x91]));
    expect(() => assertPlainMsgpack(Buffer.from([0x92, 0x01, 0x02]), 'msgpack frame')).not.toThrow();
  });
});
