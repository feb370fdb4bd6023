/**
 * Streaming parser for Redis replies, RESP2 and RESP3 (one parser for both: RESP3 is a
 * superset, and after `RESET` a RESP3 connection speaks RESP2 again).
 *
 *   chunk ──▶ line (type byte … CRLF) ──▶ scalar ──────────────┐
 *               │  $ ! =  ──▶ bulk body (length + CRLF) ───────┤
 *               └ * % ~ > | ──▶ push a frame on the stack ─────┴─▶ append to the top frame
 *                                                                  (or emit at top level)
 *
 * Trade-offs:
 * - Nothing is re-parsed. A line split across chunks keeps its pieces and only the new
 *   chunk is scanned for LF; a bulk body split across chunks is collected as views and
 *   concatenated once, when complete. Aggregates live on an explicit stack, and finishing
 *   one that finishes its parents is a loop, not recursion: no depth can overflow the call
 *   stack, and a reply of any size costs O(bytes).
 * - Declared lengths are checked before anything is allocated: a bulk above
 *   `maxBulkBytes` (or, when decoding to strings, above V8's longest string) and an
 *   aggregate above `maxAggregateLength` throw `FrameTooLargeError` on the header alone.
 *   Aggregates are not preallocated from their declared length (only up to
 *   `SMALL_AGGREGATE`, a bounded cost): memory grows with the elements actually received.
 * - Nesting deeper than `maxNestingDepth` (default 128; Redis's own replies nest a handful
 *   of levels) is a `ProtocolError`. An unfinished aggregate costs one small frame, so the
 *   frames a server can make us hold are bounded by the limit, not by what it sends.
 * - What a reply being assembled holds is bounded by the bytes received for it: its
 *   estimated heap (`ReplyHeap`) may not exceed `maxReplyAmplification` (default 16) times
 *   those bytes plus `REPLY_HEAP_ALLOWANCE_BYTES` (32 MiB), else `FrameTooLargeError`.
 *   Without it, 4 bytes of `%0\r\n` inside a long array cost a 200-byte Map: 24 MiB of
 *   them took 1.1 GiB. See `DEFAULT_MAX_REPLY_AMPLIFICATION` for why 16. For comparison,
 *   ioredis 6's decoder (node-redis's) has no such bound: it preallocates `new Array(n)`
 *   from the header (92 MiB for `*12000000\r\n`) and held 1.1 GiB on the same input;
 *   hiredis bounds only each aggregate's count (2^32 − 1) and preallocates it too.
 * - Big numbers (`(`) longer than `MAX_RESP_BIG_NUMBER_DIGITS` (4096) are a `ProtocolError`:
 *   parsing decimal into a BigInt is superlinear (a 1 MiB line took 150 ms).
 * - Every text taken from the peer into an error (error replies, the preview of a bad line)
 *   goes through the `redact` option first: the session passes one that replaces its
 *   password, so a server that reflects the password cannot put it in any error or cause.
 * - Lines (simple strings, errors, numbers) longer than `MAX_RESP_LINE_BYTES` (type byte
 *   included, CRLF not) are a `ProtocolError`, whether the line came in one chunk or
 *   several: a server has no reason to send one. Bulk strings are not lines: their body is
 *   bounded by `maxBulkBytes`.
 * - Error replies are values (`RemoteError`), not throws: nested in an array (EXEC) they
 *   stay in place; at top level the session rejects the waiting command with them.
 * - Attributes (`|`) are parsed and dropped, as hiredis does. Streamed RESP3 aggregates
 *   (`$?`, `*?`) are refused: Redis never sends them.
 * - After a throw the position in the stream is lost; the owner must close the connection.
 */
import { constants } from 'node:buffer';
import { FrameTooLargeError, ProtocolError, RemoteError } from '../errors.js';

/** A decoded reply. Errors nested in aggregates stay in place as `RemoteError` values. */
export type RespReply =
  | string
  | number
  | bigint
  | boolean
  | null
  | Buffer
  | RemoteError
  | RespReply[]
  | Map<RespReply, RespReply>
  | Set<RespReply>;

/** What the parser hands out: a reply, an error reply, or an out-of-band push (RESP3). */
export const ReplyKind = Object.freeze({ Reply: 0, Error: 1, Push: 2 } as const);
export type ReplyKind = (typeof ReplyKind)[keyof typeof ReplyKind];

