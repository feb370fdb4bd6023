/**
 * The connection actor's contract, shared by the machine, the supervisor and the pool.
 *
 *   dialing ──▶ ready ⇄ probing ──▶ suspect ──▶ dead (final, abnormal)
 *      │          │                    │
 *      └──────────┴─── CLOSE ──▶ closing ──▶ closed (final, normal)
 */
import type { SchedulerLike } from 'rxjs';
import type { AnyProtocol, Endpoint, Transport } from '../transport/types.js';
import type { WirewardenError } from '../errors.js';

export type ConnectionState = 'dialing' | 'ready' | 'probing' | 'suspect' | 'dead' | 'closing' | 'closed';

/** Why a connection died (its final output `reason` in state `dead`). */
export type DeadReason =
  | 'dial-failed'
  | 'handshake-failed'
  | 'heartbeat-timeout'
  | 'socket-error'
  | 'peer-closed'
  | 'protocol-error'
  | 'max-lifetime'
  | 'leak-reclaimed';

/** Reasons a user or pool may kill a connection with (`{ type: 'KILL', reason }`). */
export type KillReason = Extract<DeadReason, 'max-lifetime' | 'leak-reclaimed' | 'protocol-error' | 'socket-error'>;

/** A final output: `closed` is normal (OTP's `normal`), every `DeadReason` abnormal. */
export interface ConnectionOutput {
  readonly reason: DeadReason | 'closed';
  readonly error?: WirewardenError;
  /** How long the connection was usable (from its first `ready`); 0 if it never was. */
  readonly uptimeMs: number;
  /**
   * How the supervisor should pace the restart (supervisor docs, "restart pace"):
   * `immediate` for a retirement that is no failure (a `KILL` with `retire: true`: a
   * destroyed lease, a leak reclaimed), `slowest` for a handshake the peer refused for
   * good (`WW_HANDSHAKE_REFUSED`: retrying soon cannot help). Absent: the backoff.
   */
  readonly restartPace?: 'immediate' | 'slowest';
}

export interface HeartbeatOptions {
  /** Probe after this long without inbound traffic. Default 5000. */
  readonly intervalMs: number;
  /** Floor of the RFC 6298 probe timeout. Default 100. */
  readonly minTimeoutMs: number;
  /** Ceiling of the probe timeout (also the first timeout before any RTT sample). Default 2000. */
  readonly maxTimeoutMs: number;
  /**
   * Sets the default suspicion window, `(1 + suspectProbes) × maxTimeoutMs`. Default 2.
   * (The number of probes sent while `suspect` follows from the window and the timeouts.)
   */
  readonly suspectProbes: number;
  /**
   * How long the peer must stay silent, from the first unanswered probe, before a
   * `suspect` connection is `dead` (× the ELU factor, like probe timeouts). A stall
   * shorter than this never kills. Default `(1 + suspectProbes) × maxTimeoutMs`.
   */
  readonly suspicionWindowMs: number;
  /** Growth of each suspect probe's timeout (clamped to maxTimeoutMs). Default 2. */
  readonly suspectBackoffMultiplier: number;
  /** Weight of event-loop utilisation: timeout × (1 + eluWeight × elu). Default 0.5. */
  readonly eluWeight: number;
  /** Opt-in adaptive interval. Default false. */
  readonly adaptive: boolean;
  /** Lower bound of the adaptive interval. Default intervalMs / 4. */
  readonly minIntervalMs?: number;
  /** Upper bound of the adaptive interval. Default intervalMs × 4. */
  readonly maxIntervalMs?: number;
}

export type HeartbeatInput = Partial<HeartbeatOptions>;

