/**
 * The seams between layers: a `Transport` dials an `Endpoint` into a Duplex; a `Protocol`
 * turns that Duplex into a session (handshake), probes it, resets it and closes it.
 * The connection actor drives both and knows nothing else about the bytes.
 *
 *   endpoint ──Transport.dial──▶ Duplex ──Protocol.open──▶ session ──probe/reset/close
 *
 * A library that dials by itself (node-postgres, mysql2, undici, database drivers) is a
 * `ConnectProtocol` instead: no transport, no stream; its `connect` creates and connects
 * the client and resolves with it (the session), and the client reports its own death
 * through `lost()`. A protocol has exactly one of `open` and `connect` (`AnyProtocol`).
 *
 *   endpoint ──ConnectProtocol.connect({ endpoint, signal, lost, markAlive })──▶ client ──probe/reset/close
 *
 * How a session reports its own death: the protocol destroys the stream
 * (`stream.destroy(err)`). The connection actor watches the stream's `close` and maps
 * the error's `code`: `WW_PROTOCOL_ERROR` / `WW_FRAME_TOO_LARGE` → `protocol-error`,
 * any other error → `socket-error`, no error → `peer-closed`.
 */
import type { Duplex } from 'node:stream';
import type { SchedulerLike } from 'rxjs';

/** Where to connect. TCP/TLS use host+port, unix sockets use path. */
export interface Endpoint {
  readonly host?: string;
  readonly port?: number;
  /** Unix domain socket path (for the `unix` transport). */
  readonly path?: string;
  /** Failover group: lower is preferred (pool). Default 0. */
  readonly priority?: number;
  /** Relative share of connections within a priority group (pool). Default 1. */
  readonly weight?: number;
  /** TLS server name override (SNI and certificate check). */
  readonly servername?: string;
}

