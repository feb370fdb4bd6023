/**
 * Checks between two leases: validation before one (a probe, only for connections idle
 * longer than `validateAfterIdleMs`) and `resetOnRelease` after one. Both are a round
 * trip to the peer through the source, so both are asynchronous and must tolerate the
 * slot changing meanwhile: a result is applied only if the slot is still in the state
 * and incarnation it was checked in.
 *
 *   idle ──probe──▶ probing ──ok──▶ leased to the waiter (or idle, if it gave up)
 *                          ╰─fail─▶ killed ('validation'); the waiter tries the next
 *                                   idle connection, else waits at the head of the queue
 *   leased ──release──▶ resetting ──ok──▶ idle / next waiter
 *                                ╰─fail─▶ killed ('reset-failed')
 *
 * Why validation is opt-in and windowed: the connection actor already probes idle
 * connections on its heartbeat, so a probe on every acquire would mostly repeat it
 * (HikariCP's alive-bypass window and pgxpool's `ShouldPing` after 1 s idle make the
 * same call).
 */
import { PoolClosedError, PoolQueueFullError } from '../errors.js';
import type { ConnectionSource } from './connection-source.js';
import type { Lease } from './lease.js';
import type { PoolClock } from './pool-clock.js';
import type { PoolOptions } from './pool-options.js';
import type { Slot, SlotState } from './slot.js';
import type { SlotLifecycle } from './slot-lifecycle.js';
import type { Waiter } from './waiter-queue.js';
import type { Waitlist } from './waitlist.js';

/** What the checks need from the leasing side. */
export interface CheckHooks<C> {
  source(): ConnectionSource<C>;
  /** `SlotTable.move`: the only way a slot changes state. */
  move(slot: Slot<C>, to: SlotState, now: number): void;
  /** Leases a ready slot. */
  grant(slot: Slot<C>, now: number, stack: Error | undefined): Lease<C>;
  /** A ready slot done with its check: to the oldest waiter, or idle. */
  makeAvailable(slot: Slot<C>, now: number): void;
  /** The most recently used idle slot that may be leased (retiring expired ones); still idle. */
  takeIdle(now: number): Slot<C> | undefined;
  closing(): boolean;
}

export class SlotChecks<C> {
  readonly #options: PoolOptions;
  readonly #clock: PoolClock;
  readonly #waiters: Waitlist<C>;
  readonly #life: SlotLifecycle<C>;
  readonly #hooks: CheckHooks<C>;

  constructor(options: PoolOptions, clock: PoolClock, waiters: Waitlist<C>, life: SlotLifecycle<C>, hooks: CheckHooks<C>) {
    this.#options = options;
    this.#clock = clock;
    this.#waiters = waiters;
    this.#life = life;
    this.#hooks = hooks;
  }

  /** True when `slot` has been idle too long to lease without a probe. */
  stale(slot: Slot<C>, now: number): boolean {
    const v = this.#options.validateAfterIdleMs;
    return v > 0 && now - slot.lastReleasedAt > v;
  }

  /** Probes idle `slot` on behalf of waiter `w`. */
  validate(slot: Slot<C>, w: Waiter<C>): void {
    this.#hooks.move(slot, 'probing', this.#clock.now);
    slot.validatingFor = w;
    const ac = new AbortController();
    slot.checkAbort = ac;
    const incarnation = slot.incarnation;
    call(() => this.#hooks.source().probe(slot, ac.signal)).then(
      () => this.#probeDone(slot, incarnation, true, undefined),
      (err: unknown) => this.#probeDone(slot, incarnation, false, err),
    );
  }

  /** `resetOnRelease`: restore the session before anyone else gets it. */
  reset(slot: Slot<C>): void {
    this.#hooks.move(slot, 'resetting', this.#clock.now);
    const ac = new AbortController();
    slot.checkAbort = ac;
    const incarnation = slot.incarnation;
    call(() => this.#hooks.source().reset(slot, ac.signal)).then(
      () => this.#resetDone(slot, incarnation, true, undefined),
      (err: unknown) => this.#resetDone(slot, incarnation, false, err),
    );
  }

  /**
   * A validating waiter lost its slot: try the next idle one, else wait at the head of
   * the queue; `maxWaiting` still holds (a full queue fails it with `WW_POOL_QUEUE_FULL`).
   */
  retryWaiter(w: Waiter<C>): void {
    if (w.settled) return;
    if (this.#hooks.closing()) {
      this.#waiters.reject(w, new PoolClosedError('acquire failed: the pool closed while waiting'));
      return;
    }
    const now = this.#clock.read();
    const slot = this.#hooks.takeIdle(now);
    if (slot !== undefined) {
      if (this.stale(slot, now)) this.validate(slot, w);
      else this.#waiters.grant(w, this.#hooks.grant(slot, now, w.acquireStack));
      return;
    }
    const max = this.#options.maxWaiting;
    const queued = this.#waiters.size;
    if (queued >= max) {
      const msg = `acquire failed: its connection failed validation and ${queued} waiters already queue (maxWaiting ${max})`;
      this.#waiters.reject(w, new PoolQueueFullError(msg));
      return;
    }
    this.#waiters.requeueFirst(w);
    this.#life.grow();
  }

  #probeDone(slot: Slot<C>, incarnation: number, ok: boolean, error: unknown): void {
    if (slot.state !== 'probing' || slot.incarnation !== incarnation) return;
    slot.checkAbort = undefined;
    if (!ok) {
      this.#life.kill(slot, 'validation-failed', 'validation', error, 'failed validation');
      return;
    }
    const now = this.#clock.read();
    const w = slot.validatingFor;
    slot.validatingFor = undefined;
    slot.lastReleasedAt = now;
    if (w !== undefined && !w.settled) this.#waiters.grant(w, this.#hooks.grant(slot, now, w.acquireStack));
    else this.#hooks.makeAvailable(slot, now);
  }

  #resetDone(slot: Slot<C>, incarnation: number, ok: boolean, error: unknown): void {
    if (slot.state !== 'resetting' || slot.incarnation !== incarnation) return;
    slot.checkAbort = undefined;
    const now = this.#clock.read();
    if (!ok) {
      this.#life.kill(slot, 'reset-failed', 'reset-failed', error, 'failed its reset');
    } else if (now >= slot.lifetimeDeadline) {
      this.#life.closeSlot(slot, 'lifetime', 'lifetime');
      this.#life.grow();
    } else {
      this.#hooks.makeAvailable(slot, now);
    }
  }
}

/** Calls into the source; a synchronous throw becomes a rejection. */
function call(fn: () => Promise<void>): Promise<void> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err);
  }
}
