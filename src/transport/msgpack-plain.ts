/**
 * The gate in front of every decode of a peer's msgpack: a frame may hold plain MessagePack
 * data only, and no more objects than its size pays for, so what reaches a handler is a
 * tree whose cost is bounded by the frame's bytes (~55 bytes of heap per byte at worst).
 *
 * Accepted: nil, booleans, integers, floats, strings, binaries, arrays, maps, msgpackr
 * record definitions in the one form the wire protocol uses (`fixext1 0x72 <id>`, ids
 * 0x40–0x7f) with their one-byte references, and the MessagePack spec's own timestamp
 * (ext −1, 4, 8 or 12 bytes, within the range of a JS `Date`). Everything else is a
 * `ProtocolError`: every other extension (msgpackr's structured-clone references and
 * cycles, Error, RegExp, Set, typed arrays, BigInt, `undefined`, bundled strings, anything
 * an application registered with msgpackr's `addExtension`), the reserved byte 0xc1, and a
 * container header that claims more elements than there are bytes left, a frame whose
 * containers weigh more than its bytes (below), and a handshake frame with more record
 * definitions than the caller allows.
 *
 * Trade-offs:
 * - msgpackr's extension table is global: a decoder can turn off only its references
 *   (`structuredClone: false`), not Error, RegExp, Set, typed arrays or `undefined`, and
 *   `addExtension` anywhere in the process adds to the table. So the refusal cannot be an
 *   option; it is this walk over the bytes, before msgpackr sees them.
 * - The walk is linear over tokens and never builds a value: each token's size follows
 *   from its first bytes (a table for most), and a container header is just a token whose
 *   children follow it. Nesting is tracked with one preallocated buffer of values left per
 *   open container (`MAX_NESTING_DEPTH` slots, shared by all frames), so deep nesting is
 *   refused at the limit instead of by msgpackr's stack overflow. A record reference is one byte (the
 *   two-byte record forms, `fixext2 0x72`, are refused: our encoder never writes them, and
 *   a high byte after a reference would shift the token boundaries msgpackr sees away from
 *   ours). A byte scan for extension tags would be wrong: those bytes occur inside strings
 *   and binaries, which the walk skips whole.
 * - The walk keeps msgpackr's record table as the bytes define it (`RecordLedger`: per id,
 *   its key count and reads), exactly as msgpackr reads it: a byte 0x40–0x7f is a record
 *   when its id is defined, else an integer. That tells it which one-byte references build
 *   an empty object, and when msgpackr will compile a record's reader (its fourth read), so
 *   the compiles can be held to an allowance (msgpack-unpackr.ts says what happens past it).
 * - With references refused, every decoded value costs at least one byte of the frame (a
 *   record reference is one byte, each of its fields a value of its own), so a frame
 *   decodes to at most as many values as it has bytes. But not every value costs the same:
 *   one byte may be an empty `Map` (192 bytes of heap, 0.5 µs), where a nil costs 8 bytes
 *   and 14 ns. So containers are weighed (TOKEN_INFO and the weights below) and a frame may
 *   weigh its bytes + 64: maps pay with 4 bytes, binaries 3, empty records 2, arrays 1, the
 *   JS array being the floor (40 bytes of heap per byte, inherent to any `[[], [], …]`).
 *   Legitimate data at its densest passes: another encoder's `[{"a": 1}, …]` (a one-entry
 *   map in 4 bytes), tuples, rows of records. At worst a frame now decodes to ~55 bytes of
 *   heap per byte, not 192: a 16 MiB frame of empty maps was 2.9 GiB and 15 s.
 * - A record's key array stays in the decoder's table until its id is defined again, for
 *   the connection's life: at most 64 slots, each at most what one frame held (~2.5× its
 *   bytes as strings), bounded by `maxFrameBytes`.
 * - Array and map headers are checked against the bytes left (one per element, two per
 *   entry) before msgpackr allocates; msgpackr 2.x checks too, this says so in our terms.
 * - Truncation and trailing bytes are left to msgpackr's own checks when the walk and the
 *   frame end together; a walk that overruns the frame is reported as truncated here.
 * - Timestamps are checked so that each decodes to a valid `Date` (nanoseconds below 10^9,
 *   within ±8.64e15 ms of the epoch); msgpackr reads only 48 bits of a 96-bit timestamp's
 *   seconds, which is exact within that range.
 * - Errors name the kind of value refused, its offset and the frame's size, never its
 *   content (a payload may hold a token).
 * - Cost: one tight loop per frame, 3–15% of msgpackr's decode of the same bytes (~60–90
 *   ns for a 40-byte request, ~0.4 ms for 263 KB of rows; strings and binaries are skipped
 *   whole; bench/msgpack-decoded-cost.ts). The weights and the record table added 8–10%
 *   to the walk on bulk data and ~20 ns on a small request.
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
 * Decoded cost, in bytes of frame each token must be paid with: a frame may weigh at most
 * its bytes + FRAME_WEIGHT_SLACK. Tokens not listed weigh 0 (they cost about a plain value
 * per byte). Measured per byte of frame, a frame of nothing but one kind decodes to
 * (heap, CPU; nil: 8 B, 14 ns): empty arrays 40 B, 79 ns; empty maps (→ `Map`) 192 B,
 * 522 ns; empty binaries (→ `Buffer`) 52 B, 145 ns; empty records (→ `{}`) 64 B, 206 ns; a
 * record definition, per 15 bytes, ~10 µs (V8 building a new object shape, as
 * `JSON.parse` pays for new keys). The weights bring the others down to the array's level.
 */
