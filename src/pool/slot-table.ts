/**
 * The pool's bookkeeping of slots: which exist, which are idle, and the counts that
 * `max`, `min`, growth and `stats()` read. Kept apart from the core so that every count
 * changes in one place; the core decides *when* a slot changes state, the table keeps
 * the numbers consistent with it.
 *
 * Counts are maintained incrementally, never recomputed on the lease path:
 *   open    = slots in a ready state (idle, leased, probing, resetting)
 *   leased  = slots in `leased`;  idle = the idle stack's length
 *   pending = slots in `pending`
 * Closing slots are out of every count (and of `slots`) at once, as Go's `numOpen` is
 * decremented when a close starts: a slot being drained does not hold a place under
 * `max`.
 */
import type { EndpointView } from './connection-source.js';
import type { LeaseOwner } from './lease.js';
import { endpointKey, type PoolEndpoint } from './pool-options.js';
import type { EndpointStats, PoolGauges } from './pool-stats.js';
import { Slot } from './slot.js';

/** An endpoint with its live counts; what `ChooseEndpoint` policies see. */
export class EndpointRecord implements EndpointView {
  open = 0;
  pending = 0;
  consecutiveFailures = 0;
  /** Failed dials and deaths since start. */
  failures = 0;
  /** The handshake refusal (`WW_HANDSHAKE_REFUSED`) while the endpoint refuses us; set by the table only. */
  refused: unknown = undefined;
  /** The error of the last failed dial since the last success (for `health()`). */
  lastError: unknown = undefined;
  constructor(
    readonly endpoint: PoolEndpoint,
    readonly key: string,
  ) {}
}

export class SlotTable<C> {
  /** Live slots (not closing), in creation order. */
  readonly slots: Slot<C>[] = [];
  /** Idle slots, the most recently released on top. */
  readonly idle: Slot<C>[] = [];
  /** Closed by the core, not yet confirmed by the source. */
  readonly closing = new Set<Slot<C>>();
  readonly endpoints: readonly EndpointRecord[];
  readonly #byKey = new Map<string, EndpointRecord>();
  readonly #idPrefix: string;
  readonly #owner: LeaseOwner<C>;
  #nextId = 1;
  open = 0;
  leased = 0;
  pending = 0;
  /** Endpoints whose last handshake was refused for good. */
  refused = 0;

  constructor(endpoints: readonly PoolEndpoint[], idPrefix: string, owner: LeaseOwner<C>) {
    this.#owner = owner;
    this.endpoints = endpoints.map((e) => new EndpointRecord(e, endpointKey(e)));
    for (const rec of this.endpoints) this.#byKey.set(rec.key, rec);
    this.#idPrefix = idPrefix;
  }

  /** Ready + pending: what counts against `min` and `max`. */
  get size(): number {
    return this.open + this.pending;
  }

  record(slot: Slot<C>): EndpointRecord {
    return this.#byKey.get(slot.endpointKey)!;
  }

  /** A new pending slot on `endpoint` (chosen by the policy). */
  add(endpoint: EndpointView, now: number): Slot<C> {
    const rec = this.#byKey.get(endpoint.key)!;
    const slot = new Slot<C>(`${this.#idPrefix}${this.#nextId++}`, rec.endpoint, rec.key, this.#owner, now);
    this.slots.push(slot);
    this.pending++;
    rec.pending++;
    return slot;
  }

  /** pending → ready. The caller then makes it idle or leases it. */
  markReady(slot: Slot<C>, conn: C, now: number, lifetimeDeadline: number): void {
    const rec = this.record(slot);
    this.pending--;
    rec.pending--;
    this.open++;
    rec.open++;
    rec.consecutiveFailures = 0;
    rec.lastError = undefined;
    slot.conn = conn;
    slot.createdAt = slot.since = now;
    slot.dialFailures = 0;
    slot.lifetimeDeadline = lifetimeDeadline;
  }

  markDialFailed(slot: Slot<C>, error: unknown): void {
    const rec = this.record(slot);
    rec.lastError = error;
    slot.dialFailures++;
    rec.consecutiveFailures++;
    rec.failures++;
  }

  /**
   * Takes a ready slot out of the ready counts: off the idle stack, out of `leased`.
   * Its connection reference is dropped and its incarnation bumped, so late probe or
   * reset results for the old connection are ignored. Lease and waiter are the core's.
   */
  leaveReady(slot: Slot<C>): void {
    const rec = this.record(slot);
    if (slot.state === 'idle') {
      const i = this.idle.lastIndexOf(slot);
      if (i >= 0) this.idle.splice(i, 1);
    } else if (slot.state === 'leased') {
      this.leased--;
    }
    this.open--;
    rec.open--;
    slot.conn = undefined;
    slot.incarnation++;
  }

  /** A slot that left its ready state is pending again (being replaced). */
  markPending(slot: Slot<C>, now: number): void {
    const rec = this.record(slot);
    slot.state = 'pending';
    slot.since = now;
    this.pending++;
    rec.pending++;
  }

  /** Moves a pending slot to another endpoint (failover); its next dial goes there. */
  retarget(slot: Slot<C>, endpointKey: string): void {
    const from = this.record(slot);
    const to = this.#byKey.get(endpointKey)!;
    from.pending--;
    to.pending++;
    slot.endpoint = to.endpoint;
    slot.endpointKey = to.key;
  }

  /**
   * Removes a pending slot, or a ready one after `leaveReady`, from the pool. With
   * `awaitConfirmation` it is tracked until the source's `onClosed`.
   */
  remove(slot: Slot<C>, awaitConfirmation: boolean): void {
    if (slot.state === 'pending') {
      this.pending--;
      this.record(slot).pending--;
    }
    slot.state = 'closing';
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    if (awaitConfirmation) this.closing.add(slot);
  }

  gauges(max: number, min: number, waiting: number): PoolGauges {
    return { max, min, open: this.open, leased: this.leased, idle: this.idle.length, pending: this.pending, waiting };
  }

  endpointStats(): Record<string, EndpointStats> {
    const out: Record<string, EndpointStats> = {};
    for (const rec of this.endpoints) {
      out[rec.key] = { open: rec.open, leased: 0, idle: 0, pending: rec.pending, failures: rec.failures };
    }
    for (const slot of this.slots) {
      const e = out[slot.endpointKey]!;
      if (slot.state === 'leased') e.leased++;
      else if (slot.state === 'idle') e.idle++;
    }
    return out;
  }

  /** Marks the endpoint refused; true when it was not already. */
  markRefused(rec: EndpointRecord, error: unknown): boolean {
    const first = rec.refused === undefined;
    if (first) this.refused++;
    rec.refused = error;
    return first;
  }

  /** The endpoint accepted a handshake again; true when it had been refused. */
  clearRefused(rec: EndpointRecord): boolean {
    if (rec.refused === undefined) return false;
    rec.refused = undefined;
    this.refused--;
    return true;
  }

  /** Every endpoint refuses the handshake: no new connection until one accepts. */
  everyEndpointRefused(): boolean {
    return this.refused === this.endpoints.length;
  }

  /** Every endpoint's last dial failed: the pool cannot connect anywhere. */
  allFailing(): boolean {
    return this.endpoints.every((e) => e.consecutiveFailures > 0);
  }
}
