import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors.js';
import { packInner, unpackInner } from '../../src/transport/framing-packed.js';
import {
  assembleSlices, SLICE_TARGET_BYTES, sliceValue, SPLIT_MIN_ELEMENTS, YIELD_AFTER_MS, type SlicedValue,
} from '../../src/transport/framing-slices.js';

/** What the worker does: decode the inner, then slice; what the main thread gets back. */
function roundTrip(value: unknown): Promise<unknown> {
  return assembleSlices(sliceValue(unpackInner(packInner(value))));
}

const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ id: i, name: `row-${i}`, flags: [i % 2 === 0] }));

describe('sliced values (worker → main thread)', () => {
  it('cuts the outermost big arrays into slices of about SLICE_TARGET_BYTES, leaving small ones in the skeleton', () => {
    const sliced = sliceValue(unpackInner(packInner([5, 1, { rows: rows(20_000), small: [1, 2, 3] }])));
    expect(sliced.holes.map((h) => h.path)).toEqual([[2, 'rows']]);
    const ends = sliced.holes[0]!.ends;
    expect(ends.length).toBeGreaterThan(5);
    const sizes = ends.map((end, i) => end - (i === 0 ? sliced.skeletonEnd : ends[i - 1]!));
    // After the first (small, probing) slice, sizes hover around the target.
    for (const size of sizes.slice(1, -1)) {
      expect(size).toBeGreaterThan(SLICE_TARGET_BYTES / 2);
      expect(size).toBeLessThan(SLICE_TARGET_BYTES * 2);
    }
    // The skeleton is small: the rows are not in it.
    expect(sliced.skeletonEnd).toBeLessThan(100);
  });

  it('packs everything into one buffer owned outright (transferable without a copy)', () => {
    const sliced = sliceValue(unpackInner(packInner({ list: rows(5000) })));
    expect(sliced.bytes.byteOffset).toBe(0);
    expect(sliced.bytes.byteLength).toBe(sliced.bytes.buffer.byteLength);
    expect(sliced.holes.at(-1)!.ends.at(-1)).toBe(sliced.bytes.byteLength);
  });

  it('rebuilds a value equal to an inline decode: root arrays, nested holes, Map entries, Buffers', async () => {
    const value = {
      root: rows(300),
      nested: [{ inner: rows(100) }, 'x'],
      byKey: new Map<unknown, unknown>([[1, 'one'], [{ k: 1 }, rows(70)], ['big', Array.from({ length: 1000 }, (_, i) => i)]]),
      blob: Buffer.from([1, 2, 3]),
      blobs: Array.from({ length: SPLIT_MIN_ELEMENTS }, (_, i) => Buffer.alloc(4, i)),
    };
    const inline = unpackInner(packInner(value));
    const rebuilt = await roundTrip(value);
    expect(rebuilt).toEqual(inline);
    const r = rebuilt as typeof value;
    expect(r.byKey).toBeInstanceOf(Map);
    expect(Buffer.isBuffer(r.blob)).toBe(true);
    expect(Buffer.isBuffer(r.blobs[3])).toBe(true);
    expect(await roundTrip(rows(500))).toEqual(rows(500));
  });

  it('round-trips arbitrary values, including arrays around the split threshold', async () => {
    const leaf = fc.oneof(fc.integer(), fc.string(), fc.boolean(), fc.constant(null));
    const bigArray = fc.array(leaf, { minLength: SPLIT_MIN_ELEMENTS - 2, maxLength: SPLIT_MIN_ELEMENTS + 200 });
    const tree = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        leaf,
        bigArray,
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(fc.string().filter((k) => k !== '__proto__'), tie('node'), { maxKeys: 4 }),
      ),
    })).node;
    await fc.assert(
      fc.asyncProperty(tree, async (value) => {
        expect(await roundTrip(value)).toEqual(unpackInner(packInner(value)));
      }),
      { numRuns: 150 },
    );
  });

  it('yields to the event loop while rebuilding a big value', async () => {
    const sliced = sliceValue(unpackInner(packInner({ rows: rows(200_000) })));
    let turns = 0;
    let ticking = true;
    const tick = (): void => {
      turns++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const started = performance.now();
    const value = (await assembleSlices(sliced)) as { rows: unknown[] };
    const elapsedMs = performance.now() - started;
    ticking = false;
    expect(value.rows).toHaveLength(200_000);
    // Other work ran in between: at least one turn per time budget spent, roughly.
    expect(turns).toBeGreaterThanOrEqual(Math.min(3, Math.floor(elapsedMs / YIELD_AFTER_MS / 2)));
    expect(turns).toBeGreaterThan(1);
  });

  it('reports a corrupt slice index as a ProtocolError', async () => {
    const sliced = sliceValue(unpackInner(packInner({ rows: rows(1000) })));
    const broken: SlicedValue = { ...sliced, holes: [{ path: ['nope'], ends: sliced.holes[0]!.ends }] };
    const err = await assembleSlices(broken).then(() => undefined, (e: unknown) => e);
    expect(hasCode(err, 'WW_PROTOCOL_ERROR')).toBe(true);
  });
});
