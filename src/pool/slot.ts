/**
 * A slot is one place in the pool: one supervised connection across its incarnations.
 *
 *              onReady                 acquire
 *   pending ───────────▶ idle ◀──────────────────▶ leased
 *      ▲                 │ ▲ ▲  release (reset?)     │
 *      │                 ▼ │ ╰──────────────╮        │
 *      │        probing (validation)    shared (dispatches in flight; idle again when drained)
 *      │                                             │
 *      └──── onDead / kill (the source replaces) ────┘
 *   any state ── close(slot) ──▶ closing ── onClosed ──▶ (gone)
 *
 * A slot is born `pending` when the core asks the source to open a connection, and it
 * stays the same object while the supervisor restarts its connection: `onDead` sends it
 * back to `pending`, `onReady` brings it to `idle` again. Only a `close` (idle or
 * lifetime retirement, shutdown) or the source giving up (`onClosed`) ends it.
 *
 * `state` changes only through `SlotTable.move` (slot-table.ts), which keeps every count
 * the pool reads (`leased`, `idle`, `pending`, per endpoint) in step with it: the field is
 * read-only to everyone else.
 *
 * Fields are plain and all assigned in the constructor, so every slot shares one hidden
 * class and the lease fast path reads them without polymorphic lookups.
 */
import type { EndpointRecord } from './endpoint-record.js';
import type { PoolEndpoint } from './pool-options.js';
import type { Lease, LeaseOwner } from './lease.js';
import type { Waiter } from './waiter-queue.js';

/** What the pool reads of a connection's stream (a `Duplex` is one). */
export interface SlotStream {
  readonly destroyed: boolean;
  /** The error it was destroyed with, if any (`Duplex.errored`). */
  readonly errored?: Error | null;
}

export type SlotState = 'pending' | 'idle' | 'leased' | 'shared' | 'probing' | 'resetting' | 'closing';

export class Slot<C = unknown> {
  /** Stable across restarts: the supervisor's child id (`conn-3`). */
  readonly id: string;
  /** Where the slot dials; may change while it is `pending` (failover, slot-lifecycle.ts). */
  endpoint: PoolEndpoint;
  /** `host:port` or the socket path. */
  endpointKey: string;
  /** The endpoint's counts (changed with `endpoint` on failover, by the table). */
  site: EndpointRecord;
  /** The pool that leases it out. */
  readonly owner: LeaseOwner<C>;
  /** Changed only by `SlotTable.move`. */
  readonly state: SlotState = 'pending';
  /** The session of the current incarnation; undefined unless ready (cleared by `SlotTable.move`). */
  conn: C | undefined = undefined;
  /**
   * The current incarnation's stream, when its source has one (set with `onReady`, cleared
   * with `conn`): see `dying`.
   */
  stream: SlotStream | undefined = undefined;
  /** When the current incarnation became ready (scheduler time). */
  createdAt = 0;
  /** When it last became idle (release or ready), for idle timeout and validation. */
  lastReleasedAt = 0;
  /** Retire at or after this time (checked at acquire, release and each sweep, never mid-lease). */
  lifetimeDeadline = Number.POSITIVE_INFINITY;
  /** The deadline `maxLifetimeMs` gives the current incarnation: `lifetimeDeadline` unless retired early. */
  lifetimeEnd = Number.POSITIVE_INFINITY;
  /** Bumped whenever the connection is replaced, so a late probe or reset result is ignored. */
  incarnation = 0;
  /** The current lease while `leased` (cleared by `SlotTable.move` when it leaves `leased`). */
  lease: Lease<C> | undefined = undefined;
  /** When the current lease began. */
  leasedAt = 0;
  /** The acquirer's call site, captured only when leak detection is on. */
  acquireStack: Error | undefined = undefined;
  leakReported = false;
  /** When the slot entered its current coarse state (pending or ready). */
  since: number;
  /** Consecutive failed dials of this slot since it was last ready. */
  dialFailures = 0;
  /** The waiter that is being handed this slot after a validation probe. */
  validatingFor: Waiter<C> | undefined = undefined;
  /**
   * The connection is in `suspect` (a probe timed out, verification running): it stays
   * in the idle stack but is not leased until it is `ready` again (set by the source).
   */
  suspect = false;
  /** Aborts an in-flight validation probe or reset when the connection leaves or the pool closes. */
  checkAbort: AbortController | undefined = undefined;
  /** Dispatches counted on it while `shared` (SlotTable.beginDispatch/endDispatch; 0 otherwise). */
  inFlight = 0;
  /** Of those, granted to queued callers that have not started yet (see pool-core.ts `#runQueued`). */
  inTransit = 0;
  /** While `shared`: takes no new dispatch; when drained it goes to an acquire (or retires). */
  draining = false;
  /**
   * The breaker permit of the call the slot carries (its dial while pending, its lease while
   * leased), settled exactly once by the guards (endpoint-guards.ts); -1: none.
   */
  permit = -1;
  /**
   * Dials only its own endpoint (a half-open breaker's trial, or a scout of a down endpoint
   * in a preferred group): a failed dial is not moved elsewhere. Cleared once ready.
   */
  pinned = false;
  /**
   * Set by `SlotTable.retire`: the slot leaves at its next lifetime check, closed for this
   * reason — its endpoint left the discovered set (`removed`), or it answered as a demoted
   * node does (`stale`, a Redis READONLY reply). It is never replaced in place.
   */
  retireReason: 'removed' | 'stale' | undefined = undefined;

  constructor(id: string, site: EndpointRecord, owner: LeaseOwner<C>, now: number) {
    this.id = id;
    this.owner = owner;
    this.site = site;
    this.endpoint = site.endpoint;
    this.endpointKey = site.key;
    this.since = now;
  }

  /**
   * Its stream is destroyed though the source has not reported the death yet: a protocol
   * destroys its stream on a request timeout (`resp()`), and the stream's 'close', which
   * the death waits for, comes a loop turn later. The pool hands out no such connection
   * (a caller would fail on a connection it never used); it reports the death at once.
   */
  get dying(): boolean {
    const s = this.stream;
    return s !== undefined && s.destroyed;
  }

  /** True while it holds a usable connection (idle, leased, shared, being validated or reset). */
  get ready(): boolean {
    const s = this.state;
    return s !== 'pending' && s !== 'closing';
  }
}
