/**
 * Hostile msgpack for the plain-data tests: reference bombs built from msgpackr's
 * structured-clone extensions (0x69 "this value has id N", 0x70 "the value with id N").
 */
import { PACKED_HEADER_BYTES, writePackedHeader } from '../../src/transport/framing-packed.js';

function idExtension(type: 0x69 | 0x70, id: number): number[] {
  return [0xd6, type, (id >>> 24) & 0xff, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff];
}

/**
 * A REQ `[4, 1, payload]` whose payload is a chain of `levels + 1` arrays, each holding the
 * next one twice (once inline, once by reference): 13 bytes per level, 2^(levels+1) leaves
 * once walked. `leaf` is the msgpack of the two innermost elements (default: the integer 1).
 *
 * @example
 * referenceBomb(23).length   // 311 bytes, 2^24 leaves
 */
export function referenceBomb(levels: number, leaf: number[] = [0x01]): Buffer {
  const bytes: number[] = [0x93, 0x04, 0x01];
  for (let k = levels; k >= 0; k--) bytes.push(...idExtension(0x69, k), 0x92);
  bytes.push(...leaf, ...leaf);
  for (let k = 0; k < levels; k++) bytes.push(...idExtension(0x70, k));
  return Buffer.from(bytes);
}

/** The same bomb as a PACKED frame payload: `[12, bin(inner)]`. */
export function packedBomb(levels: number, leaf?: number[]): Buffer {
  const inner = referenceBomb(levels, leaf);
  const payload = Buffer.alloc(PACKED_HEADER_BYTES + inner.length);
  writePackedHeader(payload, 0, inner.length);
  payload.set(inner, PACKED_HEADER_BYTES);
  return payload;
}
