/**
 * A model of RESP2/RESP3 replies for tests: `encodeReply` writes the bytes a server would
 * send (written here from the spec, independently of src/), `expectedValue` says what the
 * parser must decode them to, and `replyArb` generates random replies for fast-check.
 */
import fc from 'fast-check';
import { RemoteError } from '../../../src/errors.js';

export type Reply =
  | { t: 'simple'; v: string }
  | { t: 'error'; v: string }
  | { t: 'blobError'; v: string }
  | { t: 'int'; v: bigint }
  | { t: 'bulk'; v: Uint8Array }
  | { t: 'nullBulk' }
  | { t: 'nullArray' }
  | { t: 'null' }
  | { t: 'array'; v: Reply[] }
  | { t: 'map'; v: [Reply, Reply][] }
  | { t: 'set'; v: Reply[] }
  | { t: 'double'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'big'; v: bigint }
  | { t: 'verbatim'; fmt: string; v: string }
  | { t: 'attr'; attrs: [Reply, Reply][]; v: Reply }
  | { t: 'push'; v: Reply[] };

function doubleText(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (Object.is(x, -0)) return '-0';
  return String(x);
}

function bulkOf(prefix: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${prefix}${body.length}\r\n`), body, Buffer.from('\r\n')]);
}

/** The bytes of one reply. */
export function encodeReply(r: Reply): Buffer {
  switch (r.t) {
    case 'simple': return Buffer.from(`+${r.v}\r\n`);
    case 'error': return Buffer.from(`-${r.v}\r\n`);
    case 'blobError': return bulkOf('!', Buffer.from(r.v));
    case 'int': return Buffer.from(`:${r.v}\r\n`);
    case 'bulk': return bulkOf('$', Buffer.from(r.v));
    case 'nullBulk': return Buffer.from('$-1\r\n');
    case 'nullArray': return Buffer.from('*-1\r\n');
    case 'null': return Buffer.from('_\r\n');
    case 'array': return Buffer.concat([Buffer.from(`*${r.v.length}\r\n`), ...r.v.map(encodeReply)]);
    case 'set': return Buffer.concat([Buffer.from(`~${r.v.length}\r\n`), ...r.v.map(encodeReply)]);
    case 'push': return Buffer.concat([Buffer.from(`>${r.v.length}\r\n`), ...r.v.map(encodeReply)]);
    case 'map': return Buffer.concat([Buffer.from(`%${r.v.length}\r\n`), ...r.v.flatMap(([k, v]) => [encodeReply(k), encodeReply(v)])]);
    case 'double': return Buffer.from(`,${doubleText(r.v)}\r\n`);
    case 'bool': return Buffer.from(`#${r.v ? 't' : 'f'}\r\n`);
    case 'big': return Buffer.from(`(${r.v}\r\n`);
    case 'verbatim': return bulkOf('=', Buffer.from(`${r.fmt}:${r.v}`));
    case 'attr': return Buffer.concat([
      Buffer.from(`|${r.attrs.length}\r\n`), ...r.attrs.flatMap(([k, v]) => [encodeReply(k), encodeReply(v)]), encodeReply(r.v),
    ]);
  }
}

/** Errors compare by text and prefix. */
export interface ErrorShape {
  error: string;
  code: string;
}

/** What the parser must produce for `r` (errors as `ErrorShape`, see `normalize`). */
export function expectedValue(r: Reply, returnBuffers: boolean): unknown {
  const e = (x: Reply): unknown => expectedValue(x, returnBuffers);
  switch (r.t) {
    case 'simple': return r.v;
    case 'error':
    case 'blobError': return { error: r.v, code: r.v.split(' ')[0] };
    case 'int': return r.v >= BigInt(Number.MIN_SAFE_INTEGER) && r.v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(r.v) : r.v;
    case 'bulk': return returnBuffers ? Buffer.from(r.v) : Buffer.from(r.v).toString('utf8');
    case 'nullBulk':
    case 'nullArray':
    case 'null': return null;
    case 'array':
    case 'push': return r.v.map(e);
    case 'set': return new Set(r.v.map(e));
    case 'map': return new Map(r.v.map(([k, v]) => [e(k), e(v)]));
    case 'double': return r.v;
    case 'bool': return r.v;
    case 'big': return r.v;
    case 'verbatim': return returnBuffers ? Buffer.from(r.v) : r.v;
    case 'attr': return e(r.v);
  }
}

/** Replaces `RemoteError`s (at any depth) by `ErrorShape`s, so values compare with toEqual. */
export function normalize(value: unknown): unknown {
  if (value instanceof RemoteError) return { error: value.message, code: (value.cause as { code: string }).code };
  if (Array.isArray(value)) return value.map(normalize);
  if (value instanceof Set) return new Set([...value].map(normalize));
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [normalize(k), normalize(v)]));
  return value;
}

const lineText = fc.string({ maxLength: 20 }).filter((s) => !s.includes('\r') && !s.includes('\n'));
const errorText = fc.tuple(fc.constantFrom('ERR', 'WRONGTYPE', 'MOVED', 'NOAUTH'), lineText)
  .map(([code, rest]) => `${code} ${rest}`);
const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });

/** Scalars valid in RESP2 (`resp3: false`) or in both. */
function scalar(resp3: boolean): fc.Arbitrary<Reply> {
  const common: fc.Arbitrary<Reply>[] = [
    lineText.map((v) => ({ t: 'simple', v })),
    errorText.map((v) => ({ t: 'error', v })),
    int64.map((v) => ({ t: 'int', v })),
    fc.oneof(fc.integer({ min: -1000, max: 1000 }).map(BigInt), int64).map((v) => ({ t: 'int', v })),
    fc.uint8Array({ maxLength: 40 }).map((v) => ({ t: 'bulk', v })),
    fc.constant({ t: 'nullBulk' }),
    fc.constant({ t: 'nullArray' }),
  ];
  if (!resp3) return fc.oneof(...common);
  const resp3Only: fc.Arbitrary<Reply>[] = [
    errorText.map((v) => ({ t: 'blobError', v })),
    fc.constant({ t: 'null' }),
    fc.double().map((v) => ({ t: 'double', v })),
    fc.boolean().map((v) => ({ t: 'bool', v })),
    fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map((v) => ({ t: 'big', v })),
    fc.tuple(fc.constantFrom('txt', 'mkd'), fc.string({ maxLength: 20 })).map(([fmt, v]) => ({ t: 'verbatim', fmt, v })),
  ];
  return fc.oneof(...common, ...resp3Only);
}

/** A random reply tree; `resp3` adds maps, sets, attributes and the RESP3 scalars. */
export function replyArb(resp3: boolean): fc.Arbitrary<Reply> {
  const { reply } = fc.letrec<{ reply: Reply }>((tie) => {
    const child = tie('reply');
    const aggregates: fc.Arbitrary<Reply>[] = [fc.array(child, { maxLength: 4 }).map((v) => ({ t: 'array', v }))];
    if (resp3) {
      // Map keys are scalars, as in real replies; values may be anything.
      const key = scalar(false).filter((k) => k.t === 'simple' || k.t === 'int' || k.t === 'bulk');
      aggregates.push(
        fc.array(fc.tuple(key, child), { maxLength: 3 }).map((v) => ({ t: 'map', v })),
        fc.array(child, { maxLength: 3 }).map((v) => ({ t: 'set', v })),
        fc.tuple(fc.array(fc.tuple(key, scalar(false)), { maxLength: 2 }), child).map(([attrs, v]) => ({ t: 'attr', attrs, v })),
      );
    }
    return { reply: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar(resp3), ...aggregates) };
  });
  return reply;
}