const ARRAY_WEIGHT = 1;
const MAP_WEIGHT = 4;
const BIN_WEIGHT = 3;
const EMPTY_RECORD_WEIGHT = 2;
const DEFINITION_WEIGHT = 4;
/** What a small frame may weigh beyond its bytes (a map or a few records in a short request). */
const FRAME_WEIGHT_SLACK = 64;

/** msgpackr compiles a record's reader at its fourth read (`inlineObjectReadThreshold`). */
const COMPILED_AT_READ = 4;
/** Compile units a decoder may spend before any byte counts, and the bytes that buy one more. */
const FREE_COMPILE_UNITS = 64;
const BYTES_PER_COMPILE_UNIT = 256;
/** A compile costs one unit plus one per this many keys. */
const KEYS_PER_COMPILE_UNIT = 20;

/** Compiles spent and bytes walked by one decoder (shared by its stream and inner ledgers). */
export interface CompileAllowance {
  used: number;
  bytes: number;
  /** The walk found more compiles than allowed: decode without the compiler (msgpack-unpackr.ts), for good. */
  spent: boolean;
}

/**
 * What the walk keeps of one decoder's records: msgpackr's record table as the bytes
 * define it (per id: key count, reads so far), and the compile allowance. A sequential
 * stream keeps one for its life (~0.4 KB); self-contained bytes get a cleared one.
 *
 * @example
 * const ledger = new RecordLedger();
 * for (const frame of frames) { assertPlainMsgpack(frame, 'msgpack frame', ledger); unpackr.unpack(frame); }
 */
export class RecordLedger {
  /** Per record id (0–63): its key count, or -1 while undefined. */
  readonly keys = new Int32Array(64).fill(-1);
  /** Per record id: its reads so far, up to COMPILED_AT_READ. */
  readonly reads = new Uint8Array(64);
  readonly allowance: CompileAllowance;

  /** `allowance`: share another ledger's (one decoder's inline PACKED inners and its stream). */
  constructor(allowance: CompileAllowance = { used: 0, bytes: 0, spent: false }) {
    this.allowance = allowance;
  }

