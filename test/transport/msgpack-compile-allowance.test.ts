/**
 * msgpackr compiles a record's reader (`new Function`) at its fourth read: ~25 µs, so a
 * peer that defines a record and reads it four times in ~18 bytes made the decoder spend
 * ~1.5 µs per byte compiling (review of issue 10, item 2). The gate's walk counts those
 * compiles against an allowance (64 units + one per 256 bytes received); past it the
 * connection decodes without the compiler, for good (msgpack-unpackr.ts), and nothing is
 * refused. Compiles are counted by watching `Function` while decoding.
 */
import { Packr, Unpackr } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { packInner, unpackInner } from '../../src/transport/framing-packed.js';
import { MsgpackCodec } from '../../src/transport/msgpack-codec.js';
import { RecordLedger } from '../../src/transport/msgpack-plain.js';

const realFunction = globalThis.Function;
let compiles = 0;

/** Runs `fn` counting `new Function(…)` calls (msgpackr's record compiler). */
function counting<T>(fn: () => T): T {
  globalThis.Function = new Proxy(realFunction, {
    construct(target, args: string[]) {
      compiles++;
      return Reflect.construct(target, args) as object;
    },
  });
  try {
    return fn();
  } finally {
    globalThis.Function = realFunction;
  }
}

afterEach(() => {
  globalThis.Function = realFunction;
  compiles = 0;
});

const str = (text: string): number[] => [0xa0 + text.length, ...Buffer.from(text)];

/** A frame of `n` records at `id`, each a new shape with one key, defined and read four times (18 bytes each). */
function compileBomb(n: number, seed: string, id = 0x40): Buffer {
  const parts: number[] = [];
  for (let i = 0; i < n; i++) parts.push(0xd4, 0x72, id, 0x91, ...str(`${seed}${i.toString(36)}`), 0xc0, id, 0xc0, id, 0xc0, id, 0xc0);
  return Buffer.from([0xdd, 0, 0, (4 * n) >> 8, (4 * n) & 0xff, ...parts]);
}

describe('record compile allowance', () => {
  it('a stream of record-bomb frames compiles within the allowance, then decodes without compiling', () => {
    const frames = Array.from({ length: 200 }, (_, i) => compileBomb(60, `s${i}_`));
    const bytes = frames.reduce((sum, f) => sum + f.length, 0);
    const bareCompiles = counting(() => {
      const unpackr = new Unpackr({ useRecords: true, sequential: true });
      for (const f of frames) unpackr.unpack(f);
      return compiles;
    });
    expect(bareCompiles).toBe(200 * 60); // before: one compile per 18 bytes
    compiles = 0;
    const codec = new MsgpackCodec();
    const decoded = counting(() => frames.map((f) => codec.decode(f)));
    expect(compiles).toBeLessThanOrEqual(64 + Math.floor(bytes / 256));
    expect(codec.compilesRecords).toBe(false);
    expect(decoded.at(-1)).toEqual(new Unpackr({ useRecords: true, sequential: true }).unpack(frames.at(-1)!));
  });

  it('records defined before the switch still decode after it (the table carries over)', () => {
    const tx = new Packr({ useRecords: true, sequential: true });
    const shapes = [{ a: 1, shared: 'x' }, { b: 2, shared: 'y' }, { c: 3, shared: 'z' }];
    const codec = new MsgpackCodec();
    for (const s of shapes) expect(codec.decode(tx.pack([s, s, s, s]))).toEqual([s, s, s, s]); // defined and compiled
    expect(codec.compilesRecords).toBe(true);
    codec.decode(compileBomb(200, 'b', 0x7f)); // records at the last id, which the encoder has not used
    expect(codec.compilesRecords).toBe(false);
    // The encoder's next frame refers to its three records by id, without defining them.
    const later = shapes.map((s) => [s, s]);
    const frame = tx.pack(later);
    expect(frame.includes(Buffer.from([0xd4, 0x72]))).toBe(false);
    expect(counting(() => codec.decode(frame))).toEqual(later);
    expect(compiles).toBe(0);
    expect(codec.decode(tx.pack([{ d: 4 }, ...shapes]))).toEqual([{ d: 4 }, ...shapes]); // and new ones
  });

  it('ordinary traffic keeps compiling: a few shapes over thousands of frames', () => {
    const tx = new MsgpackCodec();
    const rx = new MsgpackCodec();
    for (let i = 0; i < 5000; i++) {
      const value = [4, i, i % 3 === 0 ? { op: 'get', key: `k${i}` } : i % 3 === 1 ? { op: 'set', key: `k${i}`, value: i } : { rows: [{ id: i, name: 'n' }, { id: i + 1, name: 'm' }] }];
      expect(rx.decode(tx.encode(value))).toEqual(value);
    }
    expect(rx.compilesRecords).toBe(true);
  });

  it('PACKED inners: one past the allowance decodes without compiling, on the connection\'s allowance', () => {
    const inner = compileBomb(200, 'p');
    const ledger = new RecordLedger();
    const value = counting(() => unpackInner(inner, ledger));
    expect(ledger.allowance.spent).toBe(true);
    expect(compiles).toBeLessThanOrEqual(64 + Math.floor(inner.length / 256));
    expect(value).toEqual(new Unpackr({ useRecords: true }).unpack(inner));
    // The codec's inner ledger shares the stream's allowance.
    const codec = new MsgpackCodec();
    counting(() => unpackInner(inner, codec.packedLedger));
    expect(codec.packedLedger.allowance.spent).toBe(true);
    codec.decode(Buffer.from([0x01]));
    expect(codec.compilesRecords).toBe(false);
    // Ordinary inners keep compiling with a ledger of their own.
    const rows = Array.from({ length: 100 }, (_, i) => ({ id: i, name: `n${i}` }));
    compiles = 0;
    expect(counting(() => unpackInner(packInner(rows)))).toEqual(rows);
    expect(compiles).toBeGreaterThan(0);
  });
});
