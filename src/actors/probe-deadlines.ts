/**
 * Probe timeouts shared across connections: one timer per (scheduler, timeout) instead of
 * one scheduled and cancelled per probe.
 *
 *   start ──add(owner) → slot──▶ ring for `timeoutMs` ──reply──▶ delete(slot, owner)  (a hole)
 *                                     └── due ──▶ owner.probeExpired()
 *
 * Why: at 10k idle connections every heartbeat scheduled a timer for its probe and
 * cancelled it a millisecond later when the PONG came — an RxJS action and a Node timer
 * created and torn down per heartbeat. Probe timeouts are whole milliseconds clamped to
 * `[minTimeoutMs, maxTimeoutMs]`, and on a healthy network most connections sit on the
 * same one (the floor), so a list per duration, in which insertion order is deadline
 * order, serves them all with one timer.
 *
 * It behaves like a timer: `add` returns a handle (the slot, a number: no object per
 * probe) that the caller keeps and hands back to `delete`; the list never writes into its
 * caller. The list is a ring of two parallel arrays (owner, deadline): add appends, delete
 * leaves a hole, expiry pops from the head. Nothing is allocated per probe — a Map here
 * churned its hash table on every add/delete. The timer is one scheduler action that
 * re-arms itself for the next live deadline: exact expiry (the same instants a timer per
 * probe gives, which virtual-time tests check), at most one fire per distinct deadline.
 *
 * Deadlines are on the monotonic clock (`preciseNow`), like the timers that fire them: a
 * wall-clock step (NTP) must neither hold every probe past its timeout nor expire them
 * all at once.
 *
 * Nothing lingers: deleting the last live entry drops the timer, so a stopped runtime
 * leaves no timer behind. Lists are per scheduler (a `WeakMap`), so a virtual-time test's
 * scheduler takes its lists with it; the process-wide scheduler keeps its lists, and idle
 * ones are pruned once there are many (every distinct timeout makes one: RTT-adaptive and
 * load-scaled timeouts, capped suspect probes).
 */
import type { SchedulerAction, SchedulerLike, Subscription } from 'rxjs';
import { preciseNow } from '../scheduler.js';
import { rethrowLater } from './rethrow-later.js';

/** What a probe deadline calls back. A throw is reported (`rethrowLater`), never passed to the timer. */
export interface ProbeOwner {
  probeExpired(): void;
}

/** Compact the arrays once this many expired slots sit before the head. */
const COMPACT_AFTER = 1024;

export class ProbeDeadlines {
  readonly timeoutMs: number;
  readonly #scheduler: SchedulerLike;
  #owners: (ProbeOwner | undefined)[] = [];
  #deadlines: number[] = [];
  /** Absolute slot number of index 0 (slots only grow; compaction shifts the base). */
  #base = 0;
  #head = 0;
  #live = 0;
  #timer: Subscription | undefined;
  #firing = false;

  constructor(scheduler: SchedulerLike, timeoutMs: number) {
    this.#scheduler = scheduler;
    this.timeoutMs = timeoutMs;
  }

  /** Probes waiting. */
  get size(): number {
    return this.#live;
  }

  /** True while the timer is scheduled. */
  get armed(): boolean {
    return this.#timer !== undefined;
  }

  /** Idle: nothing waits and no timer runs (safe to drop from the registry). */
  get idle(): boolean {
    return this.#live === 0 && this.#timer === undefined && !this.#firing;
  }