  /** Forgets the record table (self-contained bytes define every record they use). */
  clear(): void {
    this.keys.fill(-1);
    this.reads.fill(0);
  }
}

/**
 * For each token whose size its first byte tells: that size (low 6 bits) and its weight
 * (above them); 0 for the rest (variable length, a container with a count to check, an
 * extension, a possible record reference, 0xc1). A table rather than branches: payloads
 * mix token kinds, and a lookup costs the same whatever comes next.
 */
const SIZE_MASK = 0x3f;
const WEIGHT_SHIFT = 6;
const TOKEN_INFO = new Uint16Array(256);
TOKEN_INFO.fill(1, 0x00, 0x40).fill(1, 0xe0, 0x100); // positive fixint below the record ids, negative fixint
TOKEN_INFO.fill(1 | (MAP_WEIGHT << WEIGHT_SHIFT), 0x80, 0x90); // fixmap
TOKEN_INFO.fill(1 | (ARRAY_WEIGHT << WEIGHT_SHIFT), 0x90, 0xa0); // fixarray
for (let t = 0xa0; t < 0xc0; t++) TOKEN_INFO[t] = 1 + (t & 0x1f); // fixstr
TOKEN_INFO[0xc0] = TOKEN_INFO[0xc2] = TOKEN_INFO[0xc3] = 1; // nil, false, true
TOKEN_INFO[0xcc] = TOKEN_INFO[0xd0] = 2; // uint8, int8
TOKEN_INFO[0xcd] = TOKEN_INFO[0xd1] = 3; // uint16, int16
TOKEN_INFO[0xca] = TOKEN_INFO[0xce] = TOKEN_INFO[0xd2] = 5; // float32, uint32, int32
TOKEN_INFO[0xcb] = TOKEN_INFO[0xcf] = TOKEN_INFO[0xd3] = 9; // float64, uint64, int64

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
 * Throws `ProtocolError` unless `bytes` holds only plain msgpack data whose decoded cost
 * fits its size (see the module comment); `what` names the bytes in the message
 * (`'msgpack frame'`, `'PACKED inner'`). `ledger` is the decoder's record table (kept
 * between the frames of one sequential stream; a fresh one for self-contained bytes), and
 * `maxDefinitions` caps the record definitions of this frame (a handshake needs one).
 *
 * @example
 * assertPlainMsgpack(frame, 'msgpack frame', ledger);   // then msgpackr may decode it
 * const value = unpackr.unpack(frame);
 */
