/**
 * Well-formed RESP2/RESP3 replies with the values `RespParser` must produce for them, and
 * hostile ones (deep nesting, lengths past every limit, lines that never end).
 *
 * The model mirrors the parser's documented decoding: bulk strings as UTF-8 strings or
 * Buffers (`returnBuffers`), error replies as `RemoteError`s (kind Error at top level),
 * integers beyond ±2^53 as bigints, attributes dropped, a top-level push as kind Push.
 */
import { respRemoteError, ReplyKind, type RespReply } from '../../src/transport/resp-parser.js';
import type { Rng } from '../random.js';

export interface ExpectedReply {
  readonly kind: ReplyKind;
  readonly value: RespReply;
}

export interface GeneratedReplies {
  readonly bytes: Buffer;
  readonly expected: ExpectedReply[];
  /** Largest bulk body and aggregate length used: below the parser's limits, expectations hold. */
  readonly maxBulkBytes: number;
  readonly maxAggregateLength: number;
}

const INTEGERS = ['0', '-0', '1', '-1', '+7', '9007199254740991', '9007199254740992', '-9007199254740993', '9223372036854775807', '-9223372036854775808', '18446744073709551615'];
const DOUBLES = ['0', '1.5', '-2.25', '1e10', '1E-3', '.5', '-0.0', '3.', 'inf', '-inf', 'nan', '+inf', '1.7976931348623157e308'];

class Writer {
  readonly parts: Buffer[] = [];
  maxBulkBytes = 0;
  maxAggregateLength = 0;

  line(text: string): void {
    this.parts.push(Buffer.from(`${text}\r\n`, 'latin1'));
  }

  bulk(type: string, body: Buffer): void {
    this.maxBulkBytes = Math.max(this.maxBulkBytes, body.length);
    this.parts.push(Buffer.from(`${type}${body.length}\r\n`), body, Buffer.from('\r\n'));
  }

  aggregate(type: string, length: number): void {
    this.maxAggregateLength = Math.max(this.maxAggregateLength, length);
    this.line(`${type}${length}`);
  }
}

/** A line's text: printable, no CR or LF. */
function lineText(rng: Rng, max: number): string {
  let s = '';
  for (let n = rng.size(max); n > 0; n--) s += String.fromCharCode(rng.int(0x20, 0x7e));
  return s;
}

function bytesValue(body: Buffer, returnBuffers: boolean): string | Buffer {
  return returnBuffers ? Buffer.from(body) : body.toString('utf8');
}

/** Writes one reply of depth ≤ `depth` and returns its value (`undefined` for an attribute, which yields none). */
function reply(rng: Rng, w: Writer, depth: number, returnBuffers: boolean): { value: RespReply; isError: boolean; isPush: boolean } {
  const pick = rng.weighted(depth > 0 ? [2, 1, 2, 3, 0.5, 0.5, 1, 1, 1, 1, 1, 0.5, 2, 1, 1, 1, 0.5, 0.5] : [2, 1, 2, 3, 0.5, 0.5, 1, 1, 1, 1, 1, 0.5]);
  switch (pick) {
    case 0: {
      const text = lineText(rng, 40);
      w.line(`+${text}`);
      return { value: text, isError: false, isPush: false };
    }
    case 1: {
      const text = `${rng.pick(['ERR', 'WRONGTYPE', 'MOVED', 'NOAUTH'])} ${lineText(rng, 30)}`;
      w.line(`-${text}`);
      return { value: respRemoteError(text), isError: true, isPush: false };
    }
    case 2: {
      const text = rng.chance(0.5) ? rng.pick(INTEGERS) : String(rng.int(-1e9, 1e9));
      w.line(`:${text}`);
      const big = BigInt(text);
      const safe = big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER);
      return { value: safe ? Number(big) : big, isError: false, isPush: false };
    }
    case 3: {
      const body = rng.chance(0.5) ? Buffer.from(lineText(rng, 64)) : rng.bytes(rng.size(300));
      w.bulk('$', body);
      return { value: bytesValue(body, returnBuffers), isError: false, isPush: false };
    }
    case 4:
      w.line('$-1');
      return { value: null, isError: false, isPush: false };
    case 5:
      w.line('*-1');
      return { value: null, isError: false, isPush: false };
    case 6: {
      const text = `ERR ${lineText(rng, 30)}`;
      w.bulk('!', Buffer.from(text));
      return { value: respRemoteError(text), isError: true, isPush: false };
    }
    case 7: {
      const body = rng.bytes(rng.size(64));
      w.bulk('=', Buffer.concat([Buffer.from(rng.pick(['txt:', 'mkd:'])), body]));
      return { value: bytesValue(body, returnBuffers), isError: false, isPush: false };
    }
    case 8:
      w.line('_');
      return { value: null, isError: false, isPush: false };
    case 9: {
      const b = rng.chance(0.5);
      w.line(b ? '#t' : '#f');
      return { value: b, isError: false, isPush: false };
    }
    case 10: {
      const text = rng.pick(DOUBLES);
      w.line(`,${text}`);
      const lower = text.toLowerCase();
      const value = lower === 'inf' || lower === '+inf' ? Infinity : lower === '-inf' ? -Infinity : lower === 'nan' ? NaN : Number(text);
      return { value, isError: false, isPush: false };
    }
    case 11: {
      const text = rng.pick(['0', '-1', '3492890328409238509324850943850943825024385', '-12345678901234567890']);
      w.line(`(${text}`);
      return { value: BigInt(text), isError: false, isPush: false };
    }
    case 12:
    case 16: {
      // array (16: push)
      const length = rng.size(6);
      w.aggregate(pick === 12 ? '*' : '>', length);
      const items: RespReply[] = [];
      for (let i = 0; i < length; i++) items.push(element(rng, w, depth - 1, returnBuffers));
      return { value: items, isError: false, isPush: pick === 16 };
    }
    case 13: {
      const length = rng.size(4);
      w.aggregate('%', length);
      const map = new Map<RespReply, RespReply>();
      for (let i = 0; i < length; i++) {
        const k = element(rng, w, depth - 1, returnBuffers);
        map.set(k, element(rng, w, depth - 1, returnBuffers));
      }
      return { value: map, isError: false, isPush: false };
    }
    case 14: {
      const length = rng.size(5);
      w.aggregate('~', length);
      const items: RespReply[] = [];
      for (let i = 0; i < length; i++) items.push(element(rng, w, depth - 1, returnBuffers));
      return { value: new Set(items), isError: false, isPush: false };
    }
    default: {
      // 15, 17: an attribute, then the value it annotates
      const length = rng.size(3);
      w.aggregate('|', length);
      for (let i = 0; i < 2 * length; i++) element(rng, w, depth - 1, returnBuffers);
      return reply(rng, w, depth, returnBuffers);
    }
  }
}

