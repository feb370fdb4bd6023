/**
 * Any byte sequence, chunked any way, either parses or fails with a coded error
 * (`WW_PROTOCOL_ERROR` or `WW_FRAME_TOO_LARGE`): never a RangeError, a TypeError or any
 * other uncoded exception. Three sources of bytes: random bytes, valid replies with
 * random mutations, and deep nesting of every aggregate kind around the limit.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WirewardenError } from '../../src/errors.js';
import { ReplyKind, RespParser, type RespParserOptions } from '../../src/transport/resp-parser.js';
import { encodeReply, replyArb } from './resp-helpers/reply-model.js';

const CODES = new Set(['WW_PROTOCOL_ERROR', 'WW_FRAME_TOO_LARGE']);

/** Splits `bytes` at the given cut points. */
function chunked(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    if (p > from) chunks.push(bytes.subarray(from, p));
    from = Math.max(from, p);
  }
  if (from < bytes.length) chunks.push(bytes.subarray(from));
  return chunks;
}

/**
 * Feeds the chunks; returns the error thrown, if any. Fails the property on an uncoded
 * throw, on a reply kind that does not exist, or when bytes are accepted after a throw.
 */
function feed(chunks: readonly Buffer[], options: RespParserOptions): { error: WirewardenError | undefined; replies: number } {
  let replies = 0;
  const parser = new RespParser((_value, kind) => {
    expect([ReplyKind.Reply, ReplyKind.Error, ReplyKind.Push]).toContain(kind);
    replies++;
  }, options);
  for (const chunk of chunks) {
    try {
      parser.push(chunk);
    } catch (err) {
      expect(err).toBeInstanceOf(WirewardenError);
      expect(CODES.has((err as WirewardenError).code), String(err)).toBe(true);
      return { error: err as WirewardenError, replies };
    }
  }
  return { error: undefined, replies };
}

/** Limits small enough that random input reaches them, or the defaults. */
const optionsArb: fc.Arbitrary<RespParserOptions> = fc.record(
  {
    maxBulkBytes: fc.integer({ min: 1, max: 64 }),
    maxAggregateLength: fc.integer({ min: 1, max: 8 }),
    maxNestingDepth: fc.integer({ min: 1, max: 16 }),
    returnBuffers: fc.boolean(),
  },
  { requiredKeys: [] },
);

type Mutation = { at: number; op: 'flip' | 'insert' | 'delete' | 'repeat'; byte: number; length: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  op: fc.constantFrom('flip', 'insert', 'delete', 'repeat'),
  // Bytes that matter to RESP are likelier than others.
  byte: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(...Buffer.from('\r\n*%~>|$!=-+:_#,(0123456789?'))),
  length: fc.integer({ min: 1, max: 24 }),
});

function mutate(bytes: Buffer, mutations: readonly Mutation[]): Buffer {
  let out = bytes;
  for (const m of mutations) {
    const at = m.at % (out.length + 1);
    switch (m.op) {
      case 'flip':
        if (at < out.length) (out = Buffer.from(out))[at] = m.byte;
        break;
      case 'insert':
        out = Buffer.concat([out.subarray(0, at), Buffer.from([m.byte]), out.subarray(at)]);
        break;
      case 'delete':
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + m.length)]);
        break;
      case 'repeat':
        out = Buffer.concat([out.subarray(0, at + m.length), out.subarray(at)]);
        break;
    }
  }
  return out;
}

/** One level of nesting, each kind holding exactly the next level (an attribute precedes it). */
const LEVELS = ['*1\r\n', '%1\r\n+k\r\n', '~1\r\n', '>1\r\n', '|1\r\n+a\r\n*1\r\n'];

describe('resp parser: hostile input', () => {
  it('random bytes, chunked anyhow: replies or a coded error, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(), { maxLength: 20 }), optionsArb, (bytes, cuts, options) => {
        feed(chunked(Buffer.from(bytes), cuts), options);
      }),
      { numRuns: 2000 },
    );
  });

  it('valid RESP3 replies with random mutations, chunked anyhow: replies or a coded error, nothing else', () => {
    fc.assert(
      fc.property(
        fc.array(replyArb(true), { minLength: 1, maxLength: 4 }),
        fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        optionsArb,
        (replies, mutations, cuts, options) => {
          const bytes = mutate(Buffer.concat(replies.map(encodeReply)), mutations);
          feed(chunked(bytes, cuts), options);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('deep nesting of every kind, up to 12 000 levels, around any limit: decoded within the limit, a coded error beyond', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12_000 }),
        fc.array(fc.integer({ min: 0, max: LEVELS.length - 1 }), { minLength: 1, maxLength: 6 }),
        fc.option(fc.integer({ min: 1, max: 4_000 }), { nil: undefined }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (levels, pattern, maxNestingDepth, cuts) => {
          let text = '';
          let depth = 0;
          for (let i = 0; i < levels; i++) {
            const level = LEVELS[pattern[i % pattern.length]!]!;
            text += level;
            depth += level.startsWith('|') ? 2 : 1; // the attribute, then the array it holds
          }
          // The innermost value, and one more per attribute: each describes the value after it.
          const closing = ':1\r\n'.repeat(text.split('|').length);
          const { error, replies } = feed(chunked(Buffer.from(text + closing), cuts), maxNestingDepth === undefined ? {} : { maxNestingDepth });
          const limit = maxNestingDepth ?? 128;
          if (depth <= limit) {
            expect(error).toBeUndefined();
            expect(replies).toBeGreaterThanOrEqual(1);
          } else {
            expect(error?.code).toBe('WW_PROTOCOL_ERROR');
            expect(error?.message).toMatch(new RegExp(`above maxNestingDepth ${limit}$`));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
