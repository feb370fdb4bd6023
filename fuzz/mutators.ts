/**
 * Byte-level mutations, the half of the fuzzer that turns well-formed inputs into
 * almost-well-formed ones: the inputs that get past the first checks of a parser and
 * find what the later ones forgot.
 *
 * Each mutator takes the input and returns a new buffer (inputs are never changed in
 * place: a generator may hand out a view it reuses). `mutate` applies a few at random.
 * Target-specific knowledge comes in two forms: a dictionary of tokens worth inserting
 * (`\r\n`, `*-1`, msgpack tags…) and, for length-prefixed streams, `tamperFrameLength`,
 * which rewrites one frame's u32 header with a length chosen to hurt (0, off by one,
 * the limit, just past it, 2^32 − 1).
 */
import type { Rng } from './random.js';

/** Values that break arithmetic at the edges, as 1-, 2- and 4-byte big-endian integers. */
const INTERESTING_8 = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x0d, 0xc0, 0xc1, 0xd4, 0xdc, 0xdd, 0xde, 0xdf];
const INTERESTING_16 = [0x0000, 0x0001, 0x7fff, 0x8000, 0xffff, 0x0100, 0x00ff];
const INTERESTING_32 = [0x00000000, 0x00000001, 0x7fffffff, 0x80000000, 0xffffffff, 0x01000000, 0x00ffffff, 0x01000001];

export interface MutateOptions {
  /** Most mutations applied in one call (at least one is). Default 4. */
  readonly maxMutations?: number;
  /** Tokens worth inserting or writing over (protocol syntax). */
  readonly dictionary?: readonly Buffer[];
  /** Other inputs to splice pieces from. */
  readonly donors?: readonly Buffer[];
}

type Mutator = (rng: Rng, input: Buffer, options: MutateOptions) => Buffer;

function position(rng: Rng, input: Buffer): number {
  return input.length === 0 ? 0 : rng.int(0, input.length - 1);
}

const flipBits: Mutator = (rng, input) => {
  if (input.length === 0) return rng.bytes(1);
  const out = Buffer.from(input);
  for (let n = rng.int(1, 8); n > 0; n--) out[position(rng, out)]! ^= 1 << rng.int(0, 7);
  return out;
};

const setByte: Mutator = (rng, input) => {
  if (input.length === 0) return Buffer.from([rng.pick(INTERESTING_8)]);
  const out = Buffer.from(input);
  out[position(rng, out)] = rng.chance(0.5) ? rng.pick(INTERESTING_8) : rng.int(0, 255);
  return out;
};

const writeInteger: Mutator = (rng, input) => {
  const width = rng.pick([2, 4]);
  if (input.length < width) return setByte(rng, input, {});
  const out = Buffer.from(input);
  const at = rng.int(0, out.length - width);
  if (width === 2) out.writeUInt16BE(rng.pick(INTERESTING_16), at);
  else out.writeUInt32BE(rng.pick(INTERESTING_32), at);
  return out;
};

const truncate: Mutator = (rng, input) => input.subarray(0, position(rng, input));

const erase: Mutator = (rng, input) => {
  if (input.length < 2) return input.subarray(0, 0);
  const start = position(rng, input);
  const end = Math.min(input.length, start + rng.size(64) + 1);
  return Buffer.concat([input.subarray(0, start), input.subarray(end)]);
};

const insertRandom: Mutator = (rng, input) => {
  const at = rng.int(0, input.length);
  return Buffer.concat([input.subarray(0, at), rng.bytes(rng.size(32) + 1), input.subarray(at)]);
};

const duplicate: Mutator = (rng, input) => {
  if (input.length === 0) return input;
  const start = position(rng, input);
  const piece = input.subarray(start, Math.min(input.length, start + rng.size(256) + 1));
  const at = rng.int(0, input.length);
  const copies = rng.chance(0.1) ? rng.int(2, 64) : 1;
  return Buffer.concat([input.subarray(0, at), ...Array.from({ length: copies }, () => piece), input.subarray(at)]);
};

const splice: Mutator = (rng, input, options) => {
  const donors = options.donors;
  if (donors === undefined || donors.length === 0) return duplicate(rng, input, options);
  const donor = rng.pick(donors);
  const start = donor.length === 0 ? 0 : rng.int(0, donor.length - 1);
  const piece = donor.subarray(start, Math.min(donor.length, start + rng.size(256) + 1));
  const at = rng.int(0, input.length);
  const cut = rng.chance(0.5) ? at : Math.min(input.length, at + piece.length);
  return Buffer.concat([input.subarray(0, at), piece, input.subarray(cut)]);
};

const insertToken: Mutator = (rng, input, options) => {
  const dictionary = options.dictionary;
  if (dictionary === undefined || dictionary.length === 0) return insertRandom(rng, input, options);
  const token = rng.pick(dictionary);
  const at = rng.int(0, input.length);
  // Half the time overwrite (keeps the length), half the time insert.
  const cut = rng.chance(0.5) ? at : Math.min(input.length, at + token.length);
  return Buffer.concat([input.subarray(0, at), token, input.subarray(cut)]);
};

const MUTATORS: readonly Mutator[] = [flipBits, setByte, writeInteger, truncate, erase, insertRandom, duplicate, splice, insertToken];
const WEIGHTS: readonly number[] = [3, 3, 2, 1, 1, 1, 1, 1, 3];

/**
 * Applies one to `maxMutations` random mutations to `input`; returns a new buffer.
 *
 * @example
 * const bad = mutate(rng, Buffer.from('*2\r\n$1\r\na\r\n:1\r\n'), { dictionary: [Buffer.from('\r\n')] });
 */
export function mutate(rng: Rng, input: Buffer, options: MutateOptions = {}): Buffer {
  let out = input;
  for (let n = rng.int(1, options.maxMutations ?? 4); n > 0; n--) out = MUTATORS[rng.weighted(WEIGHTS)]!(rng, out, options);
  return out === input ? Buffer.from(input) : out;
}

/**
 * Rewrites the u32 big-endian header of one frame of a length-prefixed stream (`frameStarts`
 * are the headers' offsets) with a length chosen to hurt: 0, one off the truth, the
 * decoder's limit, one past it, 2^32 − 1, or random.
 */
export function tamperFrameLength(rng: Rng, stream: Buffer, frameStarts: readonly number[], maxFrameBytes: number): Buffer {
  const starts = frameStarts.filter((s) => s + 4 <= stream.length);
  if (starts.length === 0) return mutate(rng, stream);
  const at = rng.pick(starts);
  const truth = stream.readUInt32BE(at);
  const choices = [0, truth + 1, Math.max(0, truth - 1), maxFrameBytes, maxFrameBytes + 1, 0xffffffff, rng.int(0, 0xffffffff), rng.int(0, 1 << 20)];
  const out = Buffer.from(stream);
  out.writeUInt32BE(Math.min(0xffffffff, rng.pick(choices)), at);
  return out;
}

/** Cuts `input` into chunks at random points (sizes log-uniform up to `maxChunk`). */
export function randomChunks(rng: Rng, input: Buffer, maxChunk = 4096): Buffer[] {
  const chunks: Buffer[] = [];
  let offset = 0;
  while (offset < input.length) {
    const size = Math.min(input.length - offset, rng.chance(0.2) ? 1 : rng.size(maxChunk) + 1);
    chunks.push(input.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}
