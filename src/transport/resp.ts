/**
 * `resp()`: Redis (RESP2 or RESP3) as a `Protocol`, so a pool or a connection actor can
 * supervise Redis connections: `open` runs HELLO/AUTH/SELECT/SETNAME, `probe` is a PING,
 * `reset` is RESET plus the handshake again, `close` drains and ends the stream. `busy`
 * (a user command in flight: no probe behind a BLPOP) and `needsReset` (MULTI, WATCH,
 * another db, subscribed: reset before the next lease) are field reads on the session.
 * `sharing` lets `pool.dispatch` pipeline many callers over one session, for ordinary
 * commands (RESP_SHARING).
 *
 * Options are validated once, here, and frozen; unknown keys are rejected. The password
 * goes straight into a `RespHandshake`'s private field: the protocol object, its sessions
 * and every error are free of it, and a bad password *option* is reported by type only.
 */
import type { Duplex } from 'node:stream';
import { InvalidOptionError, InvariantBrokenError } from '../errors.js';
import { boolean, custom, duration, integer, optional, parseOptions, secret, shape, string } from '../options.js';
import { describeEndpoint } from './dial-socket.js';
import { DEFAULT_MAX_QUEUED_BYTES } from './frame-writer.js';
import { RespHandshake } from './resp-handshake.js';
import {
  DEFAULT_MAX_AGGREGATE_LENGTH, DEFAULT_MAX_BULK_BYTES, DEFAULT_MAX_NESTING_DEPTH, DEFAULT_MAX_REPLY_AMPLIFICATION,
} from './resp-parser.js';
import { RespSession } from './resp-session.js';
import type { Protocol, ProtocolContext, SessionSharing } from './types.js';

export interface RespOptions {
  /** ACL user (Redis ≥ 6). Requires `password`. With RESP3 and a password only, `default`. */
  readonly username?: string;
  /** Sent in AUTH / HELLO AUTH; never stored where it could be printed. */
  readonly password?: string;
  /** Database selected after auth (`SELECT`). Default 0 (nothing sent). */
  readonly db?: number;
  /** 2 (AUTH/SELECT/CLIENT SETNAME) or 3 (HELLO 3 …: maps, sets, doubles, pushes). Default 2. */
  readonly protocolVersion?: 2 | 3;
  /** `CLIENT SETNAME` / `HELLO … SETNAME`; printable ASCII without spaces. */
  readonly clientName?: string;
  /** Bulk strings as Buffers instead of UTF-8 strings. Default false. */
  readonly returnBuffers?: boolean;
  /**
   * Default timeout of `command`; expiry closes the connection. 0 disables it. Default 10000.
   * A blocking command (BLPOP, XREAD BLOCK, WAIT…) gets its block time plus this, and no
   * default deadline when it blocks forever (0).
   */
  readonly requestTimeoutMs?: number;
  /** Bound on a graceful close (in-flight replies, then the server's FIN). Default 5000. */
  readonly closeTimeoutMs?: number;
  /** Largest bulk string sent or accepted. Default 512 MiB (Redis's `proto-max-bulk-len`). */
  readonly maxBulkBytes?: number;
  /** Most elements one reply aggregate may declare. Default 2^32 - 1. */
  readonly maxAggregateLength?: number;
  /**
   * Most aggregates one reply may nest (a deeper one is a `ProtocolError` and closes the
   * connection). Redis's replies nest a handful of levels; only a Lua script returning
   * nested tables goes deeper. Default 128, at most 65536.
   */
  readonly maxNestingDepth?: number;
  /**
   * Most estimated heap a reply being assembled may hold per byte received for it, beyond
   * a 32 MiB allowance; above it the reply is a `FrameTooLargeError` and closes the
   * connection. Data replies (strings, numbers, arrays and maps of them) stay under 16×;
   * only millions of empty maps, sets or error replies — or of empty bulks with
   * `returnBuffers` — cost more. Default 16; `Infinity` turns the bound off.
   */
  readonly maxReplyAmplification?: number;
  /**
   * How many bytes of commands are handed to the socket ahead of a slow server (at least
   * the socket's high-water mark). Commands past it wait in the session, in order, until
   * the socket drains; they are never refused for it, and their timeouts keep running.
   * Default 8 MiB.
   */
  readonly maxQueuedBytes?: number;
}

/**
 * How `pool.dispatch` shares a session: up to 128 callers' commands in flight on one
 * connection. Measured on one loopback session (GET, interleaved runs, docs/resp-protocol.md):
 * 16 in flight 208k ops/s, 64 315k, 128 334k, 256 353k: past 64 a batch gains little
 * (Redis runs a connection's commands one after another), while the queue behind one slow
 * command doubles with each step. 128 keeps ~95 % of the best and sends further callers
 * to another connection or the pool's FIFO. While shared, the session refuses commands
 * that need it alone (resp-exclusive.ts).
 *
 * `canShare` is the pool's side of the contract (SessionSharing): no user command in
 * flight (an abandoned BLPOP would hold every dispatch behind it) and nothing to reset
 * (an open MULTI would take them in). `enter` on a session failing it still refuses
 * exclusive commands from then on, and throws `InvariantBrokenError` so the caller's bug
 * is seen (the pool reports a throwing `enter` as a warning).
 */
