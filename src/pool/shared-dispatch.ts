/**
 * Shared dispatch (`pool.dispatch`): many callers on one connection at once, up to a
 * per-connection limit, for protocols that multiplex (the protocol's `sharing`). The
 * core (pool-core.ts) leases connections exclusively; this file places dispatches, queues
 * the ones that find no room, and hands a connection back to the core when its last
 * dispatch settles.
 *
 *   dispatch ─▶ pick (a connection with room) ─▶ run fn(conn, signal) ─▶ settle
 *                 │ none                                                 │ in flight 0
 *                 ▼                                                      ▼
 *               queue (FIFO; timeout, signal, maxWaiting as acquire)   drained: back to the
 *                 ▲ granted a place on a connection when one frees      core (idle, lease, retire)
 *
 * Picking (two levels, as balancer.ts advises): every endpoint with a connection that can
 * take one more dispatch is a candidate (`usable`, its dispatches in flight, its weight,
 * its latency estimate); the pool's balancer (`balance`, default p2c over peak-EWMA)
 * chooses the endpoint; within it the connection already shared with the fewest in
 * flight, else its most recently used idle one. So dispatches concentrate on connections
 * already shared and idle ones stay free for leases (and age out), while the balancer
 * spreads load over endpoints. Never picked: connections that are leased, being
 * validated or reset, suspect, past their lifetime, draining, at the limit, or on an
 * endpoint that refuses the handshake.
 *
 * Growth: a dispatch that fills a connection to its limit opens one more connection
 * when no idle one is left (one dial at a time, up to `max`), so a rising load gets its
 * next connection before anyone queues; queued dispatches count ⌈waiting ÷ limit⌉
 * towards the dials the pool keeps running, as each queued acquire counts one.
 *
 * Leases and dispatches in one pool: a connection is idle, leased or shared, never two
 * of them. A shared connection is not leased until it drains; a leased one takes no
 * dispatch. While acquires queue and the pool is at `max`, as many shared connections as
 * there are queued acquires stop taking new dispatches (`draining`, least loaded first)
 * and go to the oldest acquire when they drain: a stream of dispatches cannot starve an
 * acquire. Any other free connection goes to whichever queue's oldest caller came first.
 *
 * The hot path (a connection has room, nobody queues): one pass over the live slots,
 * the balancer's pick (skipped with one endpoint), an async function (its promise is the
 * caller's), and the counts (SlotTable.beginDispatch/endDispatch, the one owner of
 * `inFlight`). No XState event, no timer, no closure: `fn` travels as an argument to a
 * module-level runner. A queued dispatch allocates what a queued acquire does.
 *
 * Latency (settle − start, on the latency clock: performance.now, or the virtual
 * scheduler's) feeds each endpoint's peak-EWMA estimate when the balancer weighs it —
 * `p2c-peak-ewma` over several endpoints. Otherwise no clock is read: two reads cost
 * ~10 % of a dispatch here, for an estimate nothing would use.
 *
 * A connection that dies with dispatches in flight: its session fails them (the death's
 * `WW_CONNECTION_CLOSED`, retryable) and the table drops their counts with the slot
 * (they settle against a bumped incarnation and change nothing). A dispatch granted a
 * place on a connection that died before it started (or whose stream is already
 * destroyed) goes back to the head of the queue with its deadline (`#requeue`).
 */
import { abortedError, DispatchUnsupportedError, PoolClosedError, PoolQueueFullError } from '../errors.js';
import { checkAcquireOptions, type AcquireOptions } from './acquire-options.js';
import type { Balancer } from './balancer.js';
import type { PoolClock } from './pool-clock.js';
import type { DispatchCounters } from './pool-stats.js';
import type { Slot } from './slot.js';
import type { SlotTable } from './slot-table.js';
import type { Waitlist } from './waitlist.js';
import { NOT_PERMITTED, type EndpointGuards } from './endpoint-guards.js';

/**
 * Runs one dispatch on `conn`: a module-level function, so that the caller's `fn` (or a
 * command's arguments) travels as `arg` and no closure is made per call.
 */
export type DispatchRunner<C, A, R> = (conn: C, arg: A, signal: AbortSignal | undefined) => R | Promise<R>;

