/**
 * The gate in front of every decode of a peer's msgpack: a frame may hold plain MessagePack
 * data only, so what reaches a handler is a tree no bigger than the frame.
 *
 * Accepted: nil, booleans, integers, floats, strings, binaries, arrays, maps, msgpackr
 * record definitions in the one form the wire protocol uses (`fixext1 0x72 <id>`, ids
 * 0x40–0x7f) with their one-byte references, and the MessagePack spec's own timestamp
 * (ext −1, 4, 8 or 12 bytes, within the range of a JS `Date`). Everything else is a
 * `ProtocolError`: every other extension (msgpackr's structured-clone references and
 * cycles, Error, RegExp, Set, typed arrays, BigInt, `undefined`, bundled strings, anything
 * an application registered with msgpackr's `addExtension`), the reserved byte 0xc1, and a
 * container header that claims more elements than there are bytes left.
 *
 * Trade-offs:
 * - msgpackr's extension table is global: a decoder can turn off only its references
 *   (`structuredClone: false`), not Error, RegExp, Set, typed arrays or `undefined`, and
 *   `addExtension` anywhere in the process adds to the table. So the refusal cannot be an
 *   option; it is this walk over the bytes, before msgpackr sees them.
 * - The walk is linear over tokens and never builds a value: each token's size follows
 *   from its first bytes (a table for most), and a container header is just a token whose
 *   children follow it, so no nesting is tracked. That is also why a record reference needs no record table here:
 *   it is one byte (the two-byte record forms, `fixext2 0x72`, are refused: our encoder
 *   never writes them, and a high byte after a reference would shift the token boundaries
 *   msgpackr sees away from ours). A byte scan for extension tags would be wrong: those
 *   bytes occur inside strings and binaries, which the walk skips whole.
 * - With references refused, every decoded value costs at least one byte of the frame
 *   (a record reference is one byte, and each of its fields is a value of its own), so a
 *   frame decodes to at most as many values as it has bytes; `maxFrameBytes` bounds it.
 * - Array and map headers are checked against the bytes left (one per element, two per
 *   entry) before msgpackr allocates; msgpackr 2.x checks too, this says so in our terms.
 * - Truncation and trailing bytes are left to msgpackr's own checks when the walk and the
 *   frame end together; a walk that overruns the frame is reported as truncated here.
 * - Timestamps are checked so that each decodes to a valid `Date` (nanoseconds below 10^9,
 *   within ±8.64e15 ms of the epoch); msgpackr reads only 48 bits of a 96-bit timestamp's
 *   seconds, which is exact within that range.
 * - Errors name the kind of value refused, its offset and the frame's size, never its
 *   content (a payload may hold a token).
 * - Cost: one tight loop per frame, about a tenth of msgpackr's decode of the same bytes
 *   (~35 ns for a 40-byte request, ~0.5 ms for 516 KiB of rows; strings and binaries are
 *   skipped whole), small next to a request's socket I/O.
 */
import type { Options } from 'msgpackr';
import { ProtocolError } from '../errors.js';

/**
 * What our encoders add to their msgpackr options, so that nothing they write for plain
 * JS data is an extension the peer's gate refuses: `undefined` and an invalid `Date` are
 * written as nil (as JSON writes `null`). msgpackr's defaults already write a `Set` as an
 * array, an `Error` as `[name, message, cause]`, a `RegExp` as `[source, flags]`, typed
 * arrays, `ArrayBuffer`s and `DataView`s as bin, and a `Date` as the spec's timestamp.
 */
export const PLAIN_ENCODER_OPTIONS: Readonly<Options> = Object.freeze({ encodeUndefinedAsNil: true, onInvalidDate: () => null });

/** msgpackr's record-definition extension type ('r'). */
const RECORD_DEFINITION = 0x72;
/** The MessagePack spec's timestamp extension type (−1). */
const TIMESTAMP = 0xff;
const MAX_NANOSECONDS = 999_999_999;
/** A JS Date holds ±8.64e15 ms. */
const MAX_DATE_MS = 8.64e15;

/**
 * The size of each token whose size its first byte tells, 0 for the rest (variable length,
 * a container with a count to check, an extension, 0xc1). A table rather than branches:
 * payloads mix token kinds, and a lookup costs the same whatever comes next.
 */
const TOKEN_BYTES = new Uint8Array(256);
// positive fixint (and record reference), fixmap, fixarray, negative fixint
TOKEN_BYTES.fill(1, 0x00, 0xa0).fill(1, 0xe0, 0x100);
for (let t = 0xa0; t < 0xc0; t++) TOKEN_BYTES[t] = 1 + (t & 0x1f); // fixstr
TOKEN_BYTES[0xc0] = TOKEN_BYTES[0xc2] = TOKEN_BYTES[0xc3] = 1; // nil, false, true
TOKEN_BYTES[0xcc] = TOKEN_BYTES[0xd0] = 2; // uint8, int8
TOKEN_BYTES[0xcd] = TOKEN_BYTES[0xd1] = 3; // uint16, int16
TOKEN_BYTES[0xca] = TOKEN_BYTES[0xce] = TOKEN_BYTES[0xd2] = 5; // float32, uint32, int32
TOKEN_BYTES[0xcb] = TOKEN_BYTES[0xcf] = TOKEN_BYTES[0xd3] = 9; // float64, uint64, int64

