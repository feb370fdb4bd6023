/**
 * Options and public types of `createWireServer`, validated once at construction
 * (unknown keys rejected, messages name the path: `wireServer.port must be …`).
 */
import type { Duplex } from 'node:stream';
import type { SchedulerLike } from 'rxjs';
import { InvalidOptionError } from '../errors.js';
import { custom, duration, func, integer, optional, secret, shape, string } from '../options.js';
import { defaultScheduler, isScheduler } from '../scheduler.js';
import { DEFAULT_MAX_FRAME_BYTES } from './frame-decoder.js';
import { DEFAULT_MAX_QUEUED_BYTES } from './frame-writer.js';
import { isFramingPool, type FramingPool } from './framing-pool.js';
import { MsgpackCodec } from './msgpack-codec.js';
import { MessageType, toWire, WIRE_VERSION } from './wire-messages.js';
import type { WireDropReason, WireRequestContext, WireServerConnectionState } from './wire-server-connection.js';

export type { WireRequestContext, WireDropReason } from './wire-server-connection.js';

/** 8 KiB: a HELLO with a token of up to ~8.1 KB (a large JWT), and nothing bigger. */
export const DEFAULT_MAX_HANDSHAKE_FRAME_BYTES = 8 * 1024;

/**
 * 8192: twice the peak seen in bench/reconnect-storm.ts (10k clients of one saturated
 * process reconnecting: ~3 700 accepted sockets waiting for their HELLO), while the most
 * that many handshaking peers can hold is ~130 MiB (14–16 KiB each at the 8 KiB frame
 * limit, bench/preauth-flood.ts), for at most `handshakeTimeoutMs`.
 */
export const DEFAULT_MAX_HANDSHAKING_CLIENTS = 8192;

/** Handlers running at once for one client; also `wire()`'s default in-flight limit per shared session. */
export const DEFAULT_MAX_IN_FLIGHT_PER_CLIENT = 256;

export const serverSchema = shape({
  host: string({ nonEmpty: true, default: '127.0.0.1' }),
  port: integer({ min: 0, max: 65535, default: 0 }),
  path: optional(string({ nonEmpty: true })),
  token: optional(secret(string())),
  handler: optional(func<(payload: unknown, ctx: WireRequestContext) => unknown>()),
  onMessage: optional(func<(payload: unknown, ctx: WireRequestContext) => unknown>()),
  onClientDropped: optional(func<(info: WireClientDropped) => void>()),
  maxFrameBytes: integer({ min: 1, max: 0xffffffff, default: DEFAULT_MAX_FRAME_BYTES }),
  maxHandshakeFrameBytes: integer({ min: 1, max: 0xffffffff, default: DEFAULT_MAX_HANDSHAKE_FRAME_BYTES }),
  maxHandshakingClients: integer({ min: 1, default: DEFAULT_MAX_HANDSHAKING_CLIENTS }),
  frameTimeoutMs: duration({ min: 1, default: 10_000 }),
  frameMinBytesPerSecond: integer({ min: 1, default: 1024 }),
  frameMaxTimeoutMs: optional(duration({ min: 1 })),
  maxQueuedBytes: integer({ min: 0, default: DEFAULT_MAX_QUEUED_BYTES }),
  maxInFlightPerClient: integer({ min: 1, default: DEFAULT_MAX_IN_FLIGHT_PER_CLIENT }),
  clientIdleTimeoutMs: duration({ min: 1, default: 15_000 }),
  clientProbeTimeoutMs: duration({ min: 1, default: 5_000 }),
  handshakeTimeoutMs: duration({ min: 1, default: 10_000 }),
  closeTimeoutMs: duration({ min: 0, default: 5_000 }),
  scheduler: custom<SchedulerLike>('a SchedulerLike', isScheduler, { default: () => defaultScheduler }),
  framing: optional(custom<FramingPool>('a framing pool (createFramingPool())', isFramingPool)),
});