  /** Waits `timeoutMs` for `owner`; returns the handle `delete` takes. */
  add(owner: ProbeOwner): number {
    const deadline = preciseNow(this.#scheduler) + this.timeoutMs;
    const slot = this.#base + this.#owners.length;
    this.#owners.push(owner);
    this.#deadlines.push(deadline);
    this.#live++;
    // `closed`: a timer some scheduler dropped (never by a throw of ours, see expireDue) is re-made.
    if ((this.#timer === undefined || this.#timer.closed) && !this.#firing) this.#timer = this.#scheduler.schedule(fire, this.timeoutMs, this);
    return slot;
  }

  /**
   * The probe of `slot` settled: the slot becomes a hole; the last one drops the timer.
   * A handle that already expired (or belongs to someone else) is ignored.
   */
  delete(slot: number, owner: ProbeOwner): void {
    const i = slot - this.#base;
    if (i < this.#head || this.#owners[i] !== owner) return;
    this.#owners[i] = undefined;
    if (--this.#live === 0 && !this.#firing) {
      this.#timer?.unsubscribe();
      this.#timer = undefined;
      this.#reset();
    }
  }

  /**
   * @internal The timer fired: expire what is due, then re-arm for the next live deadline.
   * Each owner's call is isolated: a throw is rethrown in a macrotask of its own, so the
   * owners after it still expire and the timer stays the live one (a throw reaching RxJS
   * would unsubscribe this action right after it was re-armed, leaving `#timer` pointing
   * at a dead action and every later probe of this timeout without a deadline).
   */
  expireDue(action: SchedulerAction<ProbeDeadlines>): void {
    this.#firing = true;
    const now = preciseNow(this.#scheduler);
    const owners = this.#owners;
    const deadlines = this.#deadlines;
    while (this.#head < owners.length && (owners[this.#head] === undefined || deadlines[this.#head]! <= now)) {
      const owner = owners[this.#head];
      owners[this.#head] = undefined;
      this.#head++;
      if (owner !== undefined) {
        this.#live--;
        try {
          owner.probeExpired();
        } catch (err) {
          rethrowLater(err);
        }
      }
    }
    this.#firing = false;
    if (this.#live === 0) {
      this.#timer = undefined;
      this.#reset();
    } else {
      this.#compact();
      // Re-armed from inside: the same action, no new one per fire.
      this.#timer = action.schedule(this, Math.max(0, Math.ceil(this.#deadlines[this.#head]! - now)));
    }
  }

  #reset(): void {
    this.#base += this.#owners.length;
    this.#owners.length = 0;
    this.#deadlines.length = 0;
    this.#head = 0;
  }

  #compact(): void {
    if (this.#head < COMPACT_AFTER || this.#head * 2 < this.#owners.length) return;
    this.#owners.splice(0, this.#head);
    this.#deadlines.splice(0, this.#head);
    this.#base += this.#head;
    this.#head = 0;
  }
}

function fire(this: SchedulerAction<ProbeDeadlines>, list?: ProbeDeadlines): void {
  list?.expireDue(this);
}

/** Lists a scheduler keeps before idle ones are pruned. */
const PRUNE_FROM = 64;

interface Registry {
  readonly byTimeout: Map<number, ProbeDeadlines>;
  /** Prune when the map reaches this size (doubles past a prune that freed little: amortised O(1)). */
  pruneAt: number;
}

const registries = new WeakMap<SchedulerLike, Registry>();

/**
 * The shared deadline list for probes of `timeoutMs` on `scheduler`. Lists stay while in
 * use and idle ones are kept for reuse (a lone connection's probe would otherwise make a
 * list per heartbeat), until a scheduler holds `PRUNE_FROM` of them: then the idle ones
 * go. A dropped list is never referenced again (a caller holds a list only while its
 * probe waits in it, i.e. while it is not idle).
 */
export function probeDeadlines(scheduler: SchedulerLike, timeoutMs: number): ProbeDeadlines {
  let registry = registries.get(scheduler);
  if (registry === undefined) registries.set(scheduler, (registry = { byTimeout: new Map(), pruneAt: PRUNE_FROM }));
  const { byTimeout } = registry;
  let list = byTimeout.get(timeoutMs);
  if (list === undefined) {
    if (byTimeout.size >= registry.pruneAt) {
      for (const [ms, l] of byTimeout) if (l.idle) byTimeout.delete(ms);
      registry.pruneAt = Math.max(PRUNE_FROM, 2 * byTimeout.size);
    }
    byTimeout.set(timeoutMs, (list = new ProbeDeadlines(scheduler, timeoutMs)));
  }
  return list;
}

/** @internal How many deadline lists `scheduler` keeps (tests). */
export function deadlineListCount(scheduler: SchedulerLike): number {
  return registries.get(scheduler)?.byTimeout.size ?? 0;
}
