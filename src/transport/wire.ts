/**
 * `wire()`: the client side of wirewarden's own msgpack protocol as a `Protocol`.
 *
 * `open` performs the HELLO handshake and resolves with a `WireSession`; `probe` is a
 * PING/PONG round trip; `close` is the session's graceful close (GOAWAY, drain, end);
 * `sharing` lets `pool.dispatch` multiplex callers over one session (WIRE_SHARING).
 *
 * Options are validated once, here, and frozen. The token lives only in this factory's
 * closure: the returned protocol object has no property that holds it, so logging or
 * inspecting the protocol, a session or an error never shows it. A session keeps it in a
 * private field only to redact it from the server's error texts (a server echoing it
 * cannot put it in an error), and a token of the wrong type is reported by type only.
 */
import type { Duplex } from 'node:stream';
import { custom, duration, parseOptions, secret, shape, integer, string, optional } from '../options.js';
import { DEFAULT_MAX_FRAME_BYTES } from './frame-decoder.js';
import { DEFAULT_MAX_QUEUED_BYTES } from './frame-writer.js';
import { describeEndpoint } from './dial-socket.js';
import { isFramingPool, type FramingPool } from './framing-pool.js';
import type { ProbeListener, Protocol, ProtocolContext, SessionSharing } from './types.js';
import { DEFAULT_MAX_IN_FLIGHT_PER_CLIENT } from './wire-server-options.js';
import { WireSession } from './wire-session.js';

const wireSchema = shape({
  /** Sent in HELLO; the server rejects a wrong one with HELLO_ERR. */
  token: optional(secret(string())),
  maxFrameBytes: integer({ min: 1, max: 0xffffffff, default: DEFAULT_MAX_FRAME_BYTES }),
  maxQueuedBytes: integer({ min: 0, default: DEFAULT_MAX_QUEUED_BYTES }),
  requestTimeoutMs: duration({ min: 0, default: 30_000 }),
  closeTimeoutMs: duration({ min: 0, default: 5_000 }),
  framing: optional(custom<FramingPool>('a framing pool (createFramingPool())', isFramingPool)),
});

export interface WireOptions {
  /** Shared secret sent in HELLO. Never stored where it could be printed. */
  readonly token?: string;
  /** Largest frame sent or accepted. Default 16 MiB. */
  readonly maxFrameBytes?: number;
  /** Bound on bytes queued while the server reads slowly. Default 8 MiB. */
  readonly maxQueuedBytes?: number;
  /** Default timeout of `session.request`; 0 disables it. Default 30000. */
  readonly requestTimeoutMs?: number;
  /** Bound on a graceful close (drain in-flight, wait for the peer). Default 5000. */
  readonly closeTimeoutMs?: number;
  /**
   * Decodes inbound PACKED frames of at least its `offloadThresholdBytes` on worker
   * threads (docs/transport.md, "Framing offload"). Shared, not owned: closing a session
   * does not close it. Default none: every frame is decoded on the main thread.
   */
  readonly framing?: FramingPool;
}

/**
 * How `pool.dispatch` shares a session: up to 256 requests in flight on one connection,
 * the default `maxInFlightPerClient` of `createWireServer`. Past that the server stops
 * reading the connection, so more requests would only wait in socket buffers, where their
 * timeouts run and no other connection can take them; the pool sends them to another
 * connection or its FIFO instead. Nothing to refuse: replies carry ids, and a wire session
 * has no per-caller state.
 */
export const WIRE_SHARING: SessionSharing<WireSession> = Object.freeze({ maxInFlight: DEFAULT_MAX_IN_FLIGHT_PER_CLIENT });

/** The defaults, for docs and tests. */
export const WIRE_DEFAULTS = Object.freeze({
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  maxQueuedBytes: DEFAULT_MAX_QUEUED_BYTES,
  requestTimeoutMs: 30_000,
  closeTimeoutMs: 5_000,
});

/**
 * The wire protocol, client side.
 *
 * @example
 * const protocol = wire({ token: process.env.WIRE_TOKEN, requestTimeoutMs: 2000 });
 * const stream = await tcp().dial({ host: '127.0.0.1', port }, { connectTimeoutMs: 1000 });
 * const session = await protocol.open(stream, { signal, endpoint, markAlive: () => {}, scheduler: asyncScheduler });
 * console.log(await session.request({ op: 'echo', text: 'hi' }));
 * await protocol.close(session);
 */
export function wire(options?: WireOptions): Protocol<WireSession> {
  const { token, ...rest } = parseOptions('wire', wireSchema, options);
  const sessionOptions = Object.freeze({ ...rest });
  return Object.freeze({
    name: 'wire',
    open(stream: Duplex, ctx: ProtocolContext): Promise<WireSession> {
      const session = new WireSession(stream, ctx.scheduler, describeEndpoint(ctx.endpoint), sessionOptions, ctx.markAlive, ctx.requestTimedOut);
      return session.hello(token, ctx.signal);
    },
    // The ping's own promise, not an `async` wrapper around it: one promise and one
    // reaction fewer per heartbeat. It resolves with the RTT, which the caller ignores.
    probe(session: WireSession, signal: AbortSignal): Promise<void> {
      return session.ping(signal) as Promise<unknown> as Promise<void>;
    },
    probeWith(session: WireSession, signal: AbortSignal, listener: ProbeListener, token: number): void {
      session.pingWith(signal, listener, token);
    },
    // Replies come back out of order, so a PING would not queue behind a request; the rule
    // is the same for every protocol all the same: a request out is its own evidence.
    busy(session: WireSession): boolean {
      return session.inFlight > 0;
    },
    close(session: WireSession): Promise<void> {
      return session.close();
    },
    sharing: WIRE_SHARING,
  });
}