export function assertPlainMsgpack(bytes: Uint8Array, what: string, ledger: RecordLedger = new RecordLedger(), maxDefinitions = Infinity): void {
  const end = bytes.length;
  const keys = ledger.keys;
  const reads = ledger.reads;
  const allowance = ledger.allowance;
  allowance.bytes += end;
  let weight = 0;
  let definitions = 0;
  // Containers open around `p` (CHILDREN_LEFT holds each one's values still to come).
  let depth = 0;
  let p = 0;
  // A header byte read past the end is `undefined`, which turns `p` into NaN (or past
  // `end`), and the walk stops as truncated below.
  while (p < end) {
    const t = bytes[p]!;
    const info = TOKEN_INFO[t]!;
    if (info !== 0) {
      p += info & SIZE_MASK;
      weight += info >>> WEIGHT_SHIFT;
      // 0x80–0x9f: fixmap (two children per entry), fixarray; the rest are whole values.
      if ((t & 0xe0) !== 0x80) depth = leave(depth);
      else depth = enter(depth, t < 0x90 ? (t & 0x0f) * 2 : t & 0x0f, p, bytes, what);
      continue;
    }
    if (t < 0x80) {
      // 0x40–0x7f: a record reference when its id is defined (as msgpackr reads it), else an integer.
      const id = t & 0x3f;
      const count = keys[id]!;
      if (count >= 0) {
        depth = enter(depth, count, p + 1, bytes, what);
        if (count === 0) weight += EMPTY_RECORD_WEIGHT;
        const n = reads[id]!;
        if (n < COMPILED_AT_READ) {
          reads[id] = n + 1;
          if (n + 1 === COMPILED_AT_READ && !allowance.spent) chargeCompile(allowance, count);
        }
      } else {
        depth = leave(depth);
      }
      p += 1;
      continue;
    }
    switch (t) {
      // Strings, binaries and extensions are whole values; containers open a level.
      case 0xc4: // bin8
        weight += BIN_WEIGHT;
        p += 2 + bytes[p + 1]!;
        depth = leave(depth);
        break;
      case 0xd9: // str8
        p += 2 + bytes[p + 1]!;
        depth = leave(depth);
        break;
      case 0xc5: // bin16
        weight += BIN_WEIGHT;
        p += 3 + u16(bytes, p + 1);
        depth = leave(depth);
        break;
      case 0xda: // str16
        p += 3 + u16(bytes, p + 1);
        depth = leave(depth);
        break;
      case 0xc6: // bin32
        weight += BIN_WEIGHT;
        p += 5 + u32(bytes, p + 1);
        depth = leave(depth);
        break;
      case 0xdb: // str32
        p += 5 + u32(bytes, p + 1);
        depth = leave(depth);
        break;
      case 0xdc: { // array16
        const count = u16(bytes, p + 1);
        weight += ARRAY_WEIGHT;
        p = container(bytes, p, 3, count, 1, what);
        depth = enter(depth, count, p, bytes, what);
        break;
      }
      case 0xdd: { // array32
        const count = u32(bytes, p + 1);
        weight += ARRAY_WEIGHT;
        p = container(bytes, p, 5, count, 1, what);
        depth = enter(depth, count, p, bytes, what);
        break;
      }
      case 0xde: { // map16
        const count = u16(bytes, p + 1);
        weight += MAP_WEIGHT;
        p = container(bytes, p, 3, count, 2, what);
        depth = enter(depth, count * 2, p, bytes, what);
        break;
      }
      case 0xdf: { // map32
        const count = u32(bytes, p + 1);
        weight += MAP_WEIGHT;
        p = container(bytes, p, 5, count, 2, what);
        depth = enter(depth, count * 2, p, bytes, what);
        break;
      }
      case 0xd4: { // fixext1: only a record definition, `0xd4 0x72 <id>` followed by its keys array
        if (bytes[p + 1] !== RECORD_DEFINITION) refuse(bytes, p, what);
        const count = keyCount(bytes, p + 3, what);
        if (++definitions > maxDefinitions) {
          throw new ProtocolError(`${what} of ${end} bytes defines more than ${maxDefinitions} records (the next at offset ${p}); refused before decoding`);
        }
        const id = bytes[p + 2]! & 0x3f; // msgpackr's reading of the id byte
        keys[id] = count;
        reads[id] = 1; // the definition reads its first object at once
        weight += DEFINITION_WEIGHT + (count === 0 ? EMPTY_RECORD_WEIGHT : 0);
        p += 3;
        depth = enter(depth, count + 1, p, bytes, what); // its keys array, then its first object's values
        break;
      }
      case 0xd6: // fixext4: only timestamp 32 (seconds, any value is a valid Date)
        if (bytes[p + 1] !== TIMESTAMP) refuse(bytes, p, what);
        p += 6;
        depth = leave(depth);
        break;
      case 0xd7: // fixext8: only timestamp 64 (30-bit nanoseconds, 34-bit seconds)
        if (bytes[p + 1] !== TIMESTAMP || u32(bytes, p + 2) >>> 2 > MAX_NANOSECONDS) refuse(bytes, p, what);
        p += 10;
        depth = leave(depth);
        break;
      case 0xc7: // ext8: only timestamp 96 (32-bit nanoseconds, 64-bit signed seconds)
        if (bytes[p + 1] !== 12 || bytes[p + 2] !== TIMESTAMP || !validTimestamp96(bytes, p + 3)) refuse(bytes, p, what);
        p += 15;
        depth = leave(depth);
        break;
      default: // 0xc1 (reserved), fixext2, fixext16, ext16, ext32
        refuse(bytes, p, what);
    }
  }
  if (p !== end) throw new ProtocolError(`${what} of ${end} bytes is truncated: its last value runs past the end`);
  const limit = end + FRAME_WEIGHT_SLACK;
  if (weight > limit) {
    throw new ProtocolError(
      `${what} of ${end} bytes would decode to too many objects for its size: weight ${weight} > ${limit} ` +
        `(its bytes + ${FRAME_WEIGHT_SLACK}; an array weighs ${ARRAY_WEIGHT}, a map ${MAP_WEIGHT}, a binary ${BIN_WEIGHT}, ` +
        `an empty record ${EMPTY_RECORD_WEIGHT}, a record definition ${DEFINITION_WEIGHT}); refused before decoding`,
    );
  }
}