export const RESP_SHARING: SessionSharing<RespSession> = Object.freeze({
  maxInFlight: 128,
  canShare(session: RespSession): boolean {
    return session.inFlight === 0 && !session.needsReset;
  },
  enter(session: RespSession): void {
    session.beginSharing();
    if (session.inFlight > 0 || session.needsReset) {
      throw new InvariantBrokenError(
        `resp sharing.enter on a session that cannot be shared (${session.inFlight} commands in flight, ` +
          `needsReset ${session.needsReset}): the pool must check canShare (busy and needsReset false) first`,
      );
    }
  },
  leave(session: RespSession): void {
    session.endSharing();
  },
});

/** The defaults, for docs and tests. */
export const RESP_DEFAULTS = Object.freeze({
  protocolVersion: 2 as 2 | 3,
  returnBuffers: false,
  requestTimeoutMs: 10_000,
  closeTimeoutMs: 5_000,
  maxBulkBytes: DEFAULT_MAX_BULK_BYTES,
  maxAggregateLength: DEFAULT_MAX_AGGREGATE_LENGTH,
  maxNestingDepth: DEFAULT_MAX_NESTING_DEPTH,
  maxReplyAmplification: DEFAULT_MAX_REPLY_AMPLIFICATION,
  maxQueuedBytes: DEFAULT_MAX_QUEUED_BYTES,
});

const respSchema = shape({
  username: optional(string({ nonEmpty: true })),
  password: optional(secret(string({ nonEmpty: true }))),
  db: optional(integer({ min: 0, max: 2 ** 31 - 1 })),
  protocolVersion: custom<2 | 3>('2 or 3', (v) => v === 2 || v === 3, { default: RESP_DEFAULTS.protocolVersion }),
  // Redis refuses names with spaces, newlines or other special characters.
  clientName: optional(custom<string>('a non-empty string of printable ASCII without spaces', (v) => typeof v === 'string' && /^[!-~]+$/.test(v))),
  returnBuffers: boolean({ default: RESP_DEFAULTS.returnBuffers }),
  requestTimeoutMs: duration({ min: 0, default: RESP_DEFAULTS.requestTimeoutMs }),
  closeTimeoutMs: duration({ min: 0, default: RESP_DEFAULTS.closeTimeoutMs }),
  maxBulkBytes: integer({ min: 1, max: 2 ** 32 - 1, default: RESP_DEFAULTS.maxBulkBytes }),
  maxAggregateLength: integer({ min: 1, max: 2 ** 32 - 1, default: RESP_DEFAULTS.maxAggregateLength }),
  // Iterative parsing allows any depth; the bound keeps unfinished levels (~128 bytes each) at a few MiB.
  maxNestingDepth: integer({ min: 1, max: 65_536, default: RESP_DEFAULTS.maxNestingDepth }),
  maxReplyAmplification: custom<number>('a number >= 1 or Infinity', (v) => typeof v === 'number' && v >= 1, {
    default: RESP_DEFAULTS.maxReplyAmplification,
  }),
  maxQueuedBytes: integer({ min: 0, default: RESP_DEFAULTS.maxQueuedBytes }),
});

/**
 * The Redis protocol, client side.
 *
 * @example
 * const pool = rt.createPool({
 *   endpoints: [{ host: '127.0.0.1', port: 6379 }],
 *   protocol: resp({ password: process.env.REDIS_PASSWORD, db: 1, protocolVersion: 3 }),
 *   resetOnRelease: true,
 * });
 * await pool.use((conn) => conn.command(['SET', 'k', 'v']));
 * const value = await pool.use((conn) => conn.command<string | null>(['GET', 'k']));
 */
export function resp(options?: RespOptions): Protocol<RespSession> {
  const { username, password, db, protocolVersion, clientName, ...rest } = parseOptions('resp', respSchema, options);
  if (username !== undefined && password === undefined) {
    throw new InvalidOptionError('resp.username requires resp.password (AUTH needs both)');
  }
  const handshake = new RespHandshake({ protocolVersion, db, clientName }, username, password);
  const sessionOptions = Object.freeze({ ...rest });
  return Object.freeze({
    name: 'resp',
    open(stream: Duplex, ctx: ProtocolContext): Promise<RespSession> {
      const session = new RespSession(stream, ctx.scheduler, describeEndpoint(ctx.endpoint), sessionOptions, handshake, ctx.markAlive);
      return session.hello(ctx.signal);
    },
    probe(session: RespSession, signal: AbortSignal): Promise<void> {
      return session.ping(signal);
    },
    busy(session: RespSession): boolean {
      return session.inFlight > 0;
    },
    needsReset(session: RespSession): boolean {
      return session.needsReset;
    },
    reset(session: RespSession): Promise<void> {
      return session.reset();
    },
    close(session: RespSession): Promise<void> {
      return session.close();
    },
    sharing: RESP_SHARING,
  });
}
