/**
 * Nesting in the RESP parser: a depth limit with a coded error naming the depth and the
 * limit, completion without recursion (a deep reply finishing at once cannot overflow
 * the call stack), and unfinished nesting refused long before it costs memory.
 */
import { describe, expect, it } from 'vitest';
import { hasCode, ProtocolError } from '../../src/errors.js';
import { DEFAULT_MAX_NESTING_DEPTH, ReplyKind, RespParser, type RespParserOptions, type RespReply } from '../../src/transport/resp-parser.js';
import { rejection } from './helpers.js';
import { open, setup } from './resp-helpers/scripted-session.js';

function collect(options?: RespParserOptions): { parser: RespParser; out: Array<{ kind: ReplyKind; value: RespReply }> } {
  const out: Array<{ kind: ReplyKind; value: RespReply }> = [];
  return { parser: new RespParser((value, kind) => out.push({ kind, value }), options), out };
}

function thrown(fn: () => void): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
}

/** `levels` one-element arrays around `:1`. */
const nestedArrays = (levels: number): Buffer => Buffer.from(`${'*1\r\n'.repeat(levels)}:1\r\n`);

/** How many arrays wrap the innermost value, counted with a loop (no recursion here either). */
function arrayDepth(value: RespReply): number {
  let depth = 0;
  for (let v = value; Array.isArray(v); v = v[0]!) depth++;
  return depth;
}

