/**
 * The streaming RESP parser: round trips of random RESP2/RESP3 replies under arbitrary
 * chunking, limits enforced before allocation, and garbage refused with ProtocolError.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { hasCode, RemoteError } from '../../src/errors.js';
import { MAX_RESP_LINE_BYTES, ReplyKind, RespParser, type RespParserOptions, type RespReply } from '../../src/transport/resp-parser.js';
import { encodeReply, expectedValue, normalize, replyArb, type Reply } from './resp-helpers/reply-model.js';

afterEach(() => {
  vi.restoreAllMocks();
});

interface Emitted {
  kind: ReplyKind;
  value: RespReply;
}

function collect(options?: RespParserOptions): { parser: RespParser; out: Emitted[] } {
  const out: Emitted[] = [];
  const parser = new RespParser((value, kind) => out.push({ kind, value }), options);
  return { parser, out };
}

/** Splits `bytes` at the given cut points (any order, duplicates allowed). */
function chunked(bytes: Buffer, cuts: number[]): Buffer[] {
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

/** An error reply, possibly behind attributes. */
function isError(r: Reply): boolean {
  return r.t === 'attr' ? isError(r.v) : r.t === 'error' || r.t === 'blobError';
}

function thrown(fn: () => void): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
}

describe('resp parser: round trips', () => {
  const topLevel = (resp3: boolean): fc.Arbitrary<{ reply: Reply; push: boolean }> =>
    resp3
      ? fc.oneof(
          replyArb(true).map((reply) => ({ reply, push: false })),
          fc.array(replyArb(true), { maxLength: 3 }).map((v) => ({ reply: { t: 'push', v } as Reply, push: true })),
        )
      : replyArb(false).map((reply) => ({ reply, push: false }));

  for (const resp3 of [false, true]) {
    for (const returnBuffers of [false, true]) {
      it(`decodes ${resp3 ? 'RESP3' : 'RESP2'} replies (returnBuffers ${returnBuffers}) split at arbitrary points`, () => {
        fc.assert(
          fc.property(fc.array(topLevel(resp3), { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 30 }), (items, cuts) => {
            const bytes = Buffer.concat(items.map((i) => encodeReply(i.reply)));
            const { parser, out } = collect({ returnBuffers });
            for (const chunk of chunked(bytes, cuts)) parser.push(chunk);
            expect(parser.idle).toBe(true);
            expect(out.map((e) => e.kind)).toEqual(
              items.map((i) => (i.push ? ReplyKind.Push : isError(i.reply) ? ReplyKind.Error : ReplyKind.Reply)),
            );
            expect(out.map((e) => normalize(e.value))).toEqual(items.map((i) => expectedValue(i.reply, returnBuffers)));
          }),
          { numRuns: 300 },
        );
      });
    }
  }

  it('maps integers beyond 2^53 to bigint and keeps safe ones as numbers', () => {
    const { parser, out } = collect();
    parser.push(Buffer.from(':9007199254740991\r\n:9007199254740992\r\n:-9223372036854775808\r\n:+7\r\n'));
    expect(out.map((e) => e.value)).toEqual([9007199254740991, 9007199254740992n, -9223372036854775808n, 7]);
  });

  it('decodes RESP3 scalars: doubles (inf, nan, exponent), booleans, big numbers, verbatim strings', () => {
    const { parser, out } = collect();
    parser.push(Buffer.from(',1.5\r\n,inf\r\n,-inf\r\n,nan\r\n,1e+21\r\n#t\r\n#f\r\n(3492890328409238509324850943850943825024385\r\n=15\r\ntxt:Some string\r\n_\r\n'));
    expect(out.map((e) => e.value)).toEqual([1.5, Infinity, -Infinity, NaN, 1e21, true, false, 3492890328409238509324850943850943825024385n, 'Some string', null]);
  });

  it('keeps error replies nested in an array (EXEC) as RemoteError values with their prefix', () => {
    const { parser, out } = collect();
    parser.push(Buffer.from('*2\r\n+OK\r\n-WRONGTYPE Operation against a key\r\n'));
    expect(out).toHaveLength(1);
    expect(out[0]!.kind).toBe(ReplyKind.Reply);
    const [okReply, error] = out[0]!.value as RespReply[];
    expect(okReply).toBe('OK');
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as RemoteError).message).toBe('WRONGTYPE Operation against a key');
    expect(((error as RemoteError).cause as { code: string }).code).toBe('WRONGTYPE');
  });

  it('drops attributes and emits the value they describe, at top level and nested', () => {
    const { parser, out } = collect();
    parser.push(Buffer.from('|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*2\r\n:1\r\n|0\r\n:2\r\n'));
    expect(out.map((e) => e.value)).toEqual([[1, 2]]);
  });

  it('collects a bulk split over 1024 chunks once, without re-parsing (one concat, memory = bytes received)', () => {
    const body = Buffer.alloc(1024 * 1024, 0x61);
    const bytes = Buffer.concat([Buffer.from(`$${body.length}\r\n`), body, Buffer.from('\r\n')]);
    const { parser, out } = collect({ returnBuffers: true });
    const concat = vi.spyOn(Buffer, 'concat');
    parser.push(bytes.subarray(0, 10));
    expect(parser.bufferedBytes).toBe(10 - `$${body.length}\r\n`.length);
    for (let at = 10; at < bytes.length; at += 1024) parser.push(bytes.subarray(at, Math.min(at + 1024, bytes.length)));
    expect(concat).toHaveBeenCalledTimes(1);
    expect(out).toHaveLength(1);
    expect((out[0]!.value as Buffer).equals(body)).toBe(true);
    expect(parser.bufferedBytes).toBe(0);
  });

  it('returns a Buffer that does not share memory with the socket chunk', () => {
    const { parser, out } = collect({ returnBuffers: true });
    const chunk = Buffer.from('$3\r\nabc\r\n+tail\r\n');
    parser.push(chunk);
    const value = out[0]!.value as Buffer;
    chunk.fill(0);
    expect(value.toString()).toBe('abc');
  });
});