/** Longest line (simple string, error, number, length) accepted, type byte included, CRLF not. */
export const MAX_RESP_LINE_BYTES = 1024 * 1024;

/** The one error for a line over `MAX_RESP_LINE_BYTES`, whole in a chunk or split across several. */
function lineTooLong(): ProtocolError {
  return new ProtocolError(`RESP line longer than ${MAX_RESP_LINE_BYTES} bytes (CRLF not counted)`);
}

/**
 * Most digits of a RESP3 big number (`(`). Redis sends them only from modules and Lua; a
 * 4096-digit number (≈ 13 600 bits) parses in microseconds, where 1 MiB of digits took
 * 150 ms (BigInt's decimal parsing is superlinear). `:` integers are already bounded by
 * their 64-bit range (64 characters).
 */
export const MAX_RESP_BIG_NUMBER_DIGITS = 4096;

/**
 * Heap a reply may hold whatever its bytes (see `maxReplyAmplification`): replies that
 * cost more than 16× their bytes, up to this much, are never refused.
 */
export const REPLY_HEAP_ALLOWANCE_BYTES = 32 * 1024 * 1024;

/**
 * Default of `maxReplyAmplification`. Data replies cost at most ~16× their bytes in the
 * estimate below: integers, nulls and booleans 2–3×, strings 4–6×, arrays of small arrays
 * up to 10×, `returnBuffers` bulks of 0–2 bytes 13–17× (a Buffer is a ~96-byte object).
 * Only empty maps and sets (40–48×) and short error replies (~30×) cost more, and no
 * command sends millions of those; the allowance covers the few a reply really holds.
 */
export const DEFAULT_MAX_REPLY_AMPLIFICATION = 16;

/**
 * Estimated heap bytes of what a pending reply holds (V8 on 64-bit Node 20, measured).
 * Rounded; the estimate only has to be within a small factor for the bound to hold.
 */
const ReplyHeap = {
  /** An element's pointer in its array, map or set. */
  slot: 8,
  /** A JSArray (its elements are slots). */
  array: 32,
  /** A Map with its initial 4-entry table. */
  map: 184,
  /** A Set with its initial 4-entry table. */
  set: 152,
  /** A string header (plus one byte per character). */
  string: 16,
  /** A Buffer view, sharing Node's pool (plus its bytes). */
  buffer: 96,
  /** A `RemoteError` and its cause, built without stack traces (plus the text). */
  error: 160,
  /** A heap number, or a bigint header (plus ~0.42 bytes per digit). */
  boxed: 16,
} as const;

/** What an empty aggregate of each kind costs (an attribute's values are dropped). */
const AGGREGATE_HEAP = [ReplyHeap.array, ReplyHeap.map, ReplyHeap.set, ReplyHeap.array, 0] as const;

/** 512 MiB, Redis's own `proto-max-bulk-len` default. */
export const DEFAULT_MAX_BULK_BYTES = 512 * 1024 * 1024;

/** hiredis's bound on aggregate elements; aggregates are never preallocated anyway. */
export const DEFAULT_MAX_AGGREGATE_LENGTH = 0xffffffff;

/**
 * Deepest aggregate nesting accepted by default. Redis's replies nest a handful of levels
 * (hiredis refused more than 7 for years); only a Lua script's nested tables go deeper.
 */
export const DEFAULT_MAX_NESTING_DEPTH = 128;

/**
 * Arrays that declare at most this many elements are allocated at their exact size: an
 * array grown from empty reserves 17 slots for its first element, and a reply of many
 * small arrays would cost that per element. The bound keeps a declared length from
 * allocating more than a few slots before the elements arrive.
 */
const SMALL_AGGREGATE = 16;

export interface RespParserOptions {
  /** Largest bulk string accepted. Default 512 MiB. */
  readonly maxBulkBytes?: number;
  /** Most elements (map: pairs) one aggregate may declare. Default 2^32 - 1. */
  readonly maxAggregateLength?: number;
  /** Bulk strings as `Buffer`s instead of UTF-8 strings. Default false. */
  readonly returnBuffers?: boolean;
  /** Most aggregates one reply may nest (attributes and pushes included). Default 128. */
  readonly maxNestingDepth?: number;
  /**
   * Most estimated heap a reply being assembled may hold per byte received for it, beyond
   * `REPLY_HEAP_ALLOWANCE_BYTES` (32 MiB); above it, `FrameTooLargeError`. Default 16
   * (see `DEFAULT_MAX_REPLY_AMPLIFICATION`); `Infinity` turns the bound off.
   */
  readonly maxReplyAmplification?: number;
  /** Heap a reply may hold whatever its bytes. Default `REPLY_HEAP_ALLOWANCE_BYTES` (32 MiB); tests lower it. */
  readonly replyHeapAllowanceBytes?: number;
  /**
   * Applied to every text the peer sent that goes into an error: error replies (message,
   * `cause`, `cause.code`) and the preview of a bad line. Default: none. The session
   * passes one that replaces its secrets.
   */
  readonly redact?: (text: string) => string;
}

