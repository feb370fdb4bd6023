/**
 * Hand-built msgpack that a decoder must refuse or bound: nesting far past any sane
 * payload, declared lengths with nothing behind them, and msgpackr's extensions that are
 * not plain data (structured-clone ids and pointers, Error, RegExp, Set, typed arrays,
 * bundled strings) or that compute (BigInt of any size), plus record references that were
 * never defined. Each snippet is a whole value; `hostileMessage` wraps one where a wire
 * message's payload goes.
 */
import type { Rng } from '../random.js';

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** `depth` nested one-element arrays (or maps) around a nil: tests bounded nesting. */
export function deepNesting(rng: Rng, depth: number): Buffer {
  const kind = rng.int(0, 3);
  // fixarray, fixmap {a: …}, array16, or a Set extension around an array (msgpackr's 0x73)
  const open = kind === 0 ? [0x91] : kind === 1 ? [0x81, 0xa1, 0x61] : kind === 2 ? [0xdc, 0x00, 0x01] : [0xd4, 0x73, 0x00, 0x91];
  const unit = Buffer.from(open);
  const out = Buffer.allocUnsafe(unit.length * depth + 1);
  for (let i = 0; i < depth; i++) unit.copy(out, i * unit.length);
  out[out.length - 1] = 0xc0;
  return out;
}

/** A container or string header declaring far more than follows. */
function hugeLength(rng: Rng): Buffer {
  const n = rng.pick([0xffffffff, 0x7fffffff, 0x10000000, 0x01000000, 0x00100000, rng.int(0, 0xffffffff)]);
  const tag = rng.pick([0xdd, 0xdf, 0xdb, 0xc6, 0xc9]); // array32, map32, str32, bin32, ext32
  const body = rng.bytes(rng.size(64));
  return tag === 0xc9 ? Buffer.concat([Buffer.from([tag]), u32(n), Buffer.from([rng.int(0, 255)]), body]) : Buffer.concat([Buffer.from([tag]), u32(n), body]);
}

/** Many containers whose declared lengths are small but whose sum is large (expansion). */
function expansion(rng: Rng): Buffer {
  const count = rng.int(1000, 60000);
  const parts: Buffer[] = [Buffer.from([0xdd]), u32(count)];
  const inner = Buffer.from([0xdc, 0xff, 0xff]); // array16 of 65535, then nothing
  for (let i = 0; i < Math.min(count, 2000); i++) parts.push(inner);
  return Buffer.concat(parts);
}

/** A fixext/ext value of msgpackr's registered (and some unregistered) types. */
function extension(rng: Rng): Buffer {
  const type = rng.pick([0x00, 0x42, 0x62, 0x65, 0x69, 0x70, 0x72, 0x73, 0x74, 0x78, 0xff, 0x01, 0x7f, 0x80]);
  let data: Buffer;
  let follow: Buffer = Buffer.alloc(0);
  switch (type) {
    case 0x65: // Error: [name, message, cause] follows the ext
      data = Buffer.from([0x00]);
      follow = Buffer.from([0x93, 0xa9, ...Buffer.from('TypeError'), 0xa3, 0x62, 0x61, 0x64, 0xc0]);
      break;
    case 0x78: // RegExp: [source, flags]
      data = Buffer.from([0x00]);
      follow = Buffer.from([0x92, 0xa6, ...Buffer.from('(a+)+$'), 0xa1, 0x67]);
      break;
    case 0x73: // Set: an array follows
      data = Buffer.from([0x00]);
      follow = Buffer.from([0x93, 0x01, 0x02, 0x03]);
      break;
    case 0x69: // structured-clone id: u32 id, then the target value
      data = u32(rng.int(0, 3));
      follow = Buffer.from([0x91, 0xc0]);
      break;
    case 0x70: // structured-clone pointer to an id that may not exist
      data = u32(rng.int(0, 3));
      break;
    case 0x74: // typed array: type code, then bytes
      data = Buffer.concat([Buffer.from([rng.int(0, 20)]), rng.bytes(rng.pick([0, 1, 3, 8, 16]))]);
      break;
    case 0x42: // BigInt of any size
      data = rng.bytes(rng.pick([1, 8, 9, 64, 1024, 60000]));
      break;
    case 0x62: // bundled strings: a size that may point anywhere
      data = u32(rng.int(0, 0xffffffff));
      follow = rng.bytes(rng.size(32));
      break;
    default:
      data = rng.bytes(rng.pick([0, 1, 2, 4, 8, 12, 16, 300]));
  }
  let header: Buffer;
  const fixed = [1, 2, 4, 8, 16].indexOf(data.length);
  if (fixed >= 0 && rng.chance(0.7)) header = Buffer.from([0xd4 + fixed, type]);
  else if (data.length < 256) header = Buffer.from([0xc7, data.length, type]);
  else header = Buffer.from([0xc8, data.length >> 8, data.length & 0xff, type]);
  return Buffer.concat([header, data, follow]);
}

/** Record references (0x40–0x7f) and definitions with odd structures. */
function records(rng: Rng): Buffer {
  switch (rng.int(0, 2)) {
    case 0: // a reference to a record never defined
      return Buffer.from([rng.int(0x40, 0x7f), ...rng.bytes(rng.size(8))]);
    case 1: // a definition whose structure is not an array of strings
      return Buffer.from([0xd4, 0x72, rng.int(0x40, 0x7f), ...rng.bytes(rng.size(16))]);
    default: // a definition with a __proto__ key, then values
      return Buffer.from([0xd4, 0x72, 0x40, 0x92, 0xa9, ...Buffer.from('__proto__'), 0xa1, 0x61, 0x81, 0xa1, 0x78, 0x01, 0x02]);
  }
}

/** One hostile msgpack value. */
export function hostileValue(rng: Rng): Buffer {
  switch (rng.weighted([3, 3, 1, 4, 2, 1])) {
    case 0:
      return deepNesting(rng, rng.pick([64, 256, 1000, 5000, 20000, 100000]));
    case 1:
      return hugeLength(rng);
    case 2:
      return expansion(rng);
    case 3:
      return extension(rng);
    case 4:
      return records(rng);
    default:
      return rng.bytes(rng.size(256));
  }
}

/**
 * A wire message array whose payload (or body) is hostile: `[REQ, id, x]`, `[MSG, x]`,
 * `[HELLO, x]`, `[ERR, id, x]`, or the bare value.
 */
export function hostileMessage(rng: Rng): Buffer {
  const value = hostileValue(rng);
  switch (rng.int(0, 4)) {
    case 0:
      return Buffer.concat([Buffer.from([0x93, 0x04, rng.int(0, 0x3f)]), value]);
    case 1:
      return Buffer.concat([Buffer.from([0x92, 0x07]), value]);
    case 2:
      return Buffer.concat([Buffer.from([0x92, 0x01]), value]);
    case 3:
      return Buffer.concat([Buffer.from([0x93, 0x06, 0x01]), value]);
    default:
      return value;
  }
}