/** A reply nested in an aggregate: errors stay values, pushes become arrays. */
function element(rng: Rng, w: Writer, depth: number, returnBuffers: boolean): RespReply {
  return reply(rng, w, Math.max(0, depth), returnBuffers).value;
}

/**
 * 1–5 well-formed replies and their expected values.
 *
 * @example
 * const { bytes, expected } = respReplies(rng, { returnBuffers: false });
 */
export function respReplies(rng: Rng, options: { returnBuffers: boolean }): GeneratedReplies {
  const w = new Writer();
  const expected: ExpectedReply[] = [];
  for (let n = rng.int(1, 5); n > 0; n--) {
    const r = reply(rng, w, rng.int(0, 4), options.returnBuffers);
    expected.push({ kind: r.isPush ? ReplyKind.Push : r.isError ? ReplyKind.Error : ReplyKind.Reply, value: r.value });
  }
  return { bytes: Buffer.concat(w.parts), expected, maxBulkBytes: w.maxBulkBytes, maxAggregateLength: w.maxAggregateLength };
}

/**
 * A reply meant to hurt: nesting, lengths past the limits, unterminated lines, bad numbers.
 * One in fifty is big (nesting 100 000–300 000 deep, 1–2 MiB lines, 200 KB aggregates):
 * those cost milliseconds each, and a million of them would be the whole campaign.
 */
export function hostileReply(rng: Rng): Buffer {
  const big = rng.chance(0.02);
  switch (rng.int(0, 5)) {
    case 0: {
      const depth = big ? rng.pick([100_000, 300_000]) : rng.pick([2, 100, 1000, 10_000]);
      const open = Buffer.from(rng.pick(['*1\r\n', '>1\r\n', '~1\r\n', '%1\r\n:1\r\n', '|1\r\n+a\r\n+b\r\n*1\r\n']));
      return Buffer.concat([Buffer.alloc(open.length * depth, open), Buffer.from(rng.pick([':1\r\n', '_\r\n', '']))]);
    }
    case 1:
      return Buffer.from(`${rng.pick(['$', '*', '%', '~', '>', '|', '!', '='])}${rng.pick(['4294967295', '4294967296', '536870913', '99999999999999999', '2147483648', '-2', '01', '1 '])}\r\n`);
    case 2:
      return Buffer.concat([Buffer.from(rng.pick(['+', '-', ':', ','])), Buffer.alloc(big ? rng.pick([1024 * 1024 + 1, 2 * 1024 * 1024]) : rng.size(4096), 0x61)]);
    case 3:
      return Buffer.from(`${rng.pick([':', ',', '(', '#', '_'])}${rng.pick(['', '-', '+', '1e', '--1', '0x10', 'Infinity', ' 1', '1.2.3', 'tt', '99999999999999999999999999999999999999999999999999999999999999999'])}\r\n`);
    case 4:
      return Buffer.concat([Buffer.from(`*${rng.int(1, 5)}\r\n`), ...Array.from({ length: rng.int(0, 5) }, () => Buffer.from(rng.pick(['$3\r\nabc\r\n', '$3\r\nabcd\r\n', '$-1\r\n', ':1\r', '\n', '=3\r\nabc\r\n', '=5\r\ntxtab\r\n'])))]);
    default:
      return Buffer.concat([Buffer.from(rng.pick(['*', '%', '~'])), Buffer.from(String(rng.int(100_000, 5_000_000))), Buffer.from('\r\n'), Buffer.alloc(rng.int(0, big ? 50_000 : 500) * 4, ':1\r\n')]);
  }
}