describe('resp parser: limits, before allocation', () => {
  it('refuses a bulk length above maxBulkBytes on the header alone', () => {
    const { parser, out } = collect({ maxBulkBytes: 1024, returnBuffers: true });
    const concat = vi.spyOn(Buffer, 'concat');
    const alloc = vi.spyOn(Buffer, 'allocUnsafe');
    parser.push(Buffer.from('$10'));
    const err = thrown(() => parser.push(Buffer.from('25\r\n')));
    expect(hasCode(err, 'WW_FRAME_TOO_LARGE')).toBe(true);
    expect(err.message).toBe('RESP bulk reply of 1025 bytes exceeds maxBulkBytes 1024');
    expect(out).toHaveLength(0);
    expect(alloc).not.toHaveBeenCalledWith(1025);
    expect(concat.mock.calls.every(([, n]) => (n ?? 0) < 100)).toBe(true);
  });

  it('refuses the default 512 MiB + 1 and a bulk longer than the longest JS string unless returnBuffers', () => {
    expect(hasCode(thrown(() => collect().parser.push(Buffer.from(`$${512 * 1024 * 1024 + 1}\r\n`))), 'WW_FRAME_TOO_LARGE')).toBe(true);
    const err = thrown(() => collect({ maxBulkBytes: 2 ** 32 - 1 }).parser.push(Buffer.from('$600000000\r\n')));
    expect(hasCode(err, 'WW_FRAME_TOO_LARGE')).toBe(true);
    expect(err.message).toContain('use returnBuffers');
    // With Buffers the same header is accepted: only the bytes received are held.
    const { parser } = collect({ maxBulkBytes: 2 ** 32 - 1, returnBuffers: true });
    parser.push(Buffer.from('$600000000\r\nabc'));
    expect(parser.bufferedBytes).toBe(3);
  });

  it('refuses an aggregate declaring more than maxAggregateLength elements, and never preallocates', () => {
    const err = thrown(() => collect({ maxAggregateLength: 100 }).parser.push(Buffer.from('*101\r\n')));
    expect(hasCode(err, 'WW_FRAME_TOO_LARGE')).toBe(true);
    expect(err.message).toBe('RESP aggregate of 101 elements exceeds maxAggregateLength 100');
    expect(hasCode(thrown(() => collect({ maxAggregateLength: 100 }).parser.push(Buffer.from('%101\r\n'))), 'WW_FRAME_TOO_LARGE')).toBe(true);
    const { parser, out } = collect();
    parser.push(Buffer.from('*4000000000\r\n:1\r\n'));
    expect(out).toHaveLength(0);
    expect(parser.idle).toBe(false);
  });

  it('refuses a line longer than MAX_RESP_LINE_BYTES without CRLF', () => {
    const { parser } = collect();
    parser.push(Buffer.from('+'));
    parser.push(Buffer.alloc(MAX_RESP_LINE_BYTES - 1, 0x61));
    const err = thrown(() => parser.push(Buffer.from('aa')));
    expect(hasCode(err, 'WW_PROTOCOL_ERROR')).toBe(true);
  });
});

describe('resp parser: garbage', () => {
  const cases: Array<[string, string]> = [
    ['an unknown type byte', '?hello\r\n'],
    ['a line ending in LF only', '+OK\n'],
    ['an integer with letters', ':12a\r\n'],
    ['an empty integer', ':\r\n'],
    ['a negative bulk length other than -1', '$-2\r\n'],
    ['a bulk length with a sign', '$+3\r\nabc\r\n'],
    ['a bulk not followed by CRLF', '$3\r\nabcd\r\n'],
    ['a bad boolean', '#x\r\n'],
    ['a bad double', ',1.2.3\r\n'],
    ['a null with a payload', '_x\r\n'],
    ['a bad big number', '(12x\r\n'],
    ['a verbatim string without its format', '=3\r\nabc\r\n'],
    ['a null map', '%-1\r\n'],
    ['a streamed aggregate', '*?\r\n'],
    ['an empty line', '\r\n'],
  ];
  for (const [what, text] of cases) {
    it(`throws ProtocolError on ${what}`, () => {
      const err = thrown(() => collect().parser.push(Buffer.from(text)));
      expect(hasCode(err, 'WW_PROTOCOL_ERROR')).toBe(true);
    });
  }

  it('emits the replies before the garbage, then throws', () => {
    const { parser, out } = collect();
    const err = thrown(() => parser.push(Buffer.from('+OK\r\n:1\r\nnot resp\r\n')));
    expect(hasCode(err, 'WW_PROTOCOL_ERROR')).toBe(true);
    expect(out.map((e) => e.value)).toEqual(['OK', 1]);
  });
});