export interface WireServerOptions {
  /** Default '127.0.0.1'. */
  readonly host?: string;
  /** Default 0 (an ephemeral port). */
  readonly port?: number;
  /** Listen on a unix socket instead of host:port. */
  readonly path?: string;
  /** Clients must send this token in HELLO. Never echoed or logged. */
  readonly token?: string;
  /**
   * Answers requests. Any thrown or rejected value becomes an ERR frame: its `message`
   * (or `String(value)`, or a fixed text when that throws), cut to 1024 chars, and its
   * `code` when a string (except `WW_GOAWAY`, which the client would take as "never run,
   * retry elsewhere": it is sent as `WW_REMOTE_ERROR`). The connection lives on.
   */
  readonly handler?: (payload: unknown, ctx: WireRequestContext) => unknown;
  /** Receives one-way messages. */
  readonly onMessage?: (payload: unknown, ctx: WireRequestContext) => unknown;
  /**
   * Called when the server drops a client (heartbeat, handshake, handshake limit, slow
   * frame, auth, protocol, slow reader). Never throws into the server: a throw becomes a
   * process warning.
   */
  readonly onClientDropped?: (info: WireClientDropped) => void;
  /** Largest inbound or outbound frame once the client is handshaken. Default 16 MiB. */
  readonly maxFrameBytes?: number;
  /**
   * Largest inbound frame before HELLO is accepted (and after it is refused), checked on
   * the length header before anything is buffered: an unauthenticated peer can make the
   * server hold or decode no more than this. Must fit the HELLO carrying `token` (the
   * token's UTF-8 bytes + at most 26); checked at construction. Default 8 KiB.
   */
  readonly maxHandshakeFrameBytes?: number;
  /**
   * Connections still in their handshake (no HELLO accepted yet) at once. A socket
   * accepted beyond it is destroyed at once, unread, and reported as dropped with
   * `'handshake-limit'`; its client retries like after any failed dial. Each slot can
   * hold ~16 KiB at most (a socket and a HELLO-sized partial frame). Default 8192.
   */
  readonly maxHandshakingClients?: number;
  /**
   * A frame that has begun arriving must bring at least `frameMinBytesPerSecond` in each
   * window of this long, or the client is dropped (`'frame-timeout'`): a trickle
   * (slowloris) is cut after about this long, a slow but steady big frame is not. Bytes
   * beyond one window's due do not count for the next (no credit is banked). Default 10000.
   */
  readonly frameTimeoutMs?: number;
  /** The rate a frame in progress must keep, per `frameTimeoutMs` window. Default 1024 (1 KiB/s). */
  readonly frameMinBytesPerSecond?: number;
  /**
   * The longest any one frame may take, whatever its rate (at least `frameTimeoutMs`):
   * what a peer can hold is `maxFrameBytes` for this long. Default 300000 (5 min: a
   * 16 MiB frame needs ≥ 56 KB/s), or `frameTimeoutMs` when that is longer.
   */
  readonly frameMaxTimeoutMs?: number;
  /** Per-client bound on queued outbound bytes. Default 8 MiB. */
  readonly maxQueuedBytes?: number;
  /**
   * Per-client bound on requests whose handler is running. Beyond it the server stops
   * reading that client (TCP backpressure) and starts queued requests as earlier ones
   * finish, so a client pipelining against a slow handler cannot grow memory without
   * bound. Default 256.
   */
  readonly maxInFlightPerClient?: number;
  /** Silence after which the server PINGs a client. Default 15000. */
  readonly clientIdleTimeoutMs?: number;
  /** Time a client has to answer that PING. Default 5000. */
  readonly clientProbeTimeoutMs?: number;
  /** Time a new connection has to send HELLO, from connect: bytes arriving meanwhile do not extend it. Default 10000. */
  readonly handshakeTimeoutMs?: number;
  /** Bound on a graceful close. Default 5000. */
  readonly closeTimeoutMs?: number;
  /** Runs the watchdog and the close bound. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
  /**
   * Decodes inbound PACKED frames of at least its `offloadThresholdBytes` on worker
   * threads. Shared, not owned: `close()` does not close it. Default none (all inline).
   */
  readonly framing?: FramingPool;
}

