/**
 * The framing pool's worker (loaded by Piscina, one module instance per thread): decodes
 * and encodes self-contained msgpack off the main thread.
 *
 *   decode: inner (transferred) ──unpackInner──▶ value ──sliceValue──▶ skeleton + slices (transferred back)
 *   encode: v8 bytes (transferred) ──v8.deserialize──▶ value ──packInner──▶ bytes (transferred back)
 *
 * Trade-offs:
 * - A decoded value goes back as msgpack cut into slices (framing-slices.ts), which the
 *   main thread rebuilds a few at a time: cheaper there than V8's deserializer, and it
 *   never stalls the event loop for the whole value.
 * - A value to encode arrives as `v8.serialize` bytes the main thread made when the task
 *   was submitted, transferred rather than structured-cloned by Piscina: the same V8
 *   serializer, but the sender's value is snapshotted at once (not when a busy pool gets
 *   round to it), and Node's serializer keeps `Buffer`s as `Buffer`s.
 * - Results are written into fresh `ArrayBuffer`s, never into a pooled or shared block:
 *   only a buffer owned outright is transferred; anything else would be silently copied
 *   (ecosystem.md §4).
 * - Errors cannot cross as themselves: a structured clone keeps an Error's message but not
 *   its `code` or class. A failure is thrown as a plain `{ code, message, cause }` record,
 *   which framing-pool.ts rebuilds with `errorFromCode`.
 * - `unpackInner` checks that the inner is plain msgpack data (msgpack-plain.ts) here, on
 *   the worker, before msgpackr decodes it: a hostile inner costs the main thread only the
 *   rejection, never a graph to rebuild.
 * - Nothing here keeps a timer, socket or handle: Piscina parks idle threads in
 *   `Atomics.wait`, and `close()` terminates them.
 */
import { deserialize } from 'node:v8';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { WirewardenError } from '../errors.js';
import { packInner, unpackInner } from './framing-packed.js';
import { sliceValue } from './framing-slices.js';

/** How a failure crosses the thread boundary; rebuilt with `errorFromCode`. */
export interface SerializedFramingError {
  readonly code: string;
  readonly message: string;
  readonly cause?: { readonly name: string; readonly message: string };
}

/** Decodes one transferred `inner`; returns it as a `SlicedValue` whose bytes are transferred. */
export function decode(inner: ArrayBuffer): unknown {
  try {
    const sliced = sliceValue(unpackInner(Buffer.from(inner)));
    // Piscina's Transferable protocol: `valueSymbol` is posted, `transferableSymbol` moved.
    return move({ [transferableSymbol]: sliced.bytes.buffer, [valueSymbol]: sliced } as never);
  } catch (err) {
    throw serializeError(err, 'decode');
  }
}

/** Encodes one transferred v8-serialized value; returns its self-contained msgpack, transferred. */
export function encode(value: ArrayBuffer): unknown {
  try {
    const inner = packInner(deserialize(Buffer.from(value)));
    // packInner's result shares the encoder's block: copy into a buffer of our own.
    const out = Buffer.allocUnsafeSlow(inner.length);
    out.set(inner);
    return move(out);
  } catch (err) {
    throw serializeError(err, 'encode');
  }
}

function serializeError(err: unknown, task: string): SerializedFramingError {
  if (err instanceof WirewardenError) {
    const cause = err.cause instanceof Error ? { name: err.cause.name, message: err.cause.message } : undefined;
    return cause ? { code: err.code, message: err.message, cause } : { code: err.code, message: err.message };
  }
  // Only our own code runs here; anything else is a bug or a resource limit, reported
  // against the frame (its connection dies), not the process.
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return { code: 'WW_PROTOCOL_ERROR', message: `framing worker failed to ${task}: ${text.slice(0, 160)}` };
}
