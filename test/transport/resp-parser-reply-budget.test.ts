/**
 * What a reply being assembled may hold is bounded by the bytes received for it: its
 * estimated heap may not exceed `maxReplyAmplification` × its bytes plus an allowance.
 * Cheap-to-send, costly-to-hold values (empty maps and sets, error replies) inside a long
 * array are refused early; data replies of any size (the shapes LRANGE, HGETALL, ZRANGE,
 * SCAN return) are not. Also: big numbers are capped before BigInt parses them, and error
 * replies are built without stack traces.
 */
import { describe, expect, it } from 'vitest';
import { FrameTooLargeError, hasCode, ProtocolError, RemoteError } from '../../src/errors.js';
import {
  DEFAULT_MAX_REPLY_AMPLIFICATION, MAX_RESP_BIG_NUMBER_DIGITS, REPLY_HEAP_ALLOWANCE_BYTES, RespParser, respRemoteError,
  type RespParserOptions, type RespReply,
} from '../../src/transport/resp-parser.js';
import { rejection } from './helpers.js';
import { open } from './resp-helpers/scripted-session.js';

function collect(options?: RespParserOptions): { parser: RespParser; out: RespReply[] } {
  const out: RespReply[] = [];
  return { parser: new RespParser((value) => out.push(value), options), out };
}

function thrown(fn: () => void): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
}

/**
 * The ratio nearly alone: a 4 KiB allowance (an aggregate is charged when its header
 * arrives, before its elements) instead of 32 MiB, so a few thousand elements show
 * whether a shape stays under 16×.
 */
const RATIO_ONLY: RespParserOptions = { replyHeapAllowanceBytes: 4096 };

/** An array of `count` copies of `element`, in one buffer. */
const arrayOf = (count: number, element: string): Buffer => Buffer.from(`*${count}\r\n${element.repeat(count)}`);

