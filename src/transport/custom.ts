/**
 * `custom({...})`: supervise any client library, in one of two modes.
 *
 * - Stream mode, `custom({ open, probe, reset?, close })`: for a library that accepts a
 *   stream. wirewarden dials (the pool's `transport`), `open` turns the stream into the
 *   library's session and performs its handshake.
 * - Connect mode, `custom({ connect, probe, reset?, close })`: for a library that dials
 *   by itself (node-postgres, mysql2, undici, database drivers). `connect` creates and
 *   connects the client and resolves with it; the client reports its own death through
 *   `lost(error?)` and, where it can, its traffic through `markAlive()`.
 *
 * Either way `probe` resolves when the peer answered, `reset` (optional) restores a
 * session between leases, `close` ends it gracefully. A protocol has exactly one of
 * `open` and `connect`. The functions are checked once, at construction, so a typo fails
 * where it is written rather than at the first dial.
 */
import { InvalidOptionError } from '../errors.js';
import { func, integer, optional, parseOptions, shape } from '../options.js';
import type { ConnectContext, ConnectProtocol, Protocol, ProtocolContext, SessionSharing } from './types.js';
import type { Duplex } from 'node:stream';

/** What both modes share: the session's side. */
export interface CustomSessionOptions<S> {
  /** Resolve when the peer answered; the caller aborts `signal` on timeout. */
  readonly probe: (session: S, signal: AbortSignal) => Promise<void>;
  /** Optional: restore the session for the next lease (e.g. `ROLLBACK`, `DISCARD ALL`). */
  readonly reset?: (session: S, signal?: AbortSignal) => Promise<void>;
  /**
   * Graceful close. `signal` aborts once `closeTimeoutMs` passed (or the connection is
   * killed meanwhile): then destroy the client at once.
   */
  readonly close: (session: S, signal?: AbortSignal) => Promise<void>;
  /** Optional: true while a request of the user is in flight (never probed then). A field read. */
  readonly busy?: (session: S) => boolean;
  /** Optional: true when the session must be reset (or retired) before its next lease. A field read. */
  readonly needsReset?: (session: S) => boolean;
  /**
   * Optional: true for a connect/open failure a retry cannot fix (bad credentials, an
   * unknown database): it becomes a `HandshakeRefusedError` with the error as `cause`,
   * so a pool fails its callers at once and redials at the slowest pace.
   */
  readonly refused?: (error: unknown) => boolean;
  /**
   * Opt-in: the library multiplexes (HTTP/2 streams, a pipelining client with its own
   * request matching), so `pool.dispatch` may run several callers on one session at once,
   * up to `maxInFlight` (an integer ≥ 1; a pool option overrides it). `enter`/`leave`
   * (optional) bracket each period the session is shared, e.g. to refuse commands that
   * need the session alone; `canShare` (optional) says whether a session may start one
   * now. Without it, the pool only leases the session exclusively.
   */
  readonly sharing?: SessionSharing<S>;
}

/** Stream mode: wirewarden dials, `open` performs the library's handshake on the stream. */
export interface CustomStreamOptions<S> extends CustomSessionOptions<S> {
  /** Handshake: resolve with the session once the peer is usable. Honour `ctx.signal`. */
  readonly open: (stream: Duplex, ctx: ProtocolContext) => Promise<S>;
  readonly connect?: undefined;
}

/** Connect mode: the library dials by itself. */
export interface CustomConnectOptions<S> extends CustomSessionOptions<S> {
  /**
   * Create and connect the library's client at `ctx.endpoint`; resolve with it once it is
   * usable. Wire the client's `'error'` and `'end'` events to `ctx.lost`, and its inbound
   * traffic (if the library tells) to `ctx.markAlive`. When `ctx.signal` aborts (the
   * connect timed out, or the connection was closed or killed), destroy the client and
   * reject; a client resolved after that is closed with `close`.
   */
  readonly connect: (ctx: ConnectContext) => Promise<S>;
  readonly open?: undefined;
}

/** The options of `custom()`: exactly one of `open` (stream mode) and `connect` (connect mode). */
export type CustomProtocolOptions<S> = CustomStreamOptions<S> | CustomConnectOptions<S>;