/** What msgpackr would make of the extensions it knows, for error messages. */
const EXTENSION_NAMES: Readonly<Record<number, string>> = {
  0x00: 'an undefined (extension 0)',
  0x42: 'a BigInt extension (0x42)',
  0x62: 'a string bundle (extension 0x62)',
  0x65: 'an Error (extension 0x65)',
  0x69: 'a structured-clone reference target (extension 0x69)',
  0x70: 'a structured-clone reference (extension 0x70)',
  0x72: 'a record definition in a form the wire protocol does not use (extension 0x72)',
  0x73: 'a Set (extension 0x73)',
  0x74: 'a typed array (extension 0x74)',
  0x78: 'a RegExp (extension 0x78)',
  0xff: 'a malformed timestamp (extension -1)',
};

/**
 * Throws `ProtocolError` unless `bytes` holds only plain msgpack data (see the module
 * comment); `what` names the bytes in the message (`'msgpack frame'`, `'PACKED inner'`).
 *
 * @example
 * assertPlainMsgpack(frame, 'msgpack frame');   // then msgpackr may decode it
 * const value = unpackr.unpack(frame);
 */
export function assertPlainMsgpack(bytes: Uint8Array, what: string): void {
  const end = bytes.length;
  let p = 0;
  // A header byte read past the end is `undefined`, which turns `p` into NaN (or past
  // `end`), and the walk stops as truncated below.
  while (p < end) {
    const t = bytes[p]!;
    const size = TOKEN_BYTES[t]!;
    if (size !== 0) {
      p += size;
      continue;
    }
    switch (t) {
      case 0xc4: // bin8
      case 0xd9: // str8
        p += 2 + bytes[p + 1]!;
        break;
      case 0xc5: // bin16
      case 0xda: // str16
        p += 3 + u16(bytes, p + 1);
        break;
      case 0xc6: // bin32
      case 0xdb: // str32
        p += 5 + u32(bytes, p + 1);
        break;
      case 0xdc: // array16
        p = container(bytes, p, 3, u16(bytes, p + 1), 1, what);
        break;
      case 0xdd: // array32
        p = container(bytes, p, 5, u32(bytes, p + 1), 1, what);
        break;
      case 0xde: // map16
        p = container(bytes, p, 3, u16(bytes, p + 1), 2, what);
        break;
      case 0xdf: // map32
        p = container(bytes, p, 5, u32(bytes, p + 1), 2, what);
        break;
      case 0xd4: // fixext1: only a record definition, `0xd4 0x72 <id>`
        if (bytes[p + 1] !== RECORD_DEFINITION) refuse(bytes, p, what);
        p += 3;
        break;
      case 0xd6: // fixext4: only timestamp 32 (seconds, any value is a valid Date)
        if (bytes[p + 1] !== TIMESTAMP) refuse(bytes, p, what);
        p += 6;
        break;
      case 0xd7: // fixext8: only timestamp 64 (30-bit nanoseconds, 34-bit seconds)
        if (bytes[p + 1] !== TIMESTAMP || u32(bytes, p + 2) >>> 2 > MAX_NANOSECONDS) refuse(bytes, p, what);
        p += 10;
        break;
      case 0xc7: // ext8: only timestamp 96 (32-bit nanoseconds, 64-bit signed seconds)
        if (bytes[p + 1] !== 12 || bytes[p + 2] !== TIMESTAMP || !validTimestamp96(bytes, p + 3)) refuse(bytes, p, what);
        p += 15;
        break;
      default: // 0xc1 (reserved), fixext2, fixext16, ext16, ext32
        refuse(bytes, p, what);
    }
  }
  if (p !== end) throw new ProtocolError(`${what} of ${end} bytes is truncated: its last value runs past the end`);
}

function u16(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 8) | bytes[at + 1]!;
}

function u32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

/** The offset after a container header, once its claimed size fits in the bytes left. */
function container(bytes: Uint8Array, p: number, header: number, count: number, bytesPerElement: number, what: string): number {
  const next = p + header;
  const left = bytes.length - next;
  if (left < 0) return next; // the header itself is cut short: reported as truncated by the caller
  if (count * bytesPerElement > left) {
    const kind = bytesPerElement === 1 ? `an array of ${count} elements` : `a map of ${count} entries`;
    throw new ProtocolError(`${what} of ${bytes.length} bytes declares ${kind} at offset ${p} with ${left} bytes left; refused before allocation`);
  }
  return next;
}

function validTimestamp96(bytes: Uint8Array, at: number): boolean {
  if (at + 12 > bytes.length) return false;
  const nanoseconds = u32(bytes, at);
  const high = (bytes[at + 4]! << 24) | (bytes[at + 5]! << 16) | (bytes[at + 6]! << 8) | bytes[at + 7]!; // signed
  const seconds = high * 2 ** 32 + u32(bytes, at + 8);
  return nanoseconds <= MAX_NANOSECONDS && Math.abs(seconds * 1000 + nanoseconds / 1e6) <= MAX_DATE_MS;
}

function refuse(bytes: Uint8Array, p: number, what: string): never {
  const t = bytes[p]!;
  const header = t === 0xc7 ? 3 : t === 0xc8 ? 4 : t === 0xc9 ? 6 : 2;
  if (t !== 0xc1 && p + header > bytes.length) {
    throw new ProtocolError(`${what} of ${bytes.length} bytes is truncated: its last value runs past the end`);
  }
  const kind = t === 0xc1 ? 'the reserved byte 0xc1' : (EXTENSION_NAMES[bytes[p + header - 1]!] ?? `extension type ${int8(bytes[p + header - 1]!)}`);
  throw new ProtocolError(`${what} of ${bytes.length} bytes holds ${kind} at offset ${p}: the wire protocol accepts plain msgpack data only`);
}

function int8(byte: number): number {
  return byte > 0x7f ? byte - 0x100 : byte;
}
