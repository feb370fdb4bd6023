/**
 * The pool's bookkeeping of slots: which exist, which are idle, and the counts that
 * `max`, `min`, growth and `stats()` read. The core decides *when* a slot changes state;
 * `move(slot, to)` is the only code that changes it, and it updates every count and
 * every piece of state that follows from the state in the same step:
 *
 *   from \ to   the counts and fields it keeps in step
 *   idle        on / off the idle stack (LIFO; the top is popped in O(1))
 *   leased      `leased`; leaving it drops the lease and its acquire stack
 *   shared      `shared`; entering it calls the protocol's `sharing.enter(session)`,
 *               leaving it for another ready state `sharing.leave(session)`, leaving
 *               it for good (death, close) drops its dispatches from `inFlight`; its
 *               `draining` mark goes with it
 *   probing,    `checking` (a validation probe or a reset in flight)
 *   resetting
 *   pending     `pending` and the endpoint's `pending`; entering it stamps `since`
 *   closing     out of `slots` and of every count (terminal)
 *   ready ⇄ not the endpoint's `open`; leaving the ready states drops the session and
 *               bumps the incarnation, so late probe or reset results are ignored
 *
 * Counts are maintained incrementally, never recomputed on the lease path:
 *   open     = idle + leased + shared + checking (slots in a ready state)
 *   pending  = slots in `pending`
 *   inFlight = Σ slot.inFlight = Σ endpoint.inFlight (beginDispatch / endDispatch)
 * Closing slots are out of every count (and of `slots`) at once, as Go's `numOpen` is
 * decremented when a close starts: a slot being drained does not hold a place under
 * `max`.
 */
import type { SessionSharing } from '../transport/types.js';
import type { EndpointView } from './connection-source.js';
import { EndpointRecord } from './endpoint-record.js';
import type { LeaseOwner } from './lease.js';
import { endpointKey, type PoolEndpoint } from './pool-options.js';
import type { EndpointStats, PoolGauges } from './pool-stats.js';
import { Slot, type SlotState, type SlotStream } from './slot.js';

export { EndpointRecord };

/** What the table needs besides the endpoints. */
export interface SlotTableOptions<C> {
  /** The protocol's `sharing`, whose `enter` and `leave` bracket each shared period. */
  readonly sharing?: SessionSharing<C> | undefined;
  /** τ of each endpoint's latency estimate (peak-ewma.ts). */
  readonly latencyDecayMs?: number;
  /** Where a throwing `sharing.enter`/`leave` is reported (the pool's logger). */
  readonly warn?: (message: string) => void;
}

export class SlotTable<C> {
  /** Live slots (not closing), in creation order. */
  readonly #slots: Slot<C>[] = [];
  /** Idle slots, the most recently released on top. */
  readonly #idle: Slot<C>[] = [];
  /** Closed by the core, not yet confirmed by the source. */
  readonly closing = new Set<Slot<C>>();
  /** The current endpoint set, in the pool's order (discovery replaces it: `setEndpoints`). */
  #endpoints: readonly EndpointRecord[];
  /** Current endpoints, and removed ones whose connections still drain. */
  readonly #byKey = new Map<string, EndpointRecord>();
  readonly #latencyDecayMs: number | undefined;
  readonly #idPrefix: string;
  readonly #owner: LeaseOwner<C>;
  #nextId = 1;
  #leased = 0;
  #pending = 0;
  /** Slots being validated or reset. */
  #checking = 0;
  #shared = 0;
  #inFlight = 0;
  #draining = 0;
  readonly #sharing: SessionSharing<C> | undefined;
  readonly #warn: (message: string) => void;
  /** Current endpoints whose last handshake was refused for good. */
  refused = 0;

