/**
 * The line limit (`MAX_RESP_LINE_BYTES`: type byte included, CRLF not) holds however the
 * stream is cut: a line over it is the same `WW_PROTOCOL_ERROR` whole in one chunk or split
 * at any point, and a line at it is accepted either way. Bulk strings are not lines.
 * Found by the fuzz harness: `npm run fuzz -- --target resp-parser --seed 20261204 --case 966169`.
 */
import { describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors.js';
import { MAX_RESP_LINE_BYTES, RespParser, type RespReply } from '../../src/transport/resp-parser.js';

function collect(): { parser: RespParser; out: RespReply[] } {
  const out: RespReply[] = [];
  return { parser: new RespParser((value) => out.push(value)), out };
}

/** Feeds `chunks`; the error thrown, or the replies emitted. */
function feed(chunks: Buffer[]): { error?: Error; out: RespReply[] } {
  const { parser, out } = collect();
  try {
    for (const chunk of chunks) parser.push(chunk);
  } catch (err) {
    return { error: err as Error, out };
  }
  return { out };
}

/** A simple string line of `bytes` bytes (type byte included), then CRLF. */
const simpleLine = (bytes: number) => Buffer.concat([Buffer.from('+'), Buffer.alloc(bytes - 1, 0x61), Buffer.from('\r\n')]);

/** The ways to cut `bytes`: whole, in two in the middle, before the CR, between CR and LF. */
const cuts = (bytes: Buffer): Array<[string, Buffer[]]> => [
  ['one chunk', [bytes]],
  ['split in the middle', [bytes.subarray(0, bytes.length >> 1), bytes.subarray(bytes.length >> 1)]],
  ['split before CRLF', [bytes.subarray(0, -2), bytes.subarray(-2)]],
  ['split between CR and LF', [bytes.subarray(0, -1), bytes.subarray(-1)]],
];

const MESSAGE = `RESP line longer than ${MAX_RESP_LINE_BYTES} bytes (CRLF not counted)`;

describe('resp parser: the line limit does not depend on chunking', () => {
  it.each(cuts(simpleLine(MAX_RESP_LINE_BYTES + 1)))('a line one byte over the limit is refused: %s', (_, chunks) => {
    const { error, out } = feed(chunks);
    expect(out).toEqual([]);
    expect(hasCode(error, 'WW_PROTOCOL_ERROR')).toBe(true);
    expect(error!.message).toBe(MESSAGE);
  });

  it.each(cuts(simpleLine(MAX_RESP_LINE_BYTES)))('a line at the limit is accepted: %s', (_, chunks) => {
    const { error, out } = feed(chunks);
    expect(error).toBeUndefined();
    expect(out).toHaveLength(1);
    expect((out[0] as string).length).toBe(MAX_RESP_LINE_BYTES - 1);
  });

  it('the fuzz finding: + and 2 MiB and CRLF is refused in one chunk as in two', () => {
    const line = Buffer.concat([Buffer.from('+'), Buffer.alloc(2 * 1024 * 1024, 0x61), Buffer.from('\r\n')]);
    const whole = feed([line]).error;
    const split = feed([line.subarray(0, 1024), line.subarray(1024)]).error;
    expect(hasCode(whole, 'WW_PROTOCOL_ERROR')).toBe(true);
    expect(whole!.message).toBe(split!.message);
  });

  it('bulk strings are not lines: a 2 MiB $ body is accepted in one chunk', () => {
    const body = Buffer.alloc(2 * 1024 * 1024, 0x62);
    const { error, out } = feed([Buffer.concat([Buffer.from(`$${body.length}\r\n`), body, Buffer.from('\r\n')])]);
    expect(error).toBeUndefined();
    expect((out[0] as string).length).toBe(body.length);
  });
});
