/**
 * The slots' side of the pool: what happens when the source reports a connection ready,
 * a dial failed, a connection died or went away, and what the pool does to slots
 * (open, kill, close). Leasing and waiting live in pool-core.ts; the two meet through
 * `LifecycleHooks` (hand a ready slot out, re-route a waiter whose slot vanished).
 *
 *   open ─▶ pending ──onReady──▶ ready ──onDead / kill──▶ pending (the source replaces it)
 *                 ╰─onDialFailed (stays pending, maybe on another endpoint: failover;
 *                                 the source retries on its backoff)
 *   any ──closeSlot──▶ closing ──onClosed──▶ gone         onClosed on a live slot: gone
 *
 * Growth is demand-driven and bounded: a slot is opened only while queued waiters
 * outnumber pending dials, or below `min`, and never above `max`; a failed dial never
 * opens another slot (see connection-source.ts for why that rules out create loops).
 */
import { CircuitOpenError, EndpointRefusedError, hasCode } from '../errors.js';
import type {
  ChooseEndpoint, ConnectionSource, EndpointView, PoolCloseReason, PoolKillReason, PoolSink,
} from './connection-source.js';
import type { PoolClock } from './pool-clock.js';
import type { PoolEvent } from './pool-events.js';
import type { PoolOptions } from './pool-options.js';
import type { ClosedReason, PoolCounters } from './pool-stats.js';
import type { Slot, SlotStream } from './slot.js';
import type { SlotTable } from './slot-table.js';
import type { EndpointGuards } from './endpoint-guards.js';
import type { EndpointRecord } from './endpoint-record.js';
import type { Waiter } from './waiter-queue.js';

/** What the lifecycle needs from the leasing side. */
export interface LifecycleHooks<C> {
  /** A ready slot in no sub-count: lease it to the oldest waiter or make it idle. */
  makeAvailable(slot: Slot<C>, now: number): void;
  /** A waiter whose slot under validation went away. */
  retryWaiter(w: Waiter<C>): void;
  /** Connections the queues need: one per queued acquire, one per `limit` queued dispatches. */
  waiting(): number;
  closing(): boolean;
  /** A slot left while the pool closes: maybe the close is complete. */
  checkClosed(): void;
  /** Opening a slot: housekeeping must run. */
  started(): void;
  emit(event: PoolEvent): void;
  /** Every endpoint refuses the handshake: fail the queued acquires at once. */
  refuseWaiters(error: () => Error): void;
  /** Said once per refusal episode (the pool's logger). */
  warn(message: string): void;
}

export interface LifecycleDeps<C> {
  readonly options: PoolOptions;
  readonly clock: PoolClock;
  readonly table: SlotTable<C>;
  readonly counters: PoolCounters;
  readonly random: () => number;
  readonly choose: ChooseEndpoint;
  readonly hooks: LifecycleHooks<C>;
  /** Endpoint health: where dials go, and what dials and deaths tell the breakers (endpoint-guards.ts). */
  readonly guards: EndpointGuards<C>;
}

export class SlotLifecycle<C> implements PoolSink<C> {
  readonly #d: LifecycleDeps<C>;
  #source: ConnectionSource<C> | undefined = undefined;
  #lastDialError: unknown = undefined;
  #lastRefusedKey: string | undefined = undefined;

  constructor(deps: LifecycleDeps<C>) {
    this.#d = deps;
  }

  /** Set once, right after the source's factory ran (the factory needs the sink first). */
  attach(source: ConnectionSource<C>): void {
    this.#source = source;
  }

  /** The timeout's cause: the last dial error, when every endpoint is failing. */
  timeoutCause(): unknown {
    return this.#d.table.allFailing() ? this.#lastDialError : undefined;
  }

  /**
   * True when no connection is open and every endpoint's dials have been failing for at
   * least `acquireTimeoutMs`: an acquire would wait that long and time out anyway, so it
   * fails at once (`outageError`). Shorter blips — a server restart, a failover — are
   * ridden through: callers wait for the redial as before. This is the fail-fast that needs
   * no breaker (a breaker, when on, also opens on rates within its window).
   */
  outlasted(): boolean {
    const since = this.#d.table.outageSince();
    // NaN (a connection is open, or an endpoint connects) is the common case: no clock read.
    return since === since && this.#d.clock.read() - since >= this.#d.options.acquireTimeoutMs;
  }

