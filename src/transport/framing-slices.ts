/**
 * How a value decoded on a worker comes back to the main thread: as msgpack again, with
 * its big arrays cut into slices that the main thread decodes a few at a time, yielding
 * to the event loop in between.
 *
 *   worker:  value ──walk──▶ skeleton (big arrays replaced by [])  + per big array: slice, slice, …
 *            └─ all packed into ONE owned ArrayBuffer (transferred) + a small index of offsets
 *   main:    unpack(skeleton) ──▶ for each slice: unpack, append to its array ──(every ~4 ms)──▶ setImmediate
 *
 * Why not hand the value over directly: a worker cannot give the main thread an object;
 * the main thread has to rebuild it. Rebuilding with V8's deserializer (what postMessage
 * does) costs ~3.5× msgpackr's record decoding for rows of objects (bench/framing.ts), so
 * "decoded on a worker" would cost the main thread MORE than decoding inline. msgpackr is
 * the cheapest way to build the objects; what the worker adds is the part msgpack cannot
 * do incrementally: finding where the big arrays' elements start, so the build can be
 * spread over many short turns. The main thread's CPU stays about that of an inline
 * decode; its longest stall drops from the whole decode to about one time budget.
 *
 * Trade-offs:
 * - Only arrays are cut, the outermost ones of at least `SPLIT_MIN_ELEMENTS` elements
 *   (rows, lists, batches — what big payloads are made of). A value whose bulk sits in one
 *   object with very many keys, or in a few huge elements, is rebuilt in bigger steps.
 *   Strings and binaries need no cutting: decoding them is a copy.
 * - Slices aim at `SLICE_TARGET_BYTES` of msgpack (the next slice's element count adapts
 *   to the last one's size). Each slice defines its own records: a few bytes per shape.
 * - Decoding on the main thread uses the same options as the inline path (records on,
 *   plain maps as `Map`s, binaries as `Buffer` views into the transferred block), so the
 *   rebuilt value equals an inline decode of the original bytes.
 * - Yielding uses `setImmediate`: one turn of the event loop so pending I/O runs, not a
 *   delay. It is deliberately not the injected scheduler: a virtual one would never let
 *   real I/O in, and there is no duration here to make virtual.
 * - A path step is an object key (string), an array index, or a `Map` entry's ordinal
 *   (its position in iteration order, which msgpack keeps), so `Map` keys of any type work.
 */
import { ProtocolError } from '../errors.js';
import { packInner, unpackOwnInner } from './framing-packed.js';

/** Arrays with at least this many elements are sent in slices. */
export const SPLIT_MIN_ELEMENTS = 64;
/** Target msgpack size of one slice. */
export const SLICE_TARGET_BYTES = 64 * 1024;
/** The main thread yields once it has spent this long rebuilding. */
export const YIELD_AFTER_MS = 4;

export type PathStep = string | number;

/** A sliced value: every part's end offset within `bytes`; part 0 is the skeleton. */
export interface SlicedValue {
  readonly bytes: Uint8Array;
  readonly skeletonEnd: number;
  readonly holes: readonly { readonly path: readonly PathStep[]; readonly ends: readonly number[] }[];
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}

/**
 * Worker side: cuts `value`'s big arrays out (replacing each with `[]`, in place) and
 * packs skeleton and slices into one buffer owned outright, ready to transfer.
 */
export function sliceValue(value: unknown): SlicedValue {
  const holes: { path: PathStep[]; slices: Buffer[] }[] = [];
  let root = value;
  const stack: [container: unknown, path: PathStep[]][] = [];
  if (Array.isArray(root) && root.length >= SPLIT_MIN_ELEMENTS) {
    holes.push({ path: [], slices: slices(root) });
    root = [];
  } else {
    stack.push([root, []]);
  }
  // Iterative, so a deep value cannot overflow the stack (msgpackr would have first).
  while (stack.length > 0) {
    const [container, path] = stack.pop()!;
    const visit = (child: unknown, step: PathStep, replace: (v: unknown[]) => void): void => {
      if (Array.isArray(child) && child.length >= SPLIT_MIN_ELEMENTS) {
        holes.push({ path: [...path, step], slices: slices(child) });
        replace([]);
      } else if (Array.isArray(child) || isPlainObject(child) || child instanceof Map) {
        stack.push([child, [...path, step]]);
      }
    };
    if (Array.isArray(container)) {
      for (let i = 0; i < container.length; i++) visit(container[i], i, (v) => (container[i] = v));
    } else if (container instanceof Map) {
      let ordinal = 0;
      for (const [key, child] of container) visit(child, ordinal++, (v) => container.set(key, v));
    } else if (isPlainObject(container)) {
      for (const key of Object.keys(container)) visit(container[key], key, (v) => (container[key] = v));
    }
  }
  const skeleton = packInner(root);
  let total = skeleton.length;
  for (const hole of holes) for (const s of hole.slices) total += s.length;
  // A fresh ArrayBuffer: only a buffer owned outright is transferred, not copied.
  const bytes = new Uint8Array(new ArrayBuffer(total));
  bytes.set(skeleton, 0);
  let offset = skeleton.length;
  const index = holes.map((hole) => ({
    path: hole.path,
    ends: hole.slices.map((s) => {
      bytes.set(s, offset);
      return (offset += s.length);
    }),
  }));
  return { bytes, skeletonEnd: skeleton.length, holes: index };
}

function slices(array: unknown[]): Buffer[] {
  const out: Buffer[] = [];
  let n = 16;
  for (let i = 0; i < array.length; ) {
    // packInner returns a view into the encoder's block; keep our own copy.
    const part = Buffer.from(packInner(array.slice(i, i + n)));
    out.push(part);
    i += n;
    n = Math.min(65_536, Math.max(1, Math.round((n * SLICE_TARGET_BYTES) / Math.max(1, part.length))));
  }
  return out;
}

/**
 * Main side: rebuilds the value, yielding to the event loop whenever `YIELD_AFTER_MS` of
 * work has been done. Throws `ProtocolError` on malformed parts (a worker bug, not input).
 */
export async function assembleSlices(sliced: SlicedValue): Promise<unknown> {
  const view = Buffer.from(sliced.bytes.buffer, sliced.bytes.byteOffset, sliced.bytes.byteLength);
  let started = performance.now();
  const root = unpackOwnInner(view.subarray(0, sliced.skeletonEnd));
  let start = sliced.skeletonEnd;
  for (const hole of sliced.holes) {
    const target = locate(root, hole.path);
    for (const end of hole.ends) {
      const part = unpackOwnInner(view.subarray(start, end)) as unknown[];
      start = end;
      for (let i = 0; i < part.length; i++) target.push(part[i]);
      if (performance.now() - started >= YIELD_AFTER_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        started = performance.now();
      }
    }
  }
  return root;
}

function locate(root: unknown, path: readonly PathStep[]): unknown[] {
  let node = root;
  for (const step of path) {
    if (node instanceof Map) {
      let i = 0;
      let found: unknown;
      for (const child of node.values()) if (i++ === step) { found = child; break; }
      node = found;
    } else {
      node = (node as Record<PathStep, unknown>)[step];
    }
  }
  if (!Array.isArray(node)) throw new ProtocolError(`sliced value has no array at ${path.join('.') || 'the root'}`);
  return node;
}