/** What shared dispatch needs from the core. */
export interface DispatchHooks<C> {
  closing(): boolean;
  /** The last dispatch on `slot` settled: retire, reset, or hand it on (lease, dispatches, idle). */
  drained(slot: Slot<C>): void;
  /** Opens connections for the queues (and `extra` more), up to `max`. */
  grow(extra: number): void;
  /** Queued acquires. */
  leaseWaiting(): number;
  /** Closes idle connections past their lifetime; true when any was. */
  retireExpiredIdle(): boolean;
  /** The error to fail at once with while every endpoint refuses the handshake, else undefined. */
  refused(): Error | undefined;
  /** A dispatch on `slot` (still the incarnation it ran on) failed with `error`: discovery hints (pool-discovery.ts). */
  callFailed?(slot: Slot<C>, error: unknown): void;
  /** `slot.dying`: its stream is destroyed, its death not reported yet; count it dead now. */
  dying(slot: Slot<C>): void;
}

export interface SharedDispatchDeps<C> {
  readonly table: SlotTable<C>;
  readonly clock: PoolClock;
  readonly waiters: Waitlist<C, Slot<C>>;
  readonly counters: DispatchCounters;
  readonly balancer: Balancer;
  /** Sub-millisecond clock for latency (performance.now, or the virtual scheduler's). */
  readonly latencyNow: () => number;
  /** Dispatches per connection. */
  readonly limit: number;
  readonly max: number;
  readonly maxWaiting: number;
  readonly acquireTimeoutMs: number;
  readonly hooks: DispatchHooks<C>;
  /** Endpoint health: which endpoints take a dispatch, and what each dispatch's outcome tells (endpoint-guards.ts). */
  readonly guards: EndpointGuards<C>;
}

export class SharedDispatch<C> {
  readonly limit: number;
  readonly #table: SlotTable<C>;
  readonly #clock: PoolClock;
  readonly #waiters: Waitlist<C, Slot<C>>;
  readonly #counters: DispatchCounters;
  readonly #balancer: Balancer;
  readonly #latencyNow: () => number;
  /** The balancer weighs latency (p2c over several endpoints): measure each dispatch. */
  #measure: boolean;
  readonly #max: number;
  readonly #maxWaiting: number;
  readonly #timeoutMs: number;
  readonly #hooks: DispatchHooks<C>;
  readonly #guards: EndpointGuards<C>;
  /** Dispatches at least this long are slow calls for the breaker (`Infinity` without one). */
  readonly #slowMs: number;
  /** A breaker or ejection is on: each dispatch carries a permit and its outcome is counted. */
  readonly #counting: boolean;
  /** Set while a pick falls back to standby endpoints (the active group has no room). */
  #standbyPick = false;
  /** The breaker permit of the dispatch the last pick placed. */
  #pickedPermit = NOT_PERMITTED;
  /** Per endpoint index: its best connection for this pick (scratch, reused). */
  readonly #best: (Slot<C> | undefined)[];
  /**
   * The latency clock read by the last pick: the start of the dispatch it placed. NaN when
   * not measured (one endpoint, or a balancer that does not weigh latency): such a dispatch
   * feeds no sample, even if measuring starts before it settles (discovery added endpoints).
   */
  #pickedAt = Number.NaN;

  constructor(deps: SharedDispatchDeps<C>) {
    this.limit = deps.limit;
    this.#table = deps.table;
    this.#clock = deps.clock;
    this.#waiters = deps.waiters;
    this.#counters = deps.counters;
    this.#balancer = deps.balancer;
    this.#latencyNow = deps.latencyNow;
    this.#measure = deps.balancer.strategy === 'p2c-peak-ewma' && deps.table.endpoints.length > 1;
    this.#max = deps.max;
    this.#maxWaiting = deps.maxWaiting;
    this.#timeoutMs = deps.acquireTimeoutMs;
    this.#hooks = deps.hooks;
    this.#guards = deps.guards;
    this.#slowMs = deps.guards.slowCallMs;
    this.#counting = deps.guards.counting;
    this.#best = new Array<Slot<C> | undefined>(deps.table.endpoints.length).fill(undefined);
  }

  /** Queued dispatches. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /** The oldest queued dispatch's arrival number (`Infinity`: none). */
  headTicket(): number {
    return this.#waiters.headTicket();
  }

  /** Rejects every queued dispatch (the pool closing, every endpoint refusing). */
  rejectAll(error: () => Error): void {
    this.#waiters.rejectAll(error);
  }