/** The largest `sharing.maxInFlight` accepted (a count that fits a 32-bit signed int). */
const MAX_IN_FLIGHT = 2 ** 31 - 1;

const customSchema = shape({
  open: optional(func()),
  connect: optional(func()),
  probe: func(),
  reset: optional(func()),
  close: func(),
  busy: optional(func()),
  needsReset: optional(func()),
  refused: optional(func()),
  sharing: optional(shape({
    maxInFlight: integer({ min: 1, max: MAX_IN_FLIGHT }),
    canShare: optional(func()),
    enter: optional(func()),
    leave: optional(func()),
  })),
});

type Parsed<S> = CustomSessionOptions<S> & {
  readonly open?: CustomStreamOptions<S>['open'];
  readonly connect?: CustomConnectOptions<S>['connect'];
};

/**
 * A protocol from a few functions: `open` for a library that takes a stream, `connect`
 * for one that dials by itself.
 *
 * @example
 * // Stream mode: wirewarden dials, the library speaks over the stream.
 * const lines = custom({
 *   open: async (stream, { signal }) => {
 *     const client = new LineClient(stream);
 *     await client.hello({ signal });
 *     return client;
 *   },
 *   probe: (client, signal) => client.ping({ signal }),
 *   close: (client) => client.quit(),
 * });
 *
 * @example
 * // Connect mode: the library dials; it reports its death through lost().
 * const postgres = custom({
 *   connect: async ({ endpoint, signal, lost }) => {
 *     const client = new pg.Client({ host: endpoint.host, port: endpoint.port, user, password });
 *     client.on('error', lost);
 *     client.on('end', () => lost());
 *     const abort = () => void client.end();
 *     signal.addEventListener('abort', abort, { once: true });
 *     try {
 *       await client.connect();
 *     } finally {
 *       signal.removeEventListener('abort', abort);
 *     }
 *     return client;
 *   },
 *   probe: async (client) => { await client.query('SELECT 1'); },
 *   reset: async (client) => { await client.query('ROLLBACK'); await client.query('DISCARD ALL'); },
 *   close: (client) => client.end(),
 *   refused: (err) => ['28P01', '28000', '3D000'].includes((err as { code?: string }).code ?? ''),
 * });
 */
export function custom<S>(options: CustomStreamOptions<S>): Protocol<S>;
export function custom<S>(options: CustomConnectOptions<S>): ConnectProtocol<S>;
export function custom<S>(options: CustomProtocolOptions<S>): Protocol<S> | ConnectProtocol<S> {
  const o = parseOptions('custom', customSchema, options) as unknown as Parsed<S>;
  if ((o.open === undefined) === (o.connect === undefined)) {
    throw new InvalidOptionError(o.open === undefined
      ? 'custom needs one of open (the library takes a stream wirewarden dials) and connect (the library dials by itself), got neither'
      : 'custom takes one of open (the library takes a stream wirewarden dials) and connect (the library dials by itself), got both');
  }
  const session = {
    name: 'custom',
    probe: (s: S, signal: AbortSignal) => o.probe(s, signal),
    close: (s: S, signal?: AbortSignal) => o.close(s, signal),
  };
  const { open, connect } = o;
  const protocol: Protocol<S> | ConnectProtocol<S> = open !== undefined
    ? { ...session, open: (stream, ctx) => open(stream, ctx) }
    : { ...session, connect: (ctx) => connect!(ctx) };
  // Optional members only when given: the actor and the pool test for their presence.
  const mutable = protocol as { -readonly [K in keyof ConnectProtocol<S>]?: ConnectProtocol<S>[K] };
  if (o.reset) {
    const reset = o.reset;
    mutable.reset = (s, signal) => reset(s, signal);
  }
  if (o.busy) {
    const busy = o.busy;
    mutable.busy = (s) => busy(s);
  }
  if (o.needsReset) {
    const needsReset = o.needsReset;
    mutable.needsReset = (s) => needsReset(s);
  }
  if (o.refused) {
    const refused = o.refused;
    mutable.refused = (err) => refused(err);
  }
  // Validated and frozen by the schema: the user's object is not kept.
  if (o.sharing) mutable.sharing = o.sharing;
  return Object.freeze(protocol);
}