  /** What an acquire (or a dispatch) fails with during such an outage; the last dial error is its cause. */
  outageError(what = 'acquire'): CircuitOpenError {
    const t = this.#d.table;
    const downMs = Math.round(this.#d.clock.now - t.outageSince());
    const last = this.#lastDialError;
    const why = last instanceof Error ? last.message : String(last);
    return new CircuitOpenError(
      `${what} failed at once: every endpoint has been unreachable for ${downMs} ms, longer than acquireTimeoutMs ` +
        `(${this.#d.options.acquireTimeoutMs} ms), and no connection is open (${t.endpoints.length} endpoint(s); last: ${why}); ` +
        'dials keep retrying with backoff',
      { cause: last },
    );
  }

  /**
   * Opens slots while the waiters need more than the pending dials (plus `extra`, for a
   * dispatch load that filled its connections), or below `min`; never above `max`.
   */
  grow(extra = 0): void {
    const { table: t, options, hooks } = this.#d;
    // Trial and scout dials (pinned) are no capacity the queues can count on.
    let pinned = 0;
    if (t.pending > 0) for (const s of t.slots) if (s.pinned) pinned++;
    // No endpoint yet (a discovery provider has not answered): nowhere to dial.
    while (!hooks.closing() && t.endpoints.length > 0 && t.size < options.max && (t.pending - pinned < hooks.waiting() + extra || t.size < options.min)) {
      // Only where a dial may go: the active priority group, no open breaker, not ejected.
      const pick = this.#d.guards.pickDial(this.#d.random);
      if (pick === undefined) return;
      const slot = t.add(pick.rec, this.#d.clock.read());
      slot.permit = pick.permit;
      hooks.started();
      this.#source!.open(slot);
    }
  }

  /**
   * One dial to `rec` beyond what the queues need, pinned to it (its failures are retried
   * there, on the backoff): a half-open breaker's trial, or a scout of a down endpoint in a
   * preferred group (endpoint-guards.ts). At `max`, with `evict`, the least recently used
   * idle connection makes room. False when there is no room.
   */
  openTrial(rec: EndpointRecord, permit: number, evict: boolean): boolean {
    const { table: t, options, hooks } = this.#d;
    if (hooks.closing()) return false;
    if (t.size >= options.max) {
      const victim = evict ? t.idle[0] : undefined;
      if (victim === undefined) return false;
      this.closeSlot(victim, 'idle', 'idle');
    }
    const slot = t.add(rec, this.#d.clock.read());
    slot.permit = permit;
    slot.pinned = true;
    hooks.started();
    this.#source!.open(slot);
    return true;
  }

  onReady(slot: Slot<C>, conn: C, stream?: SlotStream): void {
    if (slot.state !== 'pending') return;
    this.#d.guards.batch(() => this.#ready(slot, conn, stream));
  }

  #ready(slot: Slot<C>, conn: C, stream: SlotStream | undefined): void {
    const { clock, options: o } = this.#d;
    const now = clock.read();
    const deadline = o.maxLifetimeMs > 0
      ? now + o.maxLifetimeMs * (1 - o.lifetimeJitter * this.#d.random())
      : Number.POSITIVE_INFINITY;
    this.#d.table.markReady(slot, conn, now, deadline, stream);
    this.#lastDialError = undefined;
    const recovered = this.#d.table.clearRefused(this.#d.table.record(slot));
    this.#d.guards.dialSucceeded(slot.site, slot.permit);
    slot.permit = -1;
    slot.pinned = false;
    // Counted and placed (idle, or leased to the oldest waiter) before anyone hears of it.
    this.#d.hooks.makeAvailable(slot, now);
    if (recovered) this.#d.hooks.emit({ type: 'endpoint-recovered', at: now, endpoint: slot.endpointKey });
    this.#d.hooks.emit({ type: 'connection-ready', at: now, id: slot.id, endpoint: slot.endpointKey });
  }

  onDialFailed(slot: Slot<C>, error: unknown): void {
    if (slot.state !== 'pending') return;
    this.#d.guards.batch(() => this.#dialFailed(slot, error));
  }

  #dialFailed(slot: Slot<C>, error: unknown): void {
    const guards = this.#d.guards;
    guards.dialFailed(slot.site, slot.permit, error);
    slot.permit = -1;
    const at = this.#d.clock.read();
    this.#d.table.markDialFailed(slot, error, at);
    this.#lastDialError = error;
    this.#d.hooks.emit({ type: 'dial-failed', at, id: slot.id, endpoint: slot.endpointKey, attempt: slot.dialFailures, error });
    if (hasCode(error, 'WW_HANDSHAKE_REFUSED')) this.#refused(slot, error, at);
    if (this.#d.hooks.closing() || slot.state !== 'pending') return;
    if (!slot.pinned) this.#failover(slot, at);
    // The next attempt's permit, wherever it dials now (none: the slot is closed).
    guards.permitDial(slot);
  }

  /**
   * True while every endpoint refuses the handshake and no connection is open: acquires
   * fail at once (`refusedError`). An open connection (leased, soon released) still serves.
   */
  allRefused(): boolean {
    const t = this.#d.table;
    return t.open === 0 && t.everyEndpointRefused();
  }

  /** What an acquire (or a dispatch) fails with while every endpoint refuses; the last refusal is its cause. */
  refusedError(what = 'acquire'): EndpointRefusedError {
    const t = this.#d.table;
    const refusals = t.endpoints.map((e) => `${e.key}: ${e.refused instanceof Error ? e.refused.message : 'refused'}`).join('; ');
    const cause = t.endpoints.find((e) => e.key === this.#lastRefusedKey)?.refused ?? t.endpoints[0]?.refused;
    return new EndpointRefusedError(`${what} failed at once: every endpoint refused the handshake (${refusals})`, { cause });
  }

  /**
   * A permanent refusal (bad credentials, unsupported version): the endpoint is refused
   * until a handshake succeeds. The first refusal of an episode is logged once and
   * emitted; while every endpoint refuses, queued acquires fail now instead of after
   * `acquireTimeoutMs` (the connection itself retries at the backoff's slowest pace).
   */
  #refused(slot: Slot<C>, error: unknown, at: number): void {
    const { table: t, hooks } = this.#d;
    this.#lastRefusedKey = slot.endpointKey;
    if (t.markRefused(t.record(slot), error)) {
      hooks.emit({ type: 'endpoint-refused', at, endpoint: slot.endpointKey, error });
      hooks.warn(`endpoint ${slot.endpointKey} refused the handshake: ${error instanceof Error ? error.message : String(error)}; ` +
        'retrying at the backoff\'s slowest pace');
    }
    if (this.allRefused()) hooks.refuseWaiters(() => this.refusedError());
  }

  /**
   * Failover. A pending slot whose dial failed moves to the endpoint the policy now
   * prefers when that one is live; when every endpoint is failing, it moves to the next
   * endpoint in the list, so that its attempts cycle through all of them and whichever
   * recovers first is found (then the others follow it through the first rule). The
   * slot stays pending and its next attempt, after the source's backoff, dials there:
   * a move never opens anything, so it cannot become a create loop. Only endpoints that
   * take dials are considered (no open breaker, not ejected), the active priority group's
   * live ones first (EndpointGuards.retryTarget).
   */
  #failover(slot: Slot<C>, at: number): void {
    const t = this.#d.table;
    const from = t.record(slot);
    const to: EndpointView | undefined = this.#d.guards.retryTarget(from, this.#d.random);
    if (to === undefined || to.key === from.key) return;
    t.retarget(slot, to.key);
    this.#d.hooks.emit({ type: 'failover', at, id: slot.id, from: from.key, to: to.key });
    // A refusal paces the next dial at the slowest delay, meant for the refusing endpoint:
    // moved to one that does not refuse, the slot dials there now.
    if (from.refused !== undefined && t.record(slot).refused === undefined) this.#source!.redialNow?.(slot);
  }

  onDead(slot: Slot<C>, reason: string, error?: unknown): void {
    if (!slot.ready) return;
    this.#d.guards.batch(() => this.#dead(slot, reason, error));
  }

  #dead(slot: Slot<C>, reason: string, error: unknown): void {
    this.#d.table.record(slot).failures++;
    if (!this.#d.hooks.closing()) {
      // A death is a connection failure of its endpoint, and of the lease's call if leased.
      const permit = slot.state === 'leased' ? slot.permit : -1;
      slot.permit = -1;
      this.#d.guards.death(slot.site, permit, error);
    }
    if (this.#d.hooks.closing()) this.closeSlot(slot, 'shutdown-forced', 'dead', error, `died (${reason})`);
    else if (slot.retireReason !== undefined) this.#closeRetired(slot, 'lifetime', 'dead', error, `died (${reason})`);
    else this.#toPending(slot, 'dead', error, `died (${reason})`);
  }

  onClosed(slot: Slot<C>, error?: unknown): void {
    const { table, hooks } = this.#d;
    if (slot.state === 'closing') {
      if (table.closing.delete(slot)) hooks.checkClosed();
      return;
    }
    // The source ended a live slot on its own: the peer closed it normally, or the
    // source gave up restarting it. Count it as dead; waiters or `min` reopen.
    if (!table.slots.includes(slot)) return;
    if (error !== undefined && slot.state === 'pending') this.#lastDialError = error;
    this.closeSlot(slot, undefined, 'dead', error, 'was closed');
    this.grow();
    hooks.checkClosed();
  }

  /** Kills a ready slot's connection; the source replaces it, so the slot is pending. */
  kill(slot: Slot<C>, reason: PoolKillReason, closed: ClosedReason, error: unknown, lostWhy: string): void {
    this.#d.guards.batch(() => this.#kill(slot, reason, closed, error, lostWhy));
  }

  #kill(slot: Slot<C>, reason: PoolKillReason, closed: ClosedReason, error: unknown, lostWhy: string): void {
    if (this.#d.hooks.closing()) {
      this.closeSlot(slot, 'shutdown-forced', closed, error, lostWhy);
      this.#d.hooks.checkClosed();
      return;
    }
    if (slot.retireReason !== undefined) {
      this.#closeRetired(slot, 'shutdown-forced', closed, error, lostWhy);
      return;
    }
    this.#toPending(slot, closed, error, lostWhy);
    this.#source!.kill(slot, reason, error);
  }

  /**
   * A retired slot (its endpoint left the set, or it said READONLY) that dies or is killed
   * is not replaced in place, where its next dial would go to the old endpoint: it closes,
   * and `grow` opens what the pool still needs on the current set.
   */
  #closeRetired(slot: Slot<C>, reason: PoolCloseReason, closed: ClosedReason, error: unknown, lostWhy: string): void {
    this.closeSlot(slot, reason, closed, error, lostWhy);
    this.grow();
  }