describe('resp parser: nesting depth', () => {
  it('defaults to 128 levels: 128 decode, 129 are a ProtocolError naming the depth and the limit, and nothing is emitted', () => {
    expect(DEFAULT_MAX_NESTING_DEPTH).toBe(128);
    const ok = collect();
    ok.parser.push(nestedArrays(128));
    expect(ok.out).toHaveLength(1);
    expect(arrayDepth(ok.out[0]!.value)).toBe(128);
    expect(ok.parser.idle).toBe(true);

    const deep = collect();
    const err = thrown(() => deep.parser.push(nestedArrays(129)));
    expect(err).toBeInstanceOf(ProtocolError);
    expect(hasCode(err, 'WW_PROTOCOL_ERROR')).toBe(true);
    expect(err.message).toBe('RESP reply nests aggregates 129 levels deep, above maxNestingDepth 128');
    expect(deep.out).toHaveLength(0);
  });

  it('counts the depth across chunks, byte by byte', () => {
    const { parser, out } = collect({ maxNestingDepth: 4 });
    const bytes = nestedArrays(4);
    for (let i = 0; i < bytes.length; i++) parser.push(bytes.subarray(i, i + 1));
    expect(arrayDepth(out[0]!.value)).toBe(4);
    const again = collect({ maxNestingDepth: 4 });
    const five = nestedArrays(5);
    let err: Error | undefined;
    for (let i = 0; i < five.length && err === undefined; i++) {
      try {
        again.parser.push(five.subarray(i, i + 1));
      } catch (e) {
        err = e as Error;
      }
    }
    expect(err?.message).toBe('RESP reply nests aggregates 5 levels deep, above maxNestingDepth 4');
  });

  it('counts maps, sets, pushes, attributes and empty aggregates as levels', () => {
    // push > map > set: 3 levels.
    const three = collect({ maxNestingDepth: 3 });
    three.parser.push(Buffer.from('>1\r\n%1\r\n+k\r\n~1\r\n:1\r\n'));
    expect(three.out).toEqual([{ kind: ReplyKind.Push, value: [new Map([['k', new Set([1])]])] }]);
    // An attribute holding two arrays is 3 levels; the value it describes follows.
    three.parser.push(Buffer.from('|1\r\n+a\r\n*1\r\n*1\r\n:1\r\n:7\r\n'));
    expect(three.out[1]).toEqual({ kind: ReplyKind.Reply, value: 7 });
    const cases = ['>1\r\n%1\r\n+k\r\n~1\r\n*1\r\n:1\r\n', '|1\r\n+a\r\n*1\r\n*1\r\n*1\r\n:1\r\n', '*1\r\n*1\r\n*1\r\n*0\r\n', '*1\r\n*1\r\n*1\r\n%0\r\n'];
    for (const text of cases) {
      const err = thrown(() => collect({ maxNestingDepth: 3 }).parser.push(Buffer.from(text)));
      expect(err.message, text).toBe('RESP reply nests aggregates 4 levels deep, above maxNestingDepth 3');
    }
  });

  it('refuses 5 000 levels with the coded error, not a RangeError (the handshake used to fail with one as cause)', () => {
    const err = thrown(() => collect().parser.push(nestedArrays(5000)));
    expect(hasCode(err, 'WW_PROTOCOL_ERROR')).toBe(true);
  });

  it('completes a reply nested 65 536 levels deep, arriving at once, without recursion', () => {
    const { parser, out } = collect({ maxNestingDepth: 65_536 });
    parser.push(nestedArrays(65_536));
    expect(out).toHaveLength(1);
    expect(arrayDepth(out[0]!.value)).toBe(65_536);
    // Mixed kinds finish through the same loop: map values and set members, 20 000 deep.
    const mixed = collect({ maxNestingDepth: 65_536 });
    mixed.parser.push(Buffer.from(`${'%1\r\n+k\r\n~1\r\n'.repeat(10_000)}_\r\n`));
    let depth = 0;
    for (let v: RespReply = mixed.out[0]!.value; v instanceof Map || v instanceof Set; depth++) {
      v = (v instanceof Map ? v.get('k') : [...v][0]) as RespReply;
    }
    expect(depth).toBe(20_000);
  });

  it('refuses 24 MiB of "*1\\r\\n" within its first 64 KiB chunk: unfinished nesting is bounded by the limit', () => {
    const chunk = Buffer.from('*1\r\n'.repeat(16 * 1024));
    const { parser } = collect();
    const err = thrown(() => {
      for (let sent = 0; sent < 24 * 1024 * 1024; sent += chunk.length) parser.push(chunk);
    });
    expect(err.message).toBe('RESP reply nests aggregates 129 levels deep, above maxNestingDepth 128');
    // The throw came from the first chunk: the parser holds the 128 levels it accepted, no more.
    expect(parser.idle).toBe(false);
    parser.reset();
    expect(parser.idle).toBe(true);
  });

  it('does not preallocate from a declared length: huge declared aggregates still take their elements one by one', () => {
    for (const header of ['*2147483647', '%2147483647', '~2147483647', '>2147483647', '|2147483647', '*17']) {
      const { parser, out } = collect();
      parser.push(Buffer.from(`${header}\r\n:1\r\n:2\r\n`));
      expect(out, header).toHaveLength(0);
      expect(parser.idle, header).toBe(false);
    }
    // Small ones are sized exactly and fully filled (no holes left behind).
    const { parser, out } = collect();
    parser.push(Buffer.from('*3\r\n:1\r\n*0\r\n$-1\r\n'));
    const value = out[0]!.value as RespReply[];
    expect(value).toEqual([1, [], null]);
    expect(Object.keys(value)).toEqual(['0', '1', '2']);
  });
});

describe('resp(): maxNestingDepth', () => {
  it('a handshake reply nested 5 000 deep fails the handshake with the coded error as cause, not a RangeError', async () => {
    const { peer, opening } = setup();
    await peer.received(1);
    peer.send(nestedArrays(5000));
    const err = await rejection(opening);
    expect(hasCode(err, 'WW_HANDSHAKE_FAILED')).toBe(true);
    const causes: string[] = [];
    for (let e: unknown = err.cause; e instanceof Error; e = e.cause) causes.push(`${(e as { code?: string }).code}: ${e.message}`);
    expect(causes).toContain('WW_PROTOCOL_ERROR: RESP reply nests aggregates 129 levels deep, above maxNestingDepth 128');
  });

  it('passes the option to the session\'s parser: 200 levels decode with maxNestingDepth 200', async () => {
    const { session, peer } = await open({ maxNestingDepth: 200 });
    const reply = session.command(['EVAL', 'return deep', '0']);
    await peer.received(1);
    peer.send(nestedArrays(200));
    expect(arrayDepth(await reply)).toBe(200);
    session.destroy();
  });
});
