/**
 * Properties of `RespParser`:
 * - any byte sequence, in any chunking, yields replies or a coded error (`WW_PROTOCOL_ERROR`,
 *   `WW_FRAME_TOO_LARGE`), never anything else, and the chunking changes neither;
 * - any well-formed reply tree decodes to its model's value, in any chunking.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RespParser, type ReplyKind, type RespReply } from '../../src/transport/resp-parser.js';
import { respReplies } from '../../fuzz/generators/resp-replies.js';
import { errorCode, isCoded, sameValue } from '../../fuzz/oracles.js';
import { Rng } from '../../fuzz/random.js';

interface Outcome {
  readonly kinds: ReplyKind[];
  readonly values: RespReply[];
  readonly code: string;
}

function parse(chunks: readonly Uint8Array[], returnBuffers: boolean, maxAggregateLength?: number): Outcome {
  const kinds: ReplyKind[] = [];
  const values: RespReply[] = [];
  const parser = new RespParser((v, k) => {
    values.push(v);
    kinds.push(k);
  }, { returnBuffers, maxAggregateLength, maxBulkBytes: 4096 });
  try {
    for (const c of chunks) parser.push(Buffer.from(c));
  } catch (err) {
    expect(isCoded(err), `push threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`).toBe(true);
    return { kinds, values, code: errorCode(err) };
  }
  return { kinds, values, code: 'none' };
}

function cut(bytes: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const points = [...new Set(offsets.map((o) => o % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  return out;
}

/** RESP-flavoured bytes: a soup of type bytes, lengths, CRLFs and text. */
const respish = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc
    .array(
      fc.oneof(
        fc.constantFrom(
          '*', '$', '%', '~', '>', '|', '_', '#', ',', '(', '=', '!', ':', '+', '-', '\r\n', '\r', '\n', '-1', '0', '1', '2', '3',
          '4294967295', '4294967296', '99999999999999999', 'inf', 'nan', '1e5', 't', 'f', 'txt:', 'OK', 'ERR x',
        ),
        fc.string({ maxLength: 6 }),
      ),
      { maxLength: 40 },
    )
    .map((parts) => Buffer.from(parts.join(''), 'latin1')),
);

describe('RespParser on arbitrary bytes', () => {
  it('replies or throws a coded error, the same for every chunking', () => {
    fc.assert(
      fc.property(respish, fc.array(fc.nat(), { maxLength: 20 }), fc.boolean(), fc.constantFrom(undefined, 0, 3), (bytes, offsets, returnBuffers, maxAgg) => {
        const whole = parse([bytes], returnBuffers, maxAgg);
        const split = parse(cut(bytes, offsets), returnBuffers, maxAgg);
        expect(split.code).toBe(whole.code);
        expect(sameValue(split.kinds, whole.kinds) && sameValue(split.values, whole.values)).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it('decodes well-formed replies to their model, in any chunking', () => {
    fc.assert(
      fc.property(fc.integer(), fc.boolean(), fc.array(fc.nat(), { maxLength: 20 }), (seed, returnBuffers, offsets) => {
        const generated = respReplies(new Rng(seed), { returnBuffers });
        const got = parse(cut(generated.bytes, offsets), returnBuffers);
        expect(got.code).toBe('none');
        expect(sameValue(got.kinds, generated.expected.map((e) => e.kind))).toBe(true);
        expect(sameValue(got.values, generated.expected.map((e) => e.value))).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});