  /** Takes a slot out of the pool for good; asks the source to close it unless `reason` is undefined. */
  closeSlot(slot: Slot<C>, reason: PoolCloseReason | undefined, closed: ClosedReason, error?: unknown, lostWhy = 'was closed'): void {
    // A retired slot leaves through the lifetime checks (SlotTable.retire): say why it really went.
    if (slot.retireReason !== undefined && (closed === 'lifetime' || closed === 'idle')) closed = slot.retireReason;
    const validating = this.#leave(slot, 'closing', reason !== undefined, closed, error, lostWhy);
    if (reason !== undefined) this.#source!.close(slot, reason);
    if (validating !== undefined) this.#d.hooks.retryWaiter(validating);
  }

  /** Escalates a close still draining (`shutdown-forced`), e.g. at the close deadline. */
  forceClose(slot: Slot<C>): void {
    this.#source!.close(slot, 'shutdown-forced');
  }

  #toPending(slot: Slot<C>, closed: ClosedReason, error: unknown, lostWhy: string): void {
    const validating = this.#leave(slot, 'pending', false, closed, error, lostWhy);
    // The source replaces it: that dial needs a permit (none: the slot is closed instead).
    this.#d.guards.permitDial(slot);
    if (validating !== undefined) this.#d.hooks.retryWaiter(validating);
  }

  /**
   * A slot leaves for `pending` (being replaced) or `closing` (for good): the table moves
   * it and updates the counts; a ready one then loses its lease and its check, and the
   * close is counted and emitted. Returns the waiter its validation was for.
   */
  #leave(slot: Slot<C>, to: 'pending' | 'closing', awaitConfirmation: boolean, closed: ClosedReason, error: unknown, lostWhy: string): Waiter<C> | undefined {
    const { clock, table, counters, hooks } = this.#d;
    // A call the slot still carried (a dial, a lease) ends without an outcome.
    if (slot.permit !== -1) {
      this.#d.guards.release(slot.site, slot.permit);
      slot.permit = -1;
    }
    const now = clock.read();
    const wasReady = slot.ready;
    const lease = slot.lease;
    if (to === 'closing') table.remove(slot, awaitConfirmation, now);
    else table.move(slot, 'pending', now);
    if (!wasReady) return undefined;
    if (lease !== undefined && lease.active) {
      lease.markLost(`the connection ${lostWhy}`, error);
      hooks.emit({ type: 'lease-lost', at: now, id: slot.id, endpoint: slot.endpointKey, reason: closed });
    }
    slot.checkAbort?.abort();
    slot.checkAbort = undefined;
    const validating = slot.validatingFor;
    slot.validatingFor = undefined;
    counters.closed[closed]++;
    hooks.emit({
      type: 'connection-closed', at: now, id: slot.id, endpoint: slot.endpointKey, reason: closed, ...(error === undefined ? {} : { error }),
    });
    return validating;
  }
}