/**
 * Deepest container nesting a frame may hold. msgpackr decodes recursively: nesting past
 * its stack (~4,000–8,000 levels, depending on the frame) used to be refused only by the
 * stack overflow itself, after 3–30 ms per frame; counting here refuses it at the limit.
 * JSON data and RPC payloads rarely nest past a few dozen levels.
 */
export const MAX_NESTING_DEPTH = 512;

/**
 * Per open container (index = its depth, 1-based): its values still to come. One buffer
 * for the module: the walk is synchronous and never re-entered, so frames share it.
 */
const CHILDREN_LEFT = new Float64Array(MAX_NESTING_DEPTH + 1);

/** Opens a container of `children` values inside `depth` open ones (after its header at `p`); the new depth. */
function enter(depth: number, children: number, p: number, bytes: Uint8Array, what: string): number {
  if (children === 0) return leave(depth);
  if (depth === MAX_NESTING_DEPTH) {
    throw new ProtocolError(
      `${what} of ${bytes.length} bytes nests containers ${depth + 1} levels deep (offset ${p}), above the limit of ${MAX_NESTING_DEPTH}; refused before decoding`,
    );
  }
  CHILDREN_LEFT[depth + 1] = children;
  return depth + 1;
}

/** One value ended inside `depth` open containers: closes every container it completes; the new depth. */
function leave(depth: number): number {
  while (depth !== 0 && --CHILDREN_LEFT[depth]! === 0) depth--;
  return depth;
}

/** The key count of the record definition whose keys array starts at `at`; refuses anything but an array there. */
function keyCount(bytes: Uint8Array, at: number, what: string): number {
  const t = bytes[at];
  if (t === undefined) throw new ProtocolError(`${what} of ${bytes.length} bytes is truncated: its last value runs past the end`);
  if (t >= 0x90 && t <= 0x9f) return t & 0x0f;
  if (t === 0xdc) return u16(bytes, at + 1);
  if (t === 0xdd) return u32(bytes, at + 1);
  throw new ProtocolError(`${what} of ${bytes.length} bytes holds a record definition at offset ${at - 3} whose keys are not an array`);
}

/**
 * Counts a record's compile against the allowance: msgpackr compiles a record's reader
 * with `new Function` at its fourth read, ~30 µs plus ~1.5 µs per key. Past the allowance
 * the decoder is told to decode without compiling (`spent`), not refused: legitimate
 * traffic whose shapes churn costs the same as a hostile one.
 */
function chargeCompile(allowance: CompileAllowance, keyCount: number): void {
  allowance.used += 1 + Math.floor(keyCount / KEYS_PER_COMPILE_UNIT);
  if (allowance.used > FREE_COMPILE_UNITS + Math.floor(allowance.bytes / BYTES_PER_COMPILE_UNIT)) allowance.spent = true;
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