describe('resp parser: heap of a pending reply bounded by its bytes', () => {
  it('defaults to 16× the bytes received plus 32 MiB', () => {
    expect(DEFAULT_MAX_REPLY_AMPLIFICATION).toBe(16);
    expect(REPLY_HEAP_ALLOWANCE_BYTES).toBe(32 * 1024 * 1024);
    const { parser } = collect();
    expect(parser.maxReplyAmplification).toBe(16);
    expect(parser.replyHeapAllowanceBytes).toBe(32 * 1024 * 1024);
  });

  it('refuses the review case — "%0" in a 12 000 000-element array — within its first 2 MiB (it used to take 1.1 GiB for 24 MiB)', () => {
    const { parser, out } = collect();
    parser.push(Buffer.from('*12000000\r\n'));
    const chunk = Buffer.from('%0\r\n'.repeat(16 * 1024));
    let sent = 0;
    const err = thrown(() => {
      for (; sent < 24 * 1024 * 1024; sent += chunk.length) parser.push(chunk);
    });
    expect(err).toBeInstanceOf(FrameTooLargeError);
    expect(hasCode(err, 'WW_FRAME_TOO_LARGE')).toBe(true);
    expect(err.message).toMatch(
      /^RESP reply would hold ~\d+ bytes of heap for \d+ bytes received, above maxReplyAmplification 16 \(16 × \d+ \+ 33554432 bytes\)$/,
    );
    expect(sent).toBeLessThan(2 * 1024 * 1024);
    expect(out).toHaveLength(0);
    parser.reset();
    expect(parser.idle).toBe(true);
  });

  it('names the estimate, the bytes and the bound: "*100" then one empty map is 224 bytes of heap for 10 bytes', () => {
    const err = thrown(() => collect({ replyHeapAllowanceBytes: 0 }).parser.push(Buffer.from('*100\r\n%0\r\n')));
    // 32 (the array) + 8 (a slot) + 184 (a Map) against 16 × (6 + 4) bytes.
    expect(err.message).toBe('RESP reply would hold ~224 bytes of heap for 10 bytes received, above maxReplyAmplification 16 (16 × 10 + 0 bytes)');
  });

  it.each([
    ['empty maps', '%0\r\n'],
    ['empty sets', '~0\r\n'],
    ['short error replies', '-E\r\n'],
    ['short blob errors', '!1\r\nE\r\n'],
    ['maps inside maps', '%1\r\n%0\r\n%0\r\n'],
  ])('refuses a long array of %s (40–50× their bytes) past the allowance', (_name, element) => {
    const err = thrown(() => collect(RATIO_ONLY).parser.push(arrayOf(1000, element)));
    expect(hasCode(err, 'WW_FRAME_TOO_LARGE')).toBe(true);
    // The same bytes inside the allowance decode: only the bulk is refused.
    const { parser, out } = collect();
    parser.push(arrayOf(1000, element));
    expect((out[0] as RespReply[]).length).toBe(1000);
  });

  it.each([
    ['integers', ':1\r\n', {}],
    ['large integers', ':9007199254740993\r\n', {}],
    ['nulls', '_\r\n', {}],
    ['booleans', '#t\r\n', {}],
    ['doubles', ',1.5\r\n', {}],
    ['big numbers', '(1\r\n', {}],
    ['one-byte simple strings', '+x\r\n', {}],
    ['empty bulk strings', '$0\r\n\r\n', {}],
    ['one-byte bulk strings', '$1\r\nx\r\n', {}],
    ['one-byte bulk Buffers', '$1\r\nx\r\n', { returnBuffers: true }],
    ['two-byte bulk Buffers', '$2\r\nxy\r\n', { returnBuffers: true }],
    ['verbatim strings', '=5\r\ntxt:x\r\n', {}],
    ['empty arrays', '*0\r\n', {}],
    ['one-element arrays', '*1\r\n:1\r\n', {}],
    ['ZRANGE WITHSCORES pairs (RESP3)', '*2\r\n$1\r\nm\r\n,1\r\n', {}],
    ['HGETALL maps of pairs (RESP3)', '%2\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\ng\r\n:1\r\n', {}],
    ['error replies with Redis-sized text', '-ERR wrong number of arguments for this command\r\n', {}],
  ])('accepts a data reply of any size: an array of %s stays under 16× without the allowance', (_name, element, options) => {
    const { parser, out } = collect({ ...RATIO_ONLY, ...options });
    parser.push(arrayOf(5000, element));
    expect((out[0] as RespReply[]).length).toBe(5000);
  });

  it('accepts a 500 000-element LRANGE of one-byte values as Buffers (the costliest data reply, ~15×) past the allowance', () => {
    const { parser, out } = collect({ returnBuffers: true });
    const reply = arrayOf(500_000, '$1\r\nx\r\n');
    for (let at = 0; at < reply.length; at += 64 * 1024) parser.push(reply.subarray(at, at + 64 * 1024));
    expect(out).toHaveLength(1);
    expect((out[0] as Buffer[])[499_999]).toEqual(Buffer.from('x'));
    // An empty body with returnBuffers is its own empty view, not a shared object.
    const empty = collect({ returnBuffers: true });
    empty.parser.push(Buffer.from('*2\r\n$0\r\n\r\n$0\r\n\r\n'));
    const [a, b] = empty.out[0] as Buffer[];
    expect(a).toEqual(Buffer.alloc(0));
    expect(a).not.toBe(b);
  });

  it('budgets each reply by its own bytes: a large bulk before it lends it nothing', () => {
    const none = { replyHeapAllowanceBytes: 0 };
    const { parser, out } = collect(none);
    const hostile = '*2\r\n%0\r\n%0\r\n';
    expect(hasCode(thrown(() => collect(none).parser.push(Buffer.from(hostile))), 'WW_FRAME_TOO_LARGE')).toBe(true);
    const bulk = `$4000\r\n${'v'.repeat(4000)}\r\n`;
    parser.push(Buffer.from(bulk));
    expect(out).toHaveLength(1);
    expect(hasCode(thrown(() => parser.push(Buffer.from(hostile))), 'WW_FRAME_TOO_LARGE')).toBe(true);
    // And a finished reply's heap is not carried into the next one either.
    const many = collect({ replyHeapAllowanceBytes: 0 });
    for (let i = 0; i < 1000; i++) many.parser.push(Buffer.from('*1\r\n:1\r\n'));
    expect(many.out).toHaveLength(1000);
  });

  it('maxReplyAmplification raises the bound, and Infinity turns it off', () => {
    const maps = arrayOf(1000, '%0\r\n');
    const raised = collect({ ...RATIO_ONLY, maxReplyAmplification: 64 });
    raised.parser.push(maps);
    expect(raised.out).toHaveLength(1);
    const off = collect({ ...RATIO_ONLY, maxReplyAmplification: Infinity });
    off.parser.push(arrayOf(1000, '-E\r\n'));
    expect((off.out[0] as RespReply[])[999]).toBeInstanceOf(RemoteError);
  });
});