  constructor(endpoints: readonly PoolEndpoint[], idPrefix: string, owner: LeaseOwner<C>, options: SlotTableOptions<C> = {}) {
    this.#owner = owner;
    this.#latencyDecayMs = options.latencyDecayMs;
    this.#endpoints = endpoints.map((e, i) => new EndpointRecord(e, endpointKey(e), i, options.latencyDecayMs));
    for (const rec of this.#endpoints) this.#byKey.set(rec.key, rec);
    this.#idPrefix = idPrefix;
    this.#sharing = options.sharing;
    this.#warn = options.warn ?? ((message) => process.emitWarning(message, 'WirewardenPoolWarning'));
  }

  /** Live slots (not closing), in creation order. Read-only: `add` and `move` change it. */
  get slots(): readonly Slot<C>[] {
    return this.#slots;
  }

  /** Idle slots, the most recently released on top. Read-only: `move` changes it. */
  get idle(): readonly Slot<C>[] {
    return this.#idle;
  }

  /** Slots in a ready state: idle, leased, shared, being validated or reset. */
  get open(): number {
    return this.#idle.length + this.#leased + this.#shared + this.#checking;
  }

  /** Slots carrying dispatches. */
  get shared(): number {
    return this.#shared;
  }

  /** Dispatches counted on shared slots (granted ones not started yet included). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Shared slots taking no new dispatch until they drain. */
  get draining(): number {
    return this.#draining;
  }

  get leased(): number {
    return this.#leased;
  }

  get pending(): number {
    return this.#pending;
  }

  /** Ready + pending: what counts against `min` and `max`. */
  get size(): number {
    return this.open + this.#pending;
  }

  record(slot: Slot<C>): EndpointRecord {
    return slot.site;
  }

  /** The current endpoint set, in the pool's order. Read-only: `setEndpoints` replaces it. */
  get endpoints(): readonly EndpointRecord[] {
    return this.#endpoints;
  }

  /**
   * Replaces the endpoint set (discovery, pool-discovery.ts). An endpoint that stays keeps
   * its record (counts, failures, latency; priority and weight updated); a new one gets a
   * fresh record; a removed one is marked `removed` and stays its slots' `site` until they
   * drain (re-adding it meanwhile revives the same record, so counts never split, and its
   * connections retired for the removal serve again). A removed record is forgotten once no
   * slot uses it (here, or when its last slot closes: `remove`), so an endpoint added again
   * later starts afresh. Draining the slots is the caller's.
   */
  setEndpoints(list: readonly PoolEndpoint[]): { readonly added: readonly string[]; readonly removed: readonly string[] } {
    const next: EndpointRecord[] = [];
    const added: string[] = [];
    const keys = new Set<string>();
    list.forEach((endpoint, i) => {
      const key = endpointKey(endpoint);
      keys.add(key);
      let rec = this.#byKey.get(key);
      if (rec === undefined) {
        rec = new EndpointRecord(endpoint, key, i, this.#latencyDecayMs);
        this.#byKey.set(key, rec);
        added.push(key);
      } else {
        if (rec.removed) {
          rec.removed = false;
          if (rec.refused !== undefined) this.refused++;
          added.push(key);
          this.#unretireRemoved(rec);
        }
        rec.endpoint = endpoint;
        rec.weight = endpoint.weight;
        rec.index = i;
      }
      next.push(rec);
    });
    const removed: string[] = [];
    for (const rec of this.#endpoints) {
      if (keys.has(rec.key)) continue;
      rec.removed = true;
      rec.index = -1;
      if (rec.refused !== undefined) this.refused--;
      removed.push(rec.key);
    }
    for (const [key, rec] of this.#byKey) {
      if (rec.removed && rec.open === 0 && rec.pending === 0) this.#byKey.delete(key);
    }
    this.#endpoints = next;
    return { added, removed };
  }

  /**
   * Marks a ready slot to leave at its next lifetime check instead of serving again: idle
   * at once, leased on release, shared when its dispatches settle (every path that checks
   * `lifetimeDeadline`). `why` becomes its close reason (SlotLifecycle.closeSlot).
   */
  retire(slot: Slot<C>, why: 'removed' | 'stale'): void {
    slot.retireReason = why;
    slot.lifetimeDeadline = Number.NEGATIVE_INFINITY;
  }

  /** `rec` is back in the set: its connections still draining for the removal stay. */
  #unretireRemoved(rec: EndpointRecord): void {
    for (const slot of this.#slots) {
      if (slot.site !== rec || slot.retireReason !== 'removed') continue;
      slot.retireReason = undefined;
      slot.lifetimeDeadline = slot.lifetimeEnd;
    }
  }

  /** A removed endpoint whose last slot left: forgotten (its stats, failures and latency with it). */
  #forgetIfDrained(rec: EndpointRecord): void {
    if (rec.removed && rec.open === 0 && rec.pending === 0 && this.#byKey.get(rec.key) === rec) this.#byKey.delete(rec.key);
  }

  /** A new pending slot on `endpoint` (chosen by the policy). */
  add(endpoint: EndpointView, now: number): Slot<C> {
    const rec = this.#byKey.get(endpoint.key)!;
    const slot = new Slot<C>(`${this.#idPrefix}${this.#nextId++}`, rec, this.#owner, now);
    this.#slots.push(slot);
    this.#pending++;
    rec.pending++;
    return slot;
  }

  /**
   * The pending slot's connection is ready: records it and its endpoint's success. The
   * slot stays `pending` until the caller moves it (idle, or leased to a waiter).
   */
  markReady(slot: Slot<C>, conn: C, now: number, lifetimeDeadline: number, stream?: SlotStream): void {
    const rec = this.record(slot);
    rec.consecutiveFailures = 0;
    rec.failingSince = Number.NaN;
    rec.lastError = undefined;
    slot.conn = conn;
    slot.stream = stream;
    slot.createdAt = now;
    slot.dialFailures = 0;
    slot.lifetimeDeadline = lifetimeDeadline;
    slot.lifetimeEnd = lifetimeDeadline;
  }

  markDialFailed(slot: Slot<C>, error: unknown, now: number): void {
    const rec = this.record(slot);
    rec.lastError = error;
    slot.dialFailures++;
    if (rec.consecutiveFailures === 0) rec.failingSince = now;
    rec.consecutiveFailures++;
    rec.failures++;
  }

  /**
   * Moves `slot` to state `to` and updates every count that depends on it (see the
   * table above). Moving to the state it is in does nothing; `closing` is terminal.
   * `now` stamps `since` when the slot becomes pending or ready.
   */
  move(slot: Slot<C>, to: SlotState, now: number): void {
    const from = slot.state;
    // The lease fast path (acquire and release of an idle connection) is kept small enough
    // for V8 to inline: the same updates as the general case, without walking it.
    if (from === 'idle' && to === 'leased') {
      const idle = this.#idle;
      if (idle[idle.length - 1] === slot) idle.pop();
      else this.#unstack(slot);
      (slot as { state: SlotState }).state = to;
      this.#leased++;
    } else if (from === 'leased' && to === 'idle') {
      this.#leased--;
      slot.lease = undefined;
      slot.acquireStack = undefined;
      (slot as { state: SlotState }).state = to;
      this.#idle.push(slot);
    } else if (from !== to && from !== 'closing') {
      this.#moveAny(slot, from, to, now);
    }
  }

  /** `move` for every other transition. */
  #moveAny(slot: Slot<C>, from: SlotState, to: SlotState, now: number): void {
    switch (from) {
      case 'idle':
        this.#unstack(slot);
        break;
      case 'leased':
        this.#leased--;
        slot.lease = undefined;
        slot.acquireStack = undefined;
        break;
      case 'shared':
        this.#shared--;
        if (slot.draining) {
          slot.draining = false;
          this.#draining--;
        }
        if (slot.inFlight > 0) {
          // Died or closed with dispatches running: they settle against a bumped incarnation.
          this.#inFlight -= slot.inFlight;
          slot.site.inFlight -= slot.inFlight;
          slot.inFlight = 0;
          slot.inTransit = 0;
        }
        break;
      case 'probing':
      case 'resetting':
        this.#checking--;
        break;
      case 'pending':
        this.#pending--;
        this.record(slot).pending--;
        break;
    }
    (slot as { state: SlotState }).state = to;
    switch (to) {
      case 'idle':
        this.#idle.push(slot);
        break;
      case 'leased':
        this.#leased++;
        break;
      case 'shared':
        this.#shared++;
        break;
      case 'probing':
      case 'resetting':
        this.#checking++;
        break;
      case 'pending':
        this.#pending++;
        this.record(slot).pending++;
        break;
      case 'closing': {
        const i = this.#slots.indexOf(slot);
        if (i >= 0) this.#slots.splice(i, 1);
        break;
      }
    }
    const wasOpen = from !== 'pending';
    const isOpen = to !== 'pending' && to !== 'closing';
    if (to === 'shared') this.#bracket(slot, true);
    else if (from === 'shared' && isOpen) this.#bracket(slot, false);
    if (wasOpen === isOpen) return;
    if (isOpen) {
      this.record(slot).open++;
      slot.since = now;
    } else {
      this.record(slot).open--;
      slot.conn = undefined;
      slot.stream = undefined;
      slot.incarnation++;
      if (to === 'pending') slot.since = now;
    }
  }

  /**
   * One more dispatch on a ready slot that may take it (idle or shared): the slot becomes
   * `shared` if it was not. `granted`: for a queued caller that starts later (`inTransit`).
   */
  beginDispatch(slot: Slot<C>, now: number, granted: boolean): void {
    if (slot.state !== 'shared') this.move(slot, 'shared', now);
    slot.inFlight++;
    if (granted) slot.inTransit++;
    slot.site.inFlight++;
    this.#inFlight++;
  }

  /**
   * A granted dispatch starts: false when its slot died (or closed) since the grant, which
   * took the grant with it. Grants on one slot are interchangeable, so the count stays
   * exact whichever caller claims one.
   */
  claimGranted(slot: Slot<C>): boolean {
    if (slot.state !== 'shared' || slot.inTransit === 0) return false;
    slot.inTransit--;
    return true;
  }

  /** A dispatch on a shared slot settled; returns the dispatches left on it. */
  endDispatch(slot: Slot<C>): number {
    slot.inFlight--;
    slot.site.inFlight--;
    this.#inFlight--;
    return slot.inFlight;
  }

  /** A shared slot takes no new dispatch; when drained it goes to an acquire (or retires). */
  markDraining(slot: Slot<C>): void {
    if (slot.state !== 'shared' || slot.draining) return;
    slot.draining = true;
    this.#draining++;
  }

  /**
   * True when `slot` may carry dispatches now: it already does, or its protocol lets the
   * session start a shared period (`sharing.canShare`: no command of its last holder in
   * flight, nothing to reset). `enter` is called only on such a session.
   */
  mayShare(slot: Slot<C>): boolean {
    if (slot.state === 'shared') return true;
    const sharing = this.#sharing;
    return sharing?.canShare === undefined || (slot.conn !== undefined && sharing.canShare(slot.conn) === true);
  }

  /** Takes dispatches again (a drained slot handed back to dispatches). */
  clearDraining(slot: Slot<C>): void {
    if (!slot.draining) return;
    slot.draining = false;
    this.#draining--;
  }

  /** `sharing.enter`/`leave` around a shared period; the protocol's code must not break the counts. */
  #bracket(slot: Slot<C>, entering: boolean): void {
    const sharing = this.#sharing;
    const fn = entering ? sharing?.enter : sharing?.leave;
    if (fn === undefined || slot.conn === undefined) return;
    try {
      fn.call(sharing, slot.conn);
    } catch (err) {
      this.#warn(`sharing.${entering ? 'enter' : 'leave'} of connection ${slot.id} threw: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Off the idle stack: the top (the usual case) in O(1). */
  #unstack(slot: Slot<C>): void {
    const idle = this.#idle;
    const last = idle.length - 1;
    if (idle[last] === slot) idle.pop();
    else {
      const i = idle.lastIndexOf(slot);
      if (i >= 0) idle.splice(i, 1);
    }
  }

  /** Moves a pending slot to another endpoint (failover); its next dial goes there. */
  retarget(slot: Slot<C>, endpointKey: string): void {
    const from = this.record(slot);
    const to = this.#byKey.get(endpointKey)!;
    from.pending--;
    to.pending++;
    slot.site = to;
    slot.endpoint = to.endpoint;
    slot.endpointKey = to.key;
  }

  /**
   * Takes a slot out of the pool (`closing`). With `awaitConfirmation` it is tracked
   * until the source's `onClosed`.
   */
  remove(slot: Slot<C>, awaitConfirmation: boolean, now: number): void {
    this.move(slot, 'closing', now);
    if (awaitConfirmation) this.closing.add(slot);
    this.#forgetIfDrained(slot.site);
  }

  gauges(max: number, min: number, waiting: number, dispatchWaiting: number): PoolGauges {
    return {
      max, min, open: this.open, leased: this.#leased, idle: this.#idle.length, pending: this.#pending, waiting,
      shared: this.#shared, inFlight: this.#inFlight, dispatchWaiting,
    };
  }

  /** Per endpoint; `latencyNowMs` (the latency clock) decays the dispatch latency estimates. */
  endpointStats(latencyNowMs: number): Record<string, EndpointStats> {
    const out: Record<string, EndpointStats> = {};
    const add = (rec: EndpointRecord): void => {
      const e: EndpointStats = { open: rec.open, leased: 0, idle: 0, shared: 0, pending: rec.pending, inFlight: rec.inFlight, failures: rec.failures };
      const latencyMs = rec.latency.estimateMs(latencyNowMs);
      if (latencyMs !== undefined) e.latencyMs = latencyMs;
      out[rec.key] = e;
    };
    for (const rec of this.#endpoints) add(rec);
    // Removed by discovery but still draining: listed until their last connection closes,
    // so that the per-endpoint figures still add up to the pool's.
    for (const rec of this.#byKey.values()) if (rec.removed && rec.open + rec.pending > 0) add(rec);
    for (const slot of this.#slots) {
      const e = out[slot.endpointKey];
      if (e === undefined) continue;
      if (slot.state === 'leased') e.leased++;
      else if (slot.state === 'idle') e.idle++;
      else if (slot.state === 'shared') e.shared++;
    }
    return out;
  }

  /** Marks the endpoint refused; true when it was not already. */
  markRefused(rec: EndpointRecord, error: unknown): boolean {
    const first = rec.refused === undefined;
    if (first && !rec.removed) this.refused++;
    rec.refused = error;
    return first;
  }

  /** The endpoint accepted a handshake again; true when it had been refused. */
  clearRefused(rec: EndpointRecord): boolean {
    if (rec.refused === undefined) return false;
    rec.refused = undefined;
    if (!rec.removed) this.refused--;
    return true;
  }

  /** Every endpoint refuses the handshake: no new connection until one accepts. */
  everyEndpointRefused(): boolean {
    return this.#endpoints.length > 0 && this.refused === this.#endpoints.length;
  }

  /** Every endpoint's last dial failed: the pool cannot connect anywhere. */
  allFailing(): boolean {
    return this.#endpoints.every((e) => e.consecutiveFailures > 0);
  }

  /**
   * Since when every endpoint's dials have been failing (the latest start of a streak), or
   * NaN when one connects, a connection is open, or there is no endpoint.
   */
  outageSince(): number {
    if (this.open > 0 || this.#endpoints.length === 0) return Number.NaN;
    let since = Number.NEGATIVE_INFINITY;
    for (const e of this.#endpoints) {
      if (e.consecutiveFailures === 0) return Number.NaN;
      if (e.failingSince > since) since = e.failingSince;
    }
    return since;
  }
}