  /**
   * The endpoint set changed (discovery): the per-endpoint scratch grows with it, and
   * latency is measured only while the balancer can weigh it (p2c over several endpoints).
   */
  endpointsChanged(): void {
    const n = this.#table.endpoints.length;
    while (this.#best.length < n) this.#best.push(undefined);
    this.#measure = this.#balancer.strategy === 'p2c-peak-ewma' && n > 1;
  }

  /** Stops the queue's tick once nobody waits (housekeeping). */
  cancelTick(): void {
    this.#waiters.cancelTick();
  }

  /** Connections the queued dispatches need: one per `limit` of them. */
  demand(): number {
    const n = this.#waiters.size;
    return n === 0 ? 0 : Math.ceil(n / this.limit);
  }

  /**
   * Runs `run(conn, arg, signal)` on a connection with room, at once or after queueing.
   * Rejects like `acquire` (`WW_POOL_TIMEOUT`, `WW_POOL_QUEUE_FULL`, `WW_POOL_CLOSED`,
   * `WW_ABORTED`, `WW_ENDPOINT_REFUSED`, `WW_INVALID_OPTION`), else settles as `run` does.
   */
  dispatch<A, R>(run: DispatchRunner<C, A, R>, arg: A, options: AcquireOptions | undefined): Promise<R> {
    const hooks = this.#hooks;
    if (hooks.closing()) return Promise.reject(new PoolClosedError('dispatch refused: the pool is closed'));
    let timeoutMs = this.#timeoutMs;
    let signal: AbortSignal | undefined;
    if (options !== undefined) {
      const invalid = checkAcquireOptions(options, 'dispatch');
      if (invalid) return Promise.reject(invalid);
      if (options.timeoutMs !== undefined) timeoutMs = options.timeoutMs;
      signal = options.signal;
      if (signal?.aborted) return Promise.reject(abortedError(signal, 'dispatch'));
    }
    const q = this.#waiters;
    if (q.size === 0) {
      let slot = this.#pick();
      if (slot === undefined && hooks.retireExpiredIdle()) slot = this.#pick();
      if (slot !== undefined) return this.#start(slot, run, arg, signal);
    }
    const refused = hooks.refused();
    if (refused !== undefined) return Promise.reject(refused);
    const max = this.#maxWaiting;
    if (q.size >= max) {
      return Promise.reject(new PoolQueueFullError(`dispatch refused: ${q.size} dispatches already queue (maxWaiting ${max})`));
    }
    const granted = q.enqueue(timeoutMs, signal, undefined);
    // Its place and deadline, should its grant go with a dying connection (`#requeue`).
    const ticket = q.lastTicket;
    const queuedAt = this.#clock.now;
    hooks.grow(0);
    return this.#startGranted(granted, run, arg, signal, timeoutMs, ticket, queuedAt);
  }

  /**
   * Grants queued dispatches places on `slot` (idle, a lease just released, drained, new,
   * or shared with room), oldest first, up to the limit. The slot becomes `shared`.
   */
  serve(slot: Slot<C>): void {
    const q = this.#waiters;
    const t = this.#table;
    const now = this.#clock.now;
    while (q.size > 0 && slot.inFlight < this.limit) {
      t.beginDispatch(slot, now, true);
      this.#counters.dispatched++;
      q.grantFirst(slot);
    }
  }

  /**
   * While acquires queue and the pool cannot grow, keeps one shared connection draining
   * per queued acquire (least loaded first): it takes no new dispatch and goes to the
   * oldest acquire when its last dispatch settles.
   */
  reserveForLeases(): void {
    const t = this.#table;
    if (t.shared === 0 || t.size < this.#max) return;
    let want = this.#hooks.leaseWaiting() - t.draining;
    while (want > 0) {
      let least: Slot<C> | undefined;
      for (const slot of t.slots) {
        if (slot.state === 'shared' && !slot.draining && (least === undefined || slot.inFlight < least.inFlight)) least = slot;
      }
      if (least === undefined) return;
      t.markDraining(least);
      want--;
    }
  }

  /** True when a shared slot may take more dispatches (queued ones, as it frees room). */
  takes(slot: Slot<C>): boolean {
    return !slot.draining && !slot.suspect && slot.site.refused === undefined && slot.site.admit !== 2 && this.#clock.now < slot.lifetimeDeadline && !slot.dying;
  }

  #start<A, R>(slot: Slot<C>, run: DispatchRunner<C, A, R>, arg: A, signal: AbortSignal | undefined): Promise<R> {
    const t = this.#table;
    t.beginDispatch(slot, this.#clock.now, false);
    this.#counters.dispatched++;
    // It filled this connection: open the next one now, so that the callers beyond it
    // find room instead of a queue.
    if (slot.inFlight >= this.limit && t.idle.length === 0) this.#hooks.grow(1);
    return this.#counting
      ? this.#runCounted(slot, run, arg, signal, this.#pickedAt, this.#pickedPermit)
      : this.#runPlain(slot, run, arg, signal, this.#pickedAt);
  }

  async #startGranted<A, R>(
    granted: Promise<Slot<C>>, run: DispatchRunner<C, A, R>, arg: A, signal: AbortSignal | undefined,
    timeoutMs: number, ticket: number, queuedAt: number,
  ): Promise<R> {
    let slot = await granted;
    // The grant went with its connection, which died or closed since (or its stream was
    // destroyed: a request on it timed out): back in line, in its place, with its deadline.
    while (!this.#claim(slot)) slot = await this.#requeue(ticket, queuedAt, timeoutMs, signal);
    const startedAt = this.#measure ? this.#latencyNow() : Number.NaN;
    return this.#counting
      ? this.#runCounted(slot, run, arg, signal, startedAt, this.#guards.callPermit(slot.site))
      : this.#runPlain(slot, run, arg, signal, startedAt);
  }

  /**
   * A granted dispatch starts on `slot`: false when the grant went with the connection (it
   * died or closed since) or the connection is dying (its death is counted now, which
   * takes the grant). Such a grant was no dispatch: `dispatched` gives it back.
   */
  #claim(slot: Slot<C>): boolean {
    if (this.#table.claimGranted(slot)) {
      if (!slot.dying) return true;
      this.#hooks.dying(slot);
    }
    this.#counters.dispatched--;
    return false;
  }

  /**
   * Queues a dispatch whose grant was lost again: at the head (it was granted as the
   * oldest; callers restarted together may swap places), keeping its deadline, not counted
   * as a new wait. A connection with room serves it at once; else the next one that frees.
   */
  #requeue(ticket: number, queuedAt: number, timeoutMs: number, signal: AbortSignal | undefined): Promise<Slot<C>> {
    if (this.#hooks.closing()) return Promise.reject(new PoolClosedError('dispatch failed: the pool closed while waiting'));
    const granted = this.#waiters.resume(ticket, queuedAt, timeoutMs, signal);
    let slot = this.#pick();
    if (slot === undefined && this.#hooks.retireExpiredIdle()) slot = this.#pick();
    if (slot === undefined) {
      this.#hooks.grow(0);
    } else {
      // `serve` grants places without a permit (each is taken when it starts): the pick's goes back.
      if (this.#counting) this.#guards.release(slot.site, this.#pickedPermit);
      this.serve(slot);
    }
    return granted;
  }

  async #runPlain<A, R>(slot: Slot<C>, run: DispatchRunner<C, A, R>, arg: A, signal: AbortSignal | undefined, startedAt: number): Promise<R> {
    const incarnation = slot.incarnation;
    try {
      return await run(slot.conn as C, arg, signal);
    } catch (err) {
      if (slot.incarnation === incarnation) this.#hooks.callFailed?.(slot, err);
      throw err;
    } finally {
      this.#settled(slot, incarnation, startedAt);
    }
  }

  /** `#runPlain` with a breaker or ejection on: the dispatch's outcome and duration are recorded. */
  async #runCounted<A, R>(
    slot: Slot<C>, run: DispatchRunner<C, A, R>, arg: A, signal: AbortSignal | undefined, startedAt: number, permit: number,
  ): Promise<R> {
    const incarnation = slot.incarnation;
    const site = slot.site;
    const t0 = this.#clock.now;
    try {
      const value = await run(slot.conn as C, arg, signal);
      // A fast success on a healthy endpoint is one increment (counted in bulk: endpoint-guards.ts).
      const ms = this.#clock.now - t0;
      if (site.admit === 0 && permit === site.epoch && ms < this.#slowMs) site.successes++;
      else this.#guards.settle(site, permit, ms, undefined);
      return value;
    } catch (err) {
      if (slot.incarnation === incarnation) {
        this.#hooks.callFailed?.(slot, err);
        this.#guards.settle(site, permit, this.#clock.now - t0, err);
      } else {
        // Its connection died under it: the pool counts that death once, not once per call.
        this.#guards.release(site, permit);
      }
      throw err;
    } finally {
      this.#settled(slot, incarnation, startedAt);
    }
  }

  #settled(slot: Slot<C>, incarnation: number, startedAt: number): void {
    // Its connection died or closed meanwhile: the counts went with it.
    if (slot.incarnation !== incarnation) return;
    // Measured from its start only (NaN: it started while latency was not measured).
    if (this.#measure && startedAt === startedAt) {
      const now = this.#latencyNow();
      slot.site.latency.observe(now - startedAt, now);
    }
    if (this.#table.endDispatch(slot) > 0) {
      if (this.#waiters.size > 0 && this.takes(slot)) this.serve(slot);
      return;
    }
    this.#hooks.drained(slot);
  }

  /**
   * The connection for the next dispatch, or undefined: per endpoint its best usable
   * connection (shared with the fewest in flight, else the most recently used idle), then
   * the balancer's choice among the endpoints that have one.
   */
  #pick(): Slot<C> | undefined {
    const t = this.#table;
    const endpoints = t.endpoints;
    const best = this.#best;
    for (let i = 0; i < endpoints.length; i++) {
      endpoints[i]!.usable = false;
      best[i] = undefined;
    }
    const limit = this.limit;
    const now = this.#clock.now;
    const slots = t.slots;
    const guarded = this.#guards.guarded;
    let standby = false;
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i]!;
      const state = slot.state;
      if (state === 'shared') {
        if (slot.draining || slot.inFlight >= limit) continue;
      } else if (state !== 'idle') {
        continue;
      }
      if (slot.suspect || now >= slot.lifetimeDeadline || slot.dying) continue;
      // An idle session that may not start sharing now (its last holder's command in flight).
      if (state === 'idle' && !t.mayShare(slot)) continue;
      const site = slot.site;
      // Refused, or taking no call (breaker open, ejected: endpoint-guards.ts).
      if (site.refused !== undefined) continue;
      if (guarded && site.admit >= 2) {
        if (site.admit === 2) continue;
        // Standby (outside the active priority group): only when no other endpoint can take it.
        if (!this.#standbyPick) {
          standby = true;
          continue;
        }
      }
      const b = best[site.index];
      if (b === undefined || better(slot, b)) {
        best[site.index] = slot;
        site.usable = true;
      }
    }
    if (standby && !endpoints.some((e) => e.usable)) {
      this.#standbyPick = true;
      try {
        return this.#pick();
      } finally {
        this.#standbyPick = false;
      }
    }
    if (endpoints.length === 1) {
      const only = best[0];
      this.#pickedAt = Number.NaN;
      return only === undefined || !this.#counting ? only : this.#permitted(only);
    }
    const nowMs = this.#measure ? this.#latencyNow() : 0;
    this.#pickedAt = this.#measure ? nowMs : Number.NaN;
    for (;;) {
      const i = this.#balancer.pick(endpoints, nowMs);
      if (i < 0) return undefined;
      const slot = this.#permitted(best[i]!);
      if (slot !== undefined) return slot;
      endpoints[i]!.usable = false; // a half-open endpoint whose trials are all taken
    }
  }

  /** `slot` with the permit for a dispatch on its endpoint (`#pickedPermit`), or undefined when it takes none. */
  #permitted(slot: Slot<C>): Slot<C> | undefined {
    const site = slot.site;
    if (!this.#counting || site.admit === 0) {
      this.#pickedPermit = site.epoch;
      return slot;
    }
    const permit = this.#guards.callPermit(site);
    if (permit === NOT_PERMITTED) return undefined;
    this.#pickedPermit = permit;
    return slot;
  }
}

/** Within one endpoint: shared with fewer in flight, then shared before idle, then the hotter idle. */
function better<C>(a: Slot<C>, b: Slot<C>): boolean {
  const aShared = a.state === 'shared';
  if (aShared !== (b.state === 'shared')) return aShared;
  return aShared ? a.inFlight < b.inFlight : a.lastReleasedAt > b.lastReleasedAt;
}

/** `dispatch` on a pool whose protocol has no `sharing`. */
export function dispatchUnsupported(protocolName: unknown): DispatchUnsupportedError {
  const name = typeof protocolName === 'string' ? JSON.stringify(protocolName) : 'of this pool';
  return new DispatchUnsupportedError(
    `dispatch refused: protocol ${name} cannot share a connection (it has no sharing); lease one with pool.use() or pool.acquire()`,
  );
}