describe('resp parser: big numbers', () => {
  it(`decodes up to ${MAX_RESP_BIG_NUMBER_DIGITS} digits, signed or not`, () => {
    const { parser, out } = collect();
    const digits = '9'.repeat(MAX_RESP_BIG_NUMBER_DIGITS);
    parser.push(Buffer.from(`(${digits}\r\n(-${digits}\r\n`));
    expect(out).toEqual([BigInt(digits), -BigInt(digits)]);
  });

  it('refuses one digit more with a ProtocolError naming the length and the limit, before parsing it', () => {
    const err = thrown(() => collect().parser.push(Buffer.from(`(-${'9'.repeat(MAX_RESP_BIG_NUMBER_DIGITS + 1)}\r\n`)));
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err.message).toBe('RESP big number of 4097 digits exceeds 4096 digits');
    // The review case: a 1 MiB line (150 ms of BigInt parsing) is refused on its length.
    const long = thrown(() => collect().parser.push(Buffer.from(`(${'9'.repeat(1024 * 1024 - 8)}\r\n`)));
    expect(long.message).toBe(`RESP big number of ${1024 * 1024 - 8} digits exceeds 4096 digits`);
  });
});

describe('resp parser: error replies are values without stack traces', () => {
  it('builds a RemoteError and its cause without capturing a stack, and restores Error.stackTraceLimit', () => {
    const before = Error.stackTraceLimit;
    const err = respRemoteError('WRONGTYPE Operation against a key holding the wrong kind of value');
    expect(Error.stackTraceLimit).toBe(before);
    expect(err.stack).not.toMatch(/\n\s+at /);
    expect((err.cause as Error).stack).not.toMatch(/\n\s+at /);
    expect((err.cause as { code?: string }).code).toBe('WRONGTYPE');
  });
});

describe('resp(): maxReplyAmplification', () => {
  /** 300 000 empty maps: ~57 MB estimated, over the default bound (16 × 1.2 MB + 32 MiB), under 64×. */
  const emptyMaps = arrayOf(300_000, '%0\r\n');

  it('a session refuses a reply over the default bound: the command fails with the coded error as cause', async () => {
    const { session, peer } = await open();
    const reply = session.command(['EVAL', 'return maps', '0']);
    await peer.received(1);
    peer.send(emptyMaps);
    const err = await rejection(reply);
    const codes: string[] = [];
    for (let e: unknown = err; e instanceof Error; e = e.cause) codes.push(String((e as { code?: string }).code));
    expect(codes).toContain('WW_FRAME_TOO_LARGE');
    session.destroy();
  });

  it('passes the option to the session\'s parser: the same reply decodes with maxReplyAmplification 64', async () => {
    const { session, peer } = await open({ maxReplyAmplification: 64 });
    const reply = session.command(['EVAL', 'return maps', '0']);
    await peer.received(1);
    peer.send(emptyMaps);
    expect(((await reply) as RespReply[]).length).toBe(300_000);
    session.destroy();
  });
});