export interface DialOptions {
  /** Give up connecting after this long (`WW_DIAL_TIMEOUT`). */
  readonly connectTimeoutMs: number;
  /** Aborts the dial (`WW_ABORTED`); an established stream is destroyed. */
  readonly signal?: AbortSignal;
  /** Runs the connect timeout (tests inject virtual time). Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
}

/** Dials endpoints into byte streams. `tcp()`, `tls()`, `unix()` are built in. */
export interface Transport {
  readonly kind: string;
  dial(endpoint: Endpoint, options: DialOptions): Promise<Duplex>;
}

/** What a protocol's `open` receives besides the stream. */
export interface ProtocolContext {
  /** Aborted when the connection is closing or the handshake timed out. */
  readonly signal: AbortSignal;
  readonly endpoint: Endpoint;
  /**
   * Call on inbound traffic (once per chunk is enough), *after* handling the chunk: a
   * chunk that carries a probe's reply must settle the probe first, or the connection
   * counts it as other traffic and drops the RTT sample. It only bumps a counter (and,
   * while a probe is out, queues one check per probe), so it is cheap on the data path;
   * the heartbeat skips probing while traffic flows and ends `probing` when it resumes.
   */
  readonly markAlive: () => void;
  /** The runtime's scheduler, for any timer the protocol needs. */
  readonly scheduler: SchedulerLike;
  /**
   * Optional to call: a request of this session got no reply within its own timeout. A
   * held (leased) or busy connection is never probed, so its requests are the liveness
   * evidence: the connection turns `suspect` at once (no new leases) and is `dead` if the
   * peer then stays silent for the suspicion window. Any inbound byte ends the suspicion.
   * `wire()` calls it; a protocol that closes its connection on a timeout (`resp()`) need not.
   * Absent when a session is opened outside a connection actor.
   */
  readonly requestTimedOut?: () => void;
}

/**
 * What a `ConnectProtocol`'s `connect` receives: the stream mode's context plus `lost`.
 * `signal` aborts when the connect times out (`connectTimeoutMs + handshakeTimeoutMs`)
 * or the connection is closed or killed meanwhile: stop connecting and destroy the
 * client. A client that `connect` resolves with after that is closed by the actor.
 */
export interface ConnectContext extends ProtocolContext {
  /**
   * Call when the client died (wire it to the library's `'error'` and `'end'`/`'close'`
   * events); the error, if any, becomes the death's `cause`. The connection goes `dead`
   * (`socket-error`, or `peer-closed` without an error) and its supervisor restarts it
   * with backoff, as for a stream that closed. Before `connect` resolved it fails the
   * connect instead. Calls after the first, and after the connection ended, are ignored.
   */
  readonly lost: (error?: unknown) => void;
}

/**
 * The session side every protocol has, whichever way it opens its sessions.
 *
 * The connection actor recycles the signal of an answered probe for a later probe
 * (creating an AbortController is the costliest part of a heartbeat): remove any listener
 * you add to `signal` when your probe settles, and do not use the signal afterwards. A
 * signal that still has a listener (other than `wire()`'s shared one, see
 * ping-table.ts) is not recycled, so forgetting costs only speed.
 */
export interface SessionProtocol<S = unknown> {
  readonly name: string;
  probe(session: S, signal: AbortSignal): Promise<void>;
  /**
   * Optional callback form of `probe` for the heartbeat path: the same probe, reported by
   * calling `listener.probeSettled(token, answered)` exactly once (synchronously or later)
   * instead of through a promise — no promise, resolving functions or reactions per
   * heartbeat. `wire()` implements it; the actor prefers it when present.
   */
  probeWith?(session: S, signal: AbortSignal, listener: ProbeListener, token: number): void;
  /**
   * Optional: true while the session has a request of its user in flight. The heartbeat
   * never probes a busy session (nor a leased one): a probe would queue behind the
   * request (RESP: behind a BLPOP) or inside the user's command stream (inside MULTI),
   * and the request's own timeout is the liveness evidence. Called once per heartbeat
   * tick of an idle connection, so it must be cheap (a field read).
   */
  busy?(session: S): boolean;
  /**
   * Optional: true when the session is in a state its next holder must not inherit
   * (RESP: inside MULTI, WATCHing keys, another database, subscribed). A pool checks it
   * on every release: such a session is reset (`reset`) before it is handed out again,
   * or retired when the protocol has no `reset`, even without `resetOnRelease`.
   * Must be cheap (a field read).
   */
  needsReset?(session: S): boolean;
  /**
   * Optional: restores the session for its next holder. `signal` aborts when the check
   * runs past the pool's `validationTimeoutMs` or the pool closes: a reset still running
   * then should stop, or at least not hold anything the shutdown must wait for.
   */
  reset?(session: S, signal?: AbortSignal): Promise<void>;
  /**
   * Optional: true when a failed `open`/`connect` (its rejection, or the error given to
   * `lost` before it resolved) is one a retry cannot fix — bad credentials, an unknown
   * database. The connection then fails with `HandshakeRefusedError` (the library's
   * error as `cause`): the pool fails callers at once and redials at the slowest pace.
   * Throwing a `HandshakeRefusedError` yourself does the same.
   */
  refused?(error: unknown): boolean;
  /**
   * Graceful close. `signal` (may be absent outside a connection actor) aborts once
   * `closeTimeoutMs` passed, or when the connection is killed meanwhile: then destroy.
   */
  close(session: S, signal?: AbortSignal): Promise<void>;
  /**
   * Optional: present when several callers may use one session at once (`pool.dispatch`),
   * because the protocol multiplexes (ids, a pipelined FIFO). Absent: the pool only leases
   * the session exclusively and `dispatch` is refused.
   */
  readonly sharing?: SessionSharing<S>;
}

/**
 * How a protocol's sessions are shared by `pool.dispatch`. A session carrying dispatches
 * is not leased until they drain, and a leased session takes no dispatches, so `enter`
 * and `leave` bracket each shared period (both cheap, called on the pool's state changes,
 * never per request).
 *
 * Contract: the pool calls `enter` only on a session that is not busy and does not need
 * a reset (the protocol's `busy` and `needsReset` both false): an abandoned BLPOP still
 * in flight, or a MULTI left open by the last lease, would otherwise be inherited by
 * every dispatch. `canShare`, when present, is that check in one call; the pool calls it
 * before `enter` and leases (or resets) a session it refuses instead of sharing it.
 */
export interface SessionSharing<S = unknown> {
  /** Default per-connection limit of concurrent dispatches (a pool option overrides it). */
  readonly maxInFlight: number;
  /**
   * Optional: false when the session may not start a shared period now (a command in
   * flight, state to reset). Cheap (field reads); `enter` on such a session is a bug in
   * the caller, which `resp()`'s `enter` reports by throwing (after refusing exclusive
   * commands all the same).
   */
  canShare?(session: S): boolean;
  /** The session starts carrying dispatches: commands that need it alone should now be refused. */
  enter?(session: S): void;
  /** The last dispatch settled; the session may be leased again. */
  leave?(session: S): void;
}

/**
 * A protocol adapter. `open` performs the handshake and resolves with a session;
 * `probe` resolves when the peer answered (the actor applies the timeout through
 * `signal`); `reset` restores a session for the next lease; `close` ends it gracefully.
 */
export interface Protocol<S = unknown> extends SessionProtocol<S> {
  open(stream: Duplex, ctx: ProtocolContext): Promise<S>;
  /** A stream protocol has no `connect` (see `ConnectProtocol`). */
  readonly connect?: undefined;
}

/**
 * A protocol for a library that dials by itself (`custom({ connect, … })`): the
 * connection actor calls `connect` instead of a transport's `dial` and `open`, within
 * `connectTimeoutMs + handshakeTimeoutMs`, and everything after it is unchanged:
 * heartbeats (never into a leased or busy session), backoff, pools, leases, stats.
 * A rejection is a `dial-failed` death with the library's error as `cause`.
 */
export interface ConnectProtocol<S = unknown> extends SessionProtocol<S> {
  connect(ctx: ConnectContext): Promise<S>;
  /** A connect protocol has no `open` (see `Protocol`). */
  readonly open?: undefined;
}

/** Either kind of protocol: what the connection actor, pools and scenarios accept. */
export type AnyProtocol<S = unknown> = Protocol<S> | ConnectProtocol<S>;

/** Who hears the outcome of a `probeWith`: the token it was given, and whether the peer answered. */
export interface ProbeListener {
  probeSettled(token: number, answered: boolean): void;
  /**
   * Optional: the answer to the probe `token` came after its signal aborted (it timed
   * out and was reported `false`). Probe ids are unique, so the late answer is a valid
   * round trip; only a session's most recently aborted probe is reported this way.
   */
  probeAnsweredLate?(token: number): void;
}

/** A session type carried by a protocol. */
export type SessionOf<P> = P extends Protocol<infer S> ? S : P extends ConnectProtocol<infer S> ? S : never;