/** What `connectionMachine` takes as input (validated at construction). */
export interface ConnectionInput<S = unknown> {
  readonly endpoint: Endpoint;
  /** `wire()`, `resp()`, `custom({ open | connect, … })`: a stream protocol or a connect protocol. */
  readonly protocol: AnyProtocol<S>;
  /**
   * Default: `tcp()` (or `unix()` when the endpoint has a `path`). Unused with a connect
   * protocol (`custom({ connect })`): the library dials by itself.
   */
  readonly transport?: Transport;
  /** Default 10000. A connect protocol's `connect` gets `connectTimeoutMs + handshakeTimeoutMs`. */
  readonly connectTimeoutMs?: number;
  /** Default 10000. */
  readonly handshakeTimeoutMs?: number;
  /** Bound on draining in-flight calls during `closing`. Default 5000. */
  readonly closeTimeoutMs?: number;
  readonly heartbeat?: HeartbeatInput;
  /** Overrides the runtime's scheduler (tests). */
  readonly scheduler?: SchedulerLike;
  /** Overrides the runtime's random source (heartbeat phase jitter). */
  readonly random?: () => number;
  /** Overrides the runtime's load gauge (ELU in [0, 1]). */
  readonly loadSource?: () => number;
  /**
   * The owner's hold on the connection: true while it is leased (a pool sets it). A
   * held connection is never probed: a probe would enter its user's command stream
   * (inside a MULTI), and the user's own requests and their timeouts are the evidence.
   * Called once per heartbeat tick of a connection without traffic; must be cheap.
   */
  readonly leased?: () => boolean;
}

/** Events a connection actor accepts from outside. */
export type ConnectionCommand =
  | { type: 'CLOSE' }
  | { type: 'KILL'; reason: KillReason; error?: WirewardenError; retire?: boolean };

/** Plain-data health figures, kept in context (visible to inspector and dashboard). */
export interface ConnectionHealth {
  /** Last measured RTT. */
  readonly rttMs: number | undefined;
  /** RFC 6298 smoothed RTT and variance. */
  readonly srttMs: number | undefined;
  readonly rttvarMs: number | undefined;
  /** Current base probe timeout before ELU scaling. */
  readonly probeTimeoutMs: number;
  /** Current heartbeat interval (changes when adaptive). */
  readonly intervalMs: number;
  readonly probesSent: number;
  readonly probesFailed: number;
  readonly falseSuspicions: number;
}

/** An endpoint as shown in context and snapshots: where, never how (no credentials). */
export interface PlainEndpoint {
  readonly host?: string;
  readonly port?: number;
  readonly path?: string;
}

/**
 * The machine's context: plain data only, safe for the inspector, the dashboard and
 * `JSON.stringify`. Streams, sessions, the protocol (which may hold a token) and the
 * scheduler live outside it (see `liveConnection`).
 */
export interface ConnectionContext extends ConnectionHealth {
  readonly endpoint: PlainEndpoint;
  /** The protocol's `name` (`wire`, `resp`, `custom`). */
  readonly protocol: string;
  /** The resolved heartbeat options (frozen, shared between connections). */
  readonly heartbeat: Required<HeartbeatOptions>;
  /** Scheduler time at creation, at the first `ready` (undefined before) and at the last state change. */
  readonly startedAt: number;
  readonly readyAt: number | undefined;
  readonly since: number;
  /** Probes sent in the current `suspect` episode (0 outside it). */
  readonly suspectAttempt: number;
  /** Scheduler time the first unanswered probe of the current episode was sent (undefined outside one). */
  readonly silentSince: number | undefined;
  /** Base timeout (before ELU scaling) of the probe in flight or last sent. */
  readonly attemptTimeoutMs: number;
  /** Set on the way to a final state. */
  readonly reason: DeadReason | 'closed' | undefined;
}

/**
 * What the pool needs of a live connection: its session to lease and figures to show.
 * Returned by `liveConnection(ref)`; never part of a snapshot.
 */
export interface LiveConnectionView<S = unknown> {
  readonly id: string;
  readonly endpoint: PlainEndpoint;
  readonly state: ConnectionState;
  /** The protocol session; undefined until the handshake succeeded and after the end. */
  readonly session: S | undefined;
  readonly protocol: AnyProtocol<S>;
  readonly rttMs: number | undefined;
  /** Scheduler time of the last state change. */
  readonly since: number;
}
