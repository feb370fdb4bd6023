/**
 * The seam between the pool's core (leasing, waiters, housekeeping) and whatever makes
 * connections. `supervisor-source.ts` implements it with the pool's own supervisor: each
 * slot is a `transient` child running the connection actor, and the child's state
 * changes call back into the core through a `PoolSink`. Tests and benchmarks implement
 * it in memory.
 *
 * Who does what:
 *
 *   core ── open(slot) ──────────▶ source      start a connection for a new slot
 *   core ◀── onReady(slot, conn) ── source     the slot's connection reached `ready`
 *   core ◀── onDialFailed(slot, e)─ source     one dial/handshake failed; retrying with backoff
 *   core ◀── onDead(slot, r, e) ─── source     a ready connection died; being replaced
 *   core ── kill(slot, reason) ──▶ source      end it abruptly; the source replaces it
 *   core ── close(slot, reason) ─▶ source      end it gracefully; no replacement
 *   core ◀── onClosed(slot) ─────── source     the slot is gone for good
 *
 * The create-loop rule (generic-pool #175): the core never reopens after a failed dial.
 * A slot stays `pending` through `onDialFailed` while the source retries it on its own
 * backoff (the supervisor's restart delay), so dial attempts are paced by the backoff,
 * never by the core, and a pool whose endpoints are all down holds at most `max`
 * pending slots. Waiters still time out after `acquireTimeoutMs`, with the last dial
 * error as `cause`. The source may give up on a slot (restart intensity) by calling
 * `onClosed(slot, error)`; the core then opens a new slot only if waiters or `min` need it.
 *
 * Rules for implementers: callbacks may be invoked from any tick, but the core tolerates
 * synchronous re-entry (it updates its own state before calling the source). A pending
 * slot's `endpoint` may change inside `onDialFailed` (failover): every attempt must dial
 * the slot's endpoint as it is when the attempt starts. `probe`
 * and `reset` must settle (the connection actor bounds them with its probe timeout);
 * a rejection means "this connection is not fit" and the core kills it.
 */
import type { PoolEndpoint } from './pool-options.js';
import type { Slot, SlotStream } from './slot.js';

/** Why the core closes a slot gracefully (no replacement). */
export type PoolCloseReason = 'idle' | 'lifetime' | 'shutdown' | 'shutdown-forced'
  /** A pending slot whose endpoint takes no dial now (breaker open, ejected, another priority group). */
  | 'unavailable';

/**
 * Why the core kills a slot's connection (the source replaces it). The supervisor source
 * maps these to the connection actor's `KillReason`: `leak-reclaimed` as is, the others to
 * `protocol-error` with the error as `cause`.
 */
export type PoolKillReason = 'leak-reclaimed' | 'reset-failed' | 'validation-failed' | 'destroyed';

/** What `connections()` shows about a slot beyond the core's own bookkeeping. */
export interface SlotInspection {
  /** The connection actor's state (`dialing`, `ready`, `probing`, `suspect`…). */
  readonly state: string;
  readonly rttMs?: number;
}

export interface ConnectionSource<C> {
  /** Start a connection for this new, `pending` slot on `slot.endpoint`. */
  open(slot: Slot<C>): void;
  /**
   * End the slot gracefully and do not replace it; call `onClosed` when it is gone.
   * Also used for `pending` slots, which must stop dialing. `shutdown-forced` means
   * "do not drain" (the pool's close deadline passed, or the connection is broken); it
   * may follow an earlier `shutdown` of the same slot, as OTP's brutal kill follows a
   * shutdown timeout.
   */
  close(slot: Slot<C>, reason: PoolCloseReason): void;
  /** End the connection abruptly; replace it (the slot is `pending` again in the core). */
  kill(slot: Slot<C>, reason: PoolKillReason, error?: unknown): void;
  /** Validation: resolves when the peer answered. `signal` aborts when the pool closes. */
  probe(slot: Slot<C>, signal: AbortSignal): Promise<void>;
  /**
   * `resetOnRelease` or `needsReset`: restore the session for the next holder; reject →
   * killed. `signal` aborts when the pool closes.
   */
  reset(slot: Slot<C>, signal: AbortSignal): Promise<void>;
  /**
   * Optional: true when the slot's session is in a state its next holder must not inherit
   * (RESP: inside MULTI, WATCHing, another db). Asked on every release, so it must be a
   * field read; such a slot is reset (and killed if the reset fails) before reuse.
   */
  readonly needsReset?: (slot: Slot<C>) => boolean;
  /**
   * Optional: dial the pending slot now instead of after its backoff delay (a slot moved
   * away from an endpoint that refused the handshake, whose delay was the slowest).
   */
  redialNow?(slot: Slot<C>): void;
  /** Live figures for `connections()`; optional. */
  inspect?(slot: Slot<C>): SlotInspection | undefined;
}

/** The core's callbacks, handed to the source's factory. */
export interface PoolSink<C> {
  /**
   * The slot's (new) connection is ready; `conn` is its session, what leases hand out.
   * `stream`, when the connection has one: once it is destroyed the pool hands the
   * connection to nobody and counts it dead, without waiting for `onDead` (a protocol
   * destroys its stream on a request timeout; the 'close' the death waits for comes later).
   */
  onReady(slot: Slot<C>, conn: C, stream?: SlotStream): void;
  /** One attempt to connect the pending slot failed; the slot stays pending (maybe on another endpoint). */
  onDialFailed(slot: Slot<C>, error: unknown): void;
  /** The slot's ready connection died; a leased one loses its lease. The slot is pending again. */
  onDead(slot: Slot<C>, reason: string, error?: unknown): void;
  /** The slot is gone for good (after `close`, or the source gave up on it). */
  onClosed(slot: Slot<C>, error?: unknown): void;
  /**
   * The slot's connection left `suspect` for `ready` (set `slot.suspect = false` first):
   * an idle one can serve waiters again. Optional for sources without a suspect state.
   */
  onRecovered?(slot: Slot<C>): void;
}

/** Builds the source once the core exists, so the source can hold the sink. */
export type ConnectionSourceFactory<C> = (sink: PoolSink<C>) => ConnectionSource<C>;

/**
 * Picks the endpoint for a new slot. Pluggable so that failover, failback and circuit
 * breakers (a later issue) can replace it without touching the core.
 */
export type ChooseEndpoint = (
  endpoints: readonly EndpointView[],
  random: () => number,
) => EndpointView;

/** What a `ChooseEndpoint` policy sees of each endpoint. */
export interface EndpointView {
  readonly endpoint: PoolEndpoint;
  readonly key: string;
  /** Ready connections (idle, leased, being validated or reset). */
  readonly open: number;
  readonly pending: number;
  /** Dial failures since the endpoint last produced a ready connection. */
  readonly consecutiveFailures: number;
}