export interface WireClientDropped {
  readonly clientId: number;
  readonly remote: string;
  readonly reason: WireDropReason;
  readonly error?: Error;
}

export interface WireClientInfo {
  readonly id: number;
  readonly remote: string;
  readonly state: WireServerConnectionState;
  readonly inFlight: number;
  /** True while a server PING waits for its PONG. */
  readonly probing: boolean;
}

export type WireServerAddress = { readonly host: string; readonly port: number } | { readonly path: string };

/**
 * A wire server. `A` is the address it binds: `{ host, port }` unless created with a
 * unix `path` (then `{ path }`), so `(await server.listen()).port` needs no cast.
 */
export interface WireServer<A extends WireServerAddress = WireServerAddress> {
  /** Starts listening; resolves with the bound address. Rejects `ListenFailedError`. */
  listen(): Promise<A>;
  /**
   * Serves a stream that did not come from the listener (an in-memory transport, such as
   * the chaos simulated network), exactly like an accepted socket. Destroyed at once if
   * the server is closing.
   */
  accept(stream: Duplex): void;
  readonly address: A | undefined;
  /** Open client connections. */
  readonly connections: number;
  clients(): WireClientInfo[];
  /**
   * Pushes to one client or to all handshaken clients; returns how many got it.
   * `offload: true` sends a PACKED frame the client may decode on its framing pool.
   */
  push(target: number | 'all', payload: unknown, options?: { readonly offload?: boolean }): number;
  /** Stop reading and answering anything (sockets stay open). */
  freeze(): void;
  thaw(): void;
  readonly frozen: boolean;
  /** Graceful by default: GOAWAY, wait (bounded) for clients to leave, then destroy. */
  close(options?: { graceful?: boolean }): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Default of `frameMaxTimeoutMs` (when `frameTimeoutMs` is not longer). */
export const DEFAULT_FRAME_MAX_TIMEOUT_MS = 300_000;

/**
 * The slow-frame ceiling: the option, or its default raised to `frameTimeoutMs`. Throws
 * `InvalidOptionError` for a ceiling given shorter than its window.
 */
export function frameMaxTimeoutMs(opts: { readonly frameTimeoutMs: number; readonly frameMaxTimeoutMs?: number | undefined }): number {
  const given = opts.frameMaxTimeoutMs;
  if (given === undefined) return Math.max(DEFAULT_FRAME_MAX_TIMEOUT_MS, opts.frameTimeoutMs);
  if (given < opts.frameTimeoutMs) {
    throw new InvalidOptionError(`wireServer.frameMaxTimeoutMs must be at least frameTimeoutMs (${opts.frameTimeoutMs}), got ${given}`);
  }
  return given;
}

/** Bytes of the HELLO a client sends with `token` (what `maxHandshakeFrameBytes` must admit). */
export function helloFrameBytes(token: string | undefined): number {
  return new MsgpackCodec().encodeOneOff(toWire({ type: MessageType.HELLO, version: WIRE_VERSION, token })).length;
}

/**
 * Throws `InvalidOptionError` when no client could handshake: the HELLO carrying the
 * configured token must fit both frame limits. The message names a size, not the token.
 */
export function checkHandshakeFits(opts: { readonly token?: string; readonly maxHandshakeFrameBytes: number; readonly maxFrameBytes: number }): void {
  const need = helloFrameBytes(opts.token);
  const [name, limit] =
    opts.maxFrameBytes < opts.maxHandshakeFrameBytes ? ['maxFrameBytes', opts.maxFrameBytes] : ['maxHandshakeFrameBytes', opts.maxHandshakeFrameBytes];
  if (limit < need) {
    throw new InvalidOptionError(`wireServer.${name} must be at least ${need} (the HELLO with the configured token), got ${limit}`);
  }
}