/** Aggregate kinds (plain numbers: the project uses no enums). */
const Agg = { Array: 0, Map: 1, Set: 2, Push: 3, Attribute: 4 } as const;
type Agg = (typeof Agg)[keyof typeof Agg];

type Aggregate = RespReply[] | Map<RespReply, RespReply> | Set<RespReply> | undefined;

/** An aggregate being filled: O(1) small objects, whatever length it declares. */
class Frame {
  readonly kind: Agg;
  /** Values still expected (a map and an attribute expect two per pair). */
  left: number;
  /** What is being built; `undefined` for an attribute, whose values are dropped. */
  readonly value: Aggregate;
  /** Next array index. */
  #at = 0;
  /** A map's key waiting for its value. */
  #key: RespReply = null;

  constructor(kind: Agg, declared: number) {
    this.kind = kind;
    this.left = kind === Agg.Map || kind === Agg.Attribute ? declared * 2 : declared;
    this.value = emptyAggregate(kind, declared);
  }

  /** Adds one element; true when it was the last. */
  add(item: RespReply): boolean {
    switch (this.kind) {
      case Agg.Array:
      case Agg.Push:
        (this.value as RespReply[])[this.#at++] = item;
        break;
      case Agg.Map:
        // `left` is even before a key, odd before its value.
        if ((this.left & 1) === 0) this.#key = item;
        else (this.value as Map<RespReply, RespReply>).set(this.#key, item);
        break;
      case Agg.Set:
        (this.value as Set<RespReply>).add(item);
        break;
      default:
        break; // attribute: metadata about the next value, dropped (as hiredis does)
    }
    return --this.left === 0;
  }
}

function emptyAggregate(kind: Agg, declared: number): Aggregate {
  switch (kind) {
    case Agg.Map:
      return new Map();
    case Agg.Set:
      return new Set();
    case Agg.Attribute:
      return undefined;
    default:
      return declared <= SMALL_AGGREGATE ? new Array<RespReply>(declared) : [];
  }
}

const Bulk = { String: 0, Error: 1, Verbatim: 2 } as const;
type Bulk = (typeof Bulk)[keyof typeof Bulk];

const CR = 13;
const LF = 10;
const DOUBLE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const BIG = /^-?\d+$/;

/**
 * Error prefixes by which Redis says "not now" rather than "not this": the dataset is
 * still loading, a script or function is running too long, a cluster slot is migrating
 * or its master is down. The same command can succeed later. `READONLY` too: a write
 * reached a replica — after a failover, a demoted master — and the same write succeeds
 * once sent to the new master (a pool with discovery retires that connection and
 * re-resolves, docs/pool.md "Discovery"). Exact prefixes: `BUSYKEY` and `BUSYGROUP` say
 * the request itself is wrong.
 */
const TRANSIENT_PREFIXES = new Set(['LOADING', 'BUSY', 'TRYAGAIN', 'MASTERDOWN', 'CLUSTERDOWN', 'READONLY']);

/**
 * Builds the `RemoteError` of an error reply: the message is Redis's text verbatim and
 * `cause.code` its prefix (`ERR`, `WRONGTYPE`, `MOVED`…), as ioredis's `ReplyError`.
 * `retryable` is true for the transient prefixes above.
 *
 * @example
 * respRemoteError('WRONGTYPE Operation against a key').cause   // Error { code: 'WRONGTYPE' }
 * respRemoteError('LOADING Redis is loading the dataset in memory').retryable   // true
 */
export function respRemoteError(text: string): RemoteError {
  const space = text.indexOf(' ');
  const code = space < 0 ? text : text.slice(0, space);
  // No stack traces: built in a socket's data handler, they would show only parser frames,
  // and capturing them cost ~1.2 KB and microseconds per error reply (300× the 4 bytes of
  // `-E\r\n` in an array). An error reply is a value, like a string.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new RemoteError(text, { cause: Object.assign(new Error(text), { code }), retryable: TRANSIENT_PREFIXES.has(code) });
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

/**
 * Incremental RESP2/RESP3 reply parser.
 *
 * @example
 * const parser = new RespParser((value, kind) => console.log(kind, value), { returnBuffers: false });
 * socket.on('data', (chunk: Buffer) => {
 *   try { parser.push(chunk); } catch (err) { socket.destroy(err as Error); }
 * });
 */
export class RespParser {
  readonly maxBulkBytes: number;
  readonly maxAggregateLength: number;
  readonly maxNestingDepth: number;
  readonly maxReplyAmplification: number;
  readonly replyHeapAllowanceBytes: number;
  readonly returnBuffers: boolean;
  readonly #emit: (value: RespReply, kind: ReplyKind) => void;
  readonly #redact: ((text: string) => string) | undefined;
  /** Pieces of a line split across chunks. */
  #line: Buffer[] | undefined;
  #lineBytes = 0;
  /** Bytes still expected of a bulk body, trailing CRLF included; -1 while reading lines. */
  #bulkLeft = -1;
  #bulkKind: Bulk = Bulk.String;
  #bulkParts: Buffer[] | undefined;
  #bulkBytes = 0;
  /** Unfinished aggregates, outermost first; never longer than `maxNestingDepth`. */
  readonly #stack: Frame[] = [];
  /** Bytes received for the reply being assembled (lines and bulk bodies). */
  #replyBytes = 0;
  /** Its estimated heap (see `ReplyHeap`). */
  #replyHeap = 0;

  constructor(emit: (value: RespReply, kind: ReplyKind) => void, options?: RespParserOptions) {
    this.#emit = emit;
    this.maxBulkBytes = options?.maxBulkBytes ?? DEFAULT_MAX_BULK_BYTES;
    this.maxAggregateLength = options?.maxAggregateLength ?? DEFAULT_MAX_AGGREGATE_LENGTH;
    this.maxNestingDepth = options?.maxNestingDepth ?? DEFAULT_MAX_NESTING_DEPTH;
    this.maxReplyAmplification = options?.maxReplyAmplification ?? DEFAULT_MAX_REPLY_AMPLIFICATION;
    this.replyHeapAllowanceBytes = options?.replyHeapAllowanceBytes ?? REPLY_HEAP_ALLOWANCE_BYTES;
    this.returnBuffers = options?.returnBuffers ?? false;
    this.#redact = options?.redact;
  }

  /** Bytes held for an incomplete line or bulk body (not counting finished aggregate items). */
  get bufferedBytes(): number {
    return this.#lineBytes + this.#bulkBytes;
  }

  /** True between replies: nothing partial is held. */
  get idle(): boolean {
    return this.#lineBytes === 0 && this.#bulkLeft < 0 && this.#stack.length === 0;
  }

  /** Feeds one chunk; emits every reply it completes, in order. Throws on bad input. */
  push(chunk: Buffer): void {
    let offset = 0;
    const end = chunk.length;
    while (offset < end) {
      if (this.#bulkLeft >= 0) {
        offset = this.#readBulk(chunk, offset);
        continue;
      }
      const lf = chunk.indexOf(LF, offset);
      if (lf < 0) {
        // Without its LF a line may hold its CR already: one byte over the limit.
        this.#keepLine(chunk.subarray(offset), MAX_RESP_LINE_BYTES + 1);
        return;
      }
      let line: Buffer;
      if (this.#line === undefined) {
        // The same bound as a line split across chunks, so the limit does not depend on
        // how the stream was cut.
        if (lf + 1 - offset > MAX_RESP_LINE_BYTES + 2) throw lineTooLong();
        line = chunk.subarray(offset, lf + 1);
      } else {
        this.#keepLine(chunk.subarray(offset, lf + 1), MAX_RESP_LINE_BYTES + 2);
        line = Buffer.concat(this.#line, this.#lineBytes);
        this.#line = undefined;
        this.#lineBytes = 0;
      }
      offset = lf + 1;
      if (line.length < 3 || line[line.length - 2] !== CR) throw this.#bad('RESP line not terminated by CRLF', line);
      this.#onLine(line);
    }
  }

  /** Drops any partial state (after the connection closed). */
  reset(): void {
    this.#line = undefined;
    this.#lineBytes = 0;
    this.#bulkLeft = -1;
    this.#bulkParts = undefined;
    this.#bulkBytes = 0;
    this.#stack.length = 0;
    this.#replyBytes = 0;
    this.#replyHeap = 0;
  }

  /** Holds part of a line; `maxBytes` bounds the line so far (CR and LF included). */
  #keepLine(piece: Buffer, maxBytes: number): void {
    if (this.#lineBytes + piece.length > maxBytes) throw lineTooLong();
    (this.#line ??= []).push(piece);
    this.#lineBytes += piece.length;
  }

  #onLine(line: Buffer): void {
    const type = line[0]!;
    const stop = line.length - 2;
    this.#replyBytes += line.length;
    switch (type) {
      case 0x2b: // + simple string
        return this.#value(line.toString('utf8', 1, stop), ReplyKind.Reply, ReplyHeap.string + stop);
      case 0x2d: // - error
        return this.#value(this.#remoteError(line.toString('utf8', 1, stop)), ReplyKind.Error, ReplyHeap.error + stop);
      case 0x3a: { // : integer
        const n = parseInteger(line, stop);
        if (n === undefined) throw this.#bad('bad RESP integer', line);
        // A small integer lives in its slot; a larger one, or a bigint, is a boxed value.
        return this.#value(n, ReplyKind.Reply, typeof n === 'number' && (n | 0) === n ? 0 : ReplyHeap.boxed + (stop >> 1));
      }
      case 0x24: // $ bulk string
        return this.#startBulk(line, stop, Bulk.String);
      case 0x21: // ! blob error
        return this.#startBulk(line, stop, Bulk.Error);
      case 0x3d: // = verbatim string
        return this.#startBulk(line, stop, Bulk.Verbatim);
      case 0x2a: // * array
        return this.#startAggregate(line, stop, Agg.Array);
      case 0x25: // % map
        return this.#startAggregate(line, stop, Agg.Map);
      case 0x7e: // ~ set
        return this.#startAggregate(line, stop, Agg.Set);
      case 0x3e: // > push
        return this.#startAggregate(line, stop, Agg.Push);
      case 0x7c: // | attribute
        return this.#startAggregate(line, stop, Agg.Attribute);
      case 0x5f: // _ null
        if (stop !== 1) throw this.#bad('RESP null with a payload', line);
        return this.#value(null, ReplyKind.Reply, 0);
      case 0x23: // # boolean
        if (stop === 2 && line[1] === 0x74) return this.#value(true, ReplyKind.Reply, 0);
        if (stop === 2 && line[1] === 0x66) return this.#value(false, ReplyKind.Reply, 0);
        throw this.#bad('bad RESP boolean', line);
      case 0x2c: { // , double
        const n = parseDouble(line, stop);
        if (n === undefined) throw this.#bad('bad RESP double', line);
        return this.#value(n, ReplyKind.Reply, ReplyHeap.boxed);
      }
      case 0x28: { // ( big number
        // Checked on the length alone, before the text is decoded or parsed.
        const digits = stop - (line[1] === 0x2d ? 2 : 1);
        if (digits > MAX_RESP_BIG_NUMBER_DIGITS) {
          throw new ProtocolError(`RESP big number of ${digits} digits exceeds ${MAX_RESP_BIG_NUMBER_DIGITS} digits`);
        }
        const text = line.toString('latin1', 1, stop);
        if (!BIG.test(text)) throw this.#bad('bad RESP big number', line);
        return this.#value(BigInt(text), ReplyKind.Reply, ReplyHeap.boxed + (stop >> 1));
      }
      default:
        throw this.#bad(`unexpected RESP type byte 0x${type.toString(16).padStart(2, '0')}`, line);
    }
  }

  #startBulk(line: Buffer, stop: number, kind: Bulk): void {
    const length = parseLength(line, stop);
    if (length === BAD_LENGTH) throw this.#bad('bad RESP length', line);
    if (length < 0) return this.#value(null, ReplyKind.Reply, 0);
    // Error texts always become strings; other bodies only without returnBuffers.
    const asString = kind === Bulk.Error || !this.returnBuffers;
    const limit = asString ? Math.min(this.maxBulkBytes, constants.MAX_STRING_LENGTH) : this.maxBulkBytes;
    if (length > limit) {
      const hint = kind === Bulk.Error ? '' : '; use returnBuffers';
      const why = limit < this.maxBulkBytes ? `the longest string (${limit} bytes${hint})` : `maxBulkBytes ${limit}`;
      throw new FrameTooLargeError(`RESP bulk reply of ${length} bytes exceeds ${why}`);
    }
    if (kind === Bulk.Verbatim && length < 4) throw new ProtocolError(`RESP verbatim string of ${length} bytes has no format prefix`);
    this.#bulkKind = kind;
    this.#bulkLeft = length + 2;
  }

  #readBulk(chunk: Buffer, offset: number): number {
    const need = this.#bulkLeft;
    const available = chunk.length - offset;
    let whole: Buffer;
    let owned: boolean;
    if (this.#bulkParts === undefined && available >= need) {
      whole = chunk.subarray(offset, offset + need);
      owned = false;
      offset += need;
    } else {
      const take = Math.min(available, need);
      (this.#bulkParts ??= []).push(chunk.subarray(offset, offset + take));
      this.#bulkBytes += take;
      this.#bulkLeft -= take;
      offset += take;
      if (this.#bulkLeft > 0) return offset;
      whole = Buffer.concat(this.#bulkParts, this.#bulkBytes);
      owned = true;
      this.#bulkParts = undefined;
      this.#bulkBytes = 0;
    }
    this.#bulkLeft = -1;
    this.#replyBytes += whole.length;
    const n = whole.length - 2;
    if (whole[n] !== CR || whole[n + 1] !== LF) throw new ProtocolError(`RESP bulk reply of ${n} bytes not followed by CRLF`);
    const heap = (this.returnBuffers ? ReplyHeap.buffer : ReplyHeap.string) + n;
    switch (this.#bulkKind) {
      case Bulk.Error:
        this.#value(this.#remoteError(whole.toString('utf8', 0, n)), ReplyKind.Error, ReplyHeap.error + n);
        break;
      case Bulk.Verbatim:
        if (whole[3] !== 0x3a) throw new ProtocolError('RESP verbatim string without its "fmt:" prefix');
        this.#value(this.#bytes(whole, 4, n, owned), ReplyKind.Reply, heap);
        break;
      default:
        this.#value(this.#bytes(whole, 0, n, owned), ReplyKind.Reply, heap);
    }
    return offset;
  }

  /** A body as a string, or as a Buffer that does not pin the socket's chunk. */
  #bytes(whole: Buffer, start: number, stop: number, owned: boolean): string | Buffer {
    if (!this.returnBuffers) return whole.toString('utf8', start, stop);
    // An empty body shares one empty pool (a copy of nothing would allocate its own, ~90 bytes more).
    if (start === stop) return EMPTY.subarray();
    return owned ? whole.subarray(start, stop) : Buffer.from(whole.subarray(start, stop));
  }

  #startAggregate(line: Buffer, stop: number, kind: Agg): void {
    const length = parseLength(line, stop);
    if (length === BAD_LENGTH) throw this.#bad('bad RESP length', line);
    if (length < 0) {
      if (kind !== Agg.Array) throw this.#bad('RESP null aggregate of type', line);
      return this.#value(null, ReplyKind.Reply, 0);
    }
    if (length > this.maxAggregateLength) {
      throw new FrameTooLargeError(`RESP aggregate of ${length} elements exceeds maxAggregateLength ${this.maxAggregateLength}`);
    }
    const depth = this.#stack.length + 1;
    if (depth > this.maxNestingDepth) {
      throw new ProtocolError(`RESP reply nests aggregates ${depth} levels deep, above maxNestingDepth ${this.maxNestingDepth}`);
    }
    if (length > 0) {
      // Charged now: an unfinished aggregate is held as much as a finished one.
      this.#charge(AGGREGATE_HEAP[kind]);
      this.#stack.push(new Frame(kind, length));
      return;
    }
    if (kind === Agg.Attribute) return; // an empty attribute describes nothing
    this.#value(emptyAggregate(kind, 0)!, kind === Agg.Push && depth === 1 ? ReplyKind.Push : ReplyKind.Reply, AGGREGATE_HEAP[kind]);
  }

  /**
   * Hands a finished value to the aggregate on top of the stack, or out at top level.
   * A value that finishes its aggregate finishes it here, and so on outwards: a loop, so
   * a deep reply completing at once cannot overflow the call stack. `heap` is the value's
   * estimated cost beyond its slot, charged when an aggregate keeps it.
   */
  #value(value: RespReply, kind: ReplyKind, heap: number): void {
    const stack = this.#stack;
    for (;;) {
      const top = stack[stack.length - 1];
      if (top === undefined) {
        this.#replyBytes = 0;
        this.#replyHeap = 0;
        return this.#emit(value, kind);
      }
      this.#charge(ReplyHeap.slot + heap);
      if (!top.add(value)) return;
      stack.pop();
      if (top.kind === Agg.Attribute) return; // dropped: the next value is the one it describes
      value = top.value!;
      kind = top.kind === Agg.Push && stack.length === 0 ? ReplyKind.Push : ReplyKind.Reply;
      heap = 0; // charged when it started
    }
  }

  /** Adds to the pending reply's estimated heap; throws past its bound (see `maxReplyAmplification`). */
  #charge(heap: number): void {
    this.#replyHeap += heap;
    // NaN (Infinity × 0) compares false: with the bound off nothing throws.
    if (this.#replyHeap > this.#replyBytes * this.maxReplyAmplification + this.replyHeapAllowanceBytes) {
      throw new FrameTooLargeError(
        `RESP reply would hold ~${this.#replyHeap} bytes of heap for ${this.#replyBytes} bytes received, above ` +
          `maxReplyAmplification ${this.maxReplyAmplification} (${this.maxReplyAmplification} × ${this.#replyBytes} + ${this.replyHeapAllowanceBytes} bytes)`,
      );
    }
  }

  /** The `RemoteError` of an error reply, its text redacted. */
  #remoteError(text: string): RemoteError {
    return respRemoteError(this.#redact === undefined ? text : this.#redact(text));
  }

  /**
   * A `ProtocolError` quoting the start of a bad line, printable. The whole line is
   * redacted before it is cut, so no prefix of a secret survives the cut.
   */
  #bad(what: string, line: Buffer): ProtocolError {
    let text = line.toString('utf8');
    if (this.#redact !== undefined) text = this.#redact(text);
    return new ProtocolError(`${what}: ${JSON.stringify(text.length > PREVIEW_CHARS ? text.slice(0, PREVIEW_CHARS) : text)}`);
  }
}

/** The pool every empty `returnBuffers` body is a view of: it has no bytes to share. */
const EMPTY = Buffer.alloc(0);

/** Characters of a bad line quoted in its error. */
const PREVIEW_CHARS = 32;

/** What `parseLength` returns for a malformed length. */
const BAD_LENGTH = -2;

/** A length or count: `-1` (null), a non-negative decimal without sign or padding, or `BAD_LENGTH`. */
function parseLength(line: Buffer, stop: number): number {
  if (stop === 3 && line[1] === 0x2d && line[2] === 0x31) return -1;
  if (stop < 2 || stop > 17) return BAD_LENGTH;
  let n = 0;
  for (let i = 1; i < stop; i++) {
    const d = line[i]! - 0x30;
    if (d < 0 || d > 9) return BAD_LENGTH;
    n = n * 10 + d;
  }
  return n;
}

/** A `:` integer: a number when it is safe, a bigint beyond ±2^53; `undefined` when malformed. */
function parseInteger(line: Buffer, stop: number): number | bigint | undefined {
  let i = 1;
  const negative = line[1] === 0x2d;
  if (negative || line[1] === 0x2b) i++;
  // RESP integers are 64-bit; 64 characters leave room and keep BigInt parsing cheap.
  if (i >= stop || stop > 64) return undefined;
  let n = 0;
  for (let j = i; j < stop; j++) {
    const d = line[j]! - 0x30;
    if (d < 0 || d > 9) return undefined;
    n = n * 10 + d;
  }
  if (n <= Number.MAX_SAFE_INTEGER) return negative ? -n : n;
  const big = BigInt(line.toString('latin1', 1, stop));
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

/** A `,` double, `undefined` when malformed. */
function parseDouble(line: Buffer, stop: number): number | undefined {
  const text = line.toString('latin1', 1, stop);
  switch (text.toLowerCase()) {
    case 'inf':
    case '+inf':
      return Infinity;
    case '-inf':
      return -Infinity;
    case 'nan':
    case '-nan':
      return NaN;
  }
  return DOUBLE.test(text) ? Number(text) : undefined;
}
