/**
 * The pool's core: leasing, the FIFO waiter queue, housekeeping and stats, driven by a
 * `ConnectionSource` (undici's pool-base idea: a small base that knows nothing about how
 * connections are made). Phase 2 puts the supervisor and the connection actor behind
 * the source; this file never sends an XState event.
 *
 * The fast path. `acquire()` with an idle connection and nobody queued pops the idle
 * stack, allocates one `Lease` and returns `Promise.resolve(lease)`: no timer, no
 * listener, no closure, no event. `release()` with nobody queued pushes the slot back.
 * Everything else (queueing, validation, reset, death) is the slow path.
 *
 * Idle connections form a LIFO stack: the most recently used connection is handed out
 * first, so a few hot connections carry a light load while the others stay at the
 * bottom, age past `idleTimeoutMs` and are closed. A FIFO would rotate through every
 * idle connection and keep all of them warm (and all of them due for validation).
 *
 * Waiters are served strictly in arrival order: a released or new connection goes to
 * the oldest waiter, and a new acquire never overtakes a queued one. Waiters that use
 * the default timeout share one alarm (their deadlines are in queue order); only a
 * per-call `timeoutMs` or a validation wait gets its own scheduler action.
 *
 * Growth: when an acquire queues and fewer slots are pending than waiters queue, the
 * core opens one more slot, up to `max` (ready + pending). It never reopens because a
 * dial failed: a pending slot stays pending while its source retries with backoff (see
 * connection-source.ts), which rules out generic-pool's endless create loop (#175).
 */
import { Subject, type Observable, type SchedulerLike } from 'rxjs';
import { abortedError, InvalidOptionError, PoolClosedError, PoolQueueFullError, PoolTimeoutError } from '../errors.js';
import { defaultScheduler, isScheduler } from '../scheduler.js';
import { checkAcquireOptions, type AcquireOptions } from './acquire-options.js';
import { Alarm } from './alarm.js';
import { weightedLeastConnections } from './choose-endpoint.js';
import type {
  ChooseEndpoint, ConnectionSource, ConnectionSourceFactory, PoolCloseReason, PoolKillReason, PoolSink,
} from './connection-source.js';
import { Housekeeper } from './housekeeper.js';
import { PoolClock } from './pool-clock.js';
import { Lease, type LeaseOwner } from './lease.js';
import { defaultPoolLogger, type PoolEvent, type PoolLogger } from './pool-events.js';
import { parsePoolOptions, type PoolOptions } from './pool-options.js';
import { describeGauges, PoolCounters, snapshotStats, type ClosedReason, type PoolStats } from './pool-stats.js';
import type { Slot } from './slot.js';
import { SlotTable } from './slot-table.js';
import type { Waiter } from './waiter-queue.js';
import { Waitlist } from './waitlist.js';

export interface PoolCoreConfig<C> {
  /** User options, validated here (`WW_INVALID_OPTION`). */
  readonly options: unknown;
  readonly source: ConnectionSourceFactory<C>;
  /** Default: the process's `asyncScheduler`. Tests pass a `VirtualTimeScheduler`. */
  readonly scheduler?: SchedulerLike;
  /** Uniform in [0, 1), for lifetime jitter. Default `Math.random`. */
  readonly random?: () => number;
  readonly chooseEndpoint?: ChooseEndpoint;
  /** Where leak warnings go besides `events$`. Default `process.emitWarning`. */
  readonly logger?: PoolLogger;
  /** Prefix of slot ids (`conn-1`, `conn-2`…). */
  readonly idPrefix?: string;
}

/** One row of `connections()`. */
export interface PoolConnectionInfo {
  readonly id: string;
  readonly endpoint: string;
  /** The connection actor's state when the source reports it; else `dialing` or `ready`. */
  readonly state: string;
  readonly leased: boolean;
  readonly rttMs?: number;
  /** Scheduler time the slot entered its current coarse state (dialing or ready). */
  readonly since: number;
}

const closedWhileWaiting = () => new PoolClosedError('acquire failed: the pool closed while waiting');

/**
 * Creates a pool core. Validates the options (`WW_INVALID_OPTION`); opens `min`
 * connections at once.
 *
 * @example
 * const core = createPoolCore({
 *   options: { endpoints: [{ host: '127.0.0.1', port: 7000 }], protocol, max: 10 },
 *   source: (sink) => mySource(sink),
 *   scheduler,
 * });
 * const lease = await core.acquire({ timeoutMs: 500 });
 * try { await lease.conn.request('ping'); } finally { lease.release(); }
 * await core.close();
 */
export function createPoolCore<C>(config: PoolCoreConfig<C>): PoolCore<C> {
  return new PoolCore(config);
}

export class PoolCore<C> {
  readonly options: PoolOptions;
  readonly #scheduler: SchedulerLike;
  readonly #clock: PoolClock;
  readonly #random: () => number;
  readonly #choose: ChooseEndpoint;
  readonly #logger: PoolLogger;
  readonly #source: ConnectionSource<C>;
  readonly #events = new Subject<PoolEvent>();
  readonly #counters = new PoolCounters();
  readonly #table: SlotTable<C>;
  readonly #waiters: Waitlist<C>;
  readonly #housekeeper: Housekeeper<C>;
  readonly #leakOn: boolean;
  readonly #validateOn: boolean;
  #lastDialError: unknown = undefined;
  #closing = false;
  #closePromise: Promise<void> | undefined = undefined;
  #closeDone: (() => void) | undefined = undefined;
  #closeAlarm: Alarm | undefined = undefined;
  readonly #leaseOwner: LeaseOwner<C> = {
    releaseLease: (_lease, slot) => this.#release(slot),
    destroyLease: (_lease, slot, reason) => this.#kill(slot, 'destroyed', 'destroyed', reason, 'was destroyed by its holder'),
  };

  /** Pool events (state changes only); completes when the pool has closed. */
  readonly events$: Observable<PoolEvent> = this.#events.asObservable();

  constructor(config: PoolCoreConfig<C>) {
    this.options = parsePoolOptions(config.options);
    if (config.scheduler !== undefined && !isScheduler(config.scheduler)) {
      throw new InvalidOptionError('pool scheduler must be a SchedulerLike, got an object');
    }
    const o = this.options;
    this.#scheduler = config.scheduler ?? defaultScheduler;
    this.#clock = new PoolClock(this.#scheduler);
    this.#random = config.random ?? Math.random;
    this.#choose = config.chooseEndpoint ?? weightedLeastConnections;
    this.#logger = config.logger ?? defaultPoolLogger;
    this.#leakOn = o.leakDetectionMs > 0;
    this.#validateOn = o.validateAfterIdleMs > 0;
    this.#table = new SlotTable<C>(o.endpoints, config.idPrefix ?? 'conn-', this.#leaseOwner);
    this.#waiters = new Waitlist<C>(this.#scheduler, this.#clock, this.#counters, o.acquireTimeoutMs, (w, now) => this.#timeoutError(w, now));
    this.#housekeeper = new Housekeeper(this.#scheduler, this.#clock, o, {
      slots: () => this.#table.slots,
      size: () => this.#table.size,
      retireIdle: (slot, reason) => this.#closeSlot(slot, reason, reason),
      reportLeak: (slot, ms) => this.#reportLeak(slot, ms),
      reclaimLeak: (slot, ms) => this.#kill(slot, 'leak-reclaimed', 'leaked', undefined,
        `was reclaimed after being leased for ${ms} ms (leakDetectionMs ${o.leakDetectionMs}, leakReclaimGraceMs ${o.leakReclaimGraceMs})`),
      fillMin: () => this.#grow(),
      tidy: () => this.#waiters.tidy(),
    });
    const sink: PoolSink<C> = {
      onReady: (slot, conn) => this.#onReady(slot, conn),
      onDialFailed: (slot, error) => this.#onDialFailed(slot, error),
      onDead: (slot, reason, error) => this.#onDead(slot, reason, error),
      onClosed: (slot, error) => this.#onClosed(slot, error),
    };
    this.#source = config.source(sink);
    this.#grow();
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closing;
  }

  /**
   * Leases a ready connection: at once when one is idle and nobody queues, else after
   * waiting in FIFO order for at most `timeoutMs` (default `acquireTimeoutMs`). Rejects
   * with `WW_POOL_TIMEOUT`, `WW_POOL_QUEUE_FULL`, `WW_POOL_CLOSED`, `WW_ABORTED` or
   * `WW_INVALID_OPTION`; never throws.
   */
  acquire(options?: AcquireOptions): Promise<Lease<C>> {
    if (this.#closing) return Promise.reject(new PoolClosedError('acquire refused: the pool is closed'));
    let timeoutMs = this.options.acquireTimeoutMs;
    let signal: AbortSignal | undefined;
    if (options !== undefined) {
      const invalid = checkAcquireOptions(options);
      if (invalid) return Promise.reject(invalid);
      if (options.timeoutMs !== undefined) timeoutMs = options.timeoutMs;
      signal = options.signal;
      if (signal?.aborted) return Promise.reject(abortedError(signal, 'acquire'));
    }
    // Leak detection captures a stack anyway; validation needs exact idle times.
    const stack = this.#leakOn ? new Error('connection acquired here') : undefined;
    if (this.#table.idle.length > 0 && this.#waiters.size === 0) {
      const now = this.#leakOn || this.#validateOn ? this.#clock.read() : this.#clock.now;
      const slot = this.#takeIdle(now);
      if (slot !== undefined) {
        if (this.#validateOn && now - slot.lastReleasedAt > this.options.validateAfterIdleMs) {
          const w = this.#waiters.startOutside(now, timeoutMs, signal, stack);
          this.#validate(slot, w);
          return w.promise;
        }
        return Promise.resolve(this.#grant(slot, now, stack));
      }
    }
    const max = this.options.maxWaiting;
    if (this.#waiters.size >= max) {
      return Promise.reject(new PoolQueueFullError(`acquire refused: ${this.#waiters.size} waiters already queue (maxWaiting ${max})`));
    }
    const w = this.#waiters.enqueue(timeoutMs, signal, stack);
    this.#grow();
    return w.promise;
  }

  /**
   * Runs `fn` with a leased connection and releases it afterwards, also when `fn`
   * throws; a connection that died meanwhile is not released twice.
   *
   * @example
   * const value = await core.use((conn) => conn.request({ op: 'get', key: 'k' }));
   */
  async use<R>(fn: (conn: C) => R | Promise<R>, options?: AcquireOptions): Promise<R> {
    const lease = await this.acquire(options);
    try {
      return await fn(lease.conn);
    } finally {
      lease.release();
    }
  }

  /** Go DBStats-like counters with a per-endpoint breakdown. */
  stats(): PoolStats {
    return snapshotStats(this.#gauges(), this.#counters, this.#table.endpointStats());
  }

  /** One row per live slot (closing ones excluded). */
  connections(): PoolConnectionInfo[] {
    return this.#table.slots.map((slot) => {
      const seen = this.#source.inspect?.(slot);
      const info: PoolConnectionInfo = {
        id: slot.id,
        endpoint: slot.endpointKey,
        state: seen?.state ?? (slot.state === 'pending' ? 'dialing' : 'ready'),
        leased: slot.state === 'leased',
        since: slot.since,
      };
      return seen?.rttMs === undefined ? info : { ...info, rttMs: seen.rttMs };
    });
  }

  /**
   * Rejects every waiter with `WW_POOL_CLOSED`, closes idle and pending connections,
   * waits for leases to come back (at most `closeTimeoutMs`, then closes their
   * connections without draining and their leases are lost) and leaves no timer
   * behind. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closePromise) return this.#closePromise;
    this.#closing = true;
    this.#closePromise = new Promise<void>((resolve) => {
      this.#closeDone = resolve;
    });
    this.#housekeeper.stop();
    this.#waiters.rejectAll(closedWhileWaiting);
    for (const slot of this.#table.slots.slice()) {
      if (slot.validatingFor !== undefined) this.#waiters.reject(slot.validatingFor, closedWhileWaiting());
      if (slot.state !== 'leased') this.#closeSlot(slot, 'shutdown', 'shutdown');
    }
    if (!this.#finishCloseIfDone()) {
      this.#closeAlarm = new Alarm(this.#scheduler, () => this.#forceClose());
      this.#closeAlarm.armAt(this.#clock.read() + this.options.closeTimeoutMs);
    }
    return this.#closePromise;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ── leasing ────────────────────────────────────────────────────────────────

  /** Pops the most recently used idle slot, retiring any past its lifetime. */
  #takeIdle(now: number): Slot<C> | undefined {
    const idle = this.#table.idle;
    let retired = false;
    for (let slot = idle.at(-1); slot !== undefined; slot = idle.at(-1)) {
      if (now < slot.lifetimeDeadline) {
        idle.pop();
        if (retired) this.#grow();
        return slot;
      }
      this.#closeSlot(slot, 'lifetime', 'lifetime');
      retired = true;
    }
    if (retired) this.#grow();
    return undefined;
  }

  /** Leases a ready slot that is in no sub-count yet (popped, probed, or fresh). */
  #grant(slot: Slot<C>, now: number, stack: Error | undefined): Lease<C> {
    slot.state = 'leased';
    slot.leasedAt = now;
    slot.leakReported = false;
    slot.acquireStack = stack;
    const lease = new Lease<C>(slot);
    slot.lease = lease;
    this.#table.leased++;
    this.#counters.acquired++;
    return lease;
  }

  #release(slot: Slot<C>): void {
    const now = this.#validateOn || slot.leakReported ? this.#clock.read() : this.#clock.now;
    if (slot.leakReported) this.#emit({ type: 'leak-returned', at: now, id: slot.id, endpoint: slot.endpointKey, leasedForMs: now - slot.leasedAt });
    if (this.#closing) {
      this.#closeSlot(slot, 'shutdown', 'shutdown');
      this.#finishCloseIfDone();
      return;
    }
    if (now >= slot.lifetimeDeadline) {
      this.#closeSlot(slot, 'lifetime', 'lifetime');
      this.#grow();
      return;
    }
    slot.lease = undefined;
    slot.acquireStack = undefined;
    this.#table.leased--;
    if (this.options.resetOnRelease) {
      slot.state = 'resetting';
      const incarnation = slot.incarnation;
      this.#call(() => this.#source.reset(slot)).then(
        () => this.#resetDone(slot, incarnation, true, undefined),
        (err: unknown) => this.#resetDone(slot, incarnation, false, err),
      );
    } else {
      this.#makeAvailable(slot, now);
    }
  }

  /** A ready slot in no sub-count: hand it to the oldest waiter, or make it idle. */
  #makeAvailable(slot: Slot<C>, now: number): void {
    slot.lastReleasedAt = now;
    const w = this.#waiters.first;
    if (w === undefined) {
      slot.state = 'idle';
      this.#table.idle.push(slot);
    } else {
      this.#waiters.grant(w, this.#grant(slot, now, w.acquireStack));
    }
  }

  #timeoutError(w: Waiter<C>, now: number): Error {
    const message = `acquire timed out after ${w.timeoutMs} ms (${describeGauges(this.#gauges())})`;
    this.#emit({ type: 'acquire-timeout', at: now, waitedMs: now - w.enqueuedAt, message });
    const cause = this.#table.allFailing() ? this.#lastDialError : undefined;
    return new PoolTimeoutError(message, cause === undefined ? undefined : { cause });
  }

  // ── validation and reset ───────────────────────────────────────────────────

  #validate(slot: Slot<C>, w: Waiter<C>): void {
    slot.state = 'probing';
    slot.validatingFor = w;
    const ac = new AbortController();
    slot.probeAbort = ac;
    const incarnation = slot.incarnation;
    this.#call(() => this.#source.probe(slot, ac.signal)).then(
      () => this.#probeDone(slot, incarnation, true, undefined),
      (err: unknown) => this.#probeDone(slot, incarnation, false, err),
    );
  }

  #probeDone(slot: Slot<C>, incarnation: number, ok: boolean, error: unknown): void {
    if (slot.state !== 'probing' || slot.incarnation !== incarnation) return;
    slot.probeAbort = undefined;
    if (!ok) {
      this.#kill(slot, 'validation-failed', 'validation', error, 'failed validation');
      return;
    }
    const now = this.#clock.read();
    const w = slot.validatingFor;
    slot.validatingFor = undefined;
    if (w !== undefined && !w.settled) {
      slot.lastReleasedAt = now;
      this.#waiters.grant(w, this.#grant(slot, now, w.acquireStack));
    } else {
      this.#makeAvailable(slot, now);
    }
  }

  /** A validating waiter lost its slot: try the next idle one, else wait at the head. */
  #retryWaiter(w: Waiter<C>): void {
    if (w.settled) return;
    if (this.#closing) {
      this.#waiters.reject(w, closedWhileWaiting());
      return;
    }
    const now = this.#clock.read();
    const slot = this.#takeIdle(now);
    if (slot === undefined) {
      this.#waiters.requeueFirst(w);
      this.#grow();
    } else if (this.#validateOn && now - slot.lastReleasedAt > this.options.validateAfterIdleMs) {
      this.#validate(slot, w);
    } else {
      this.#waiters.grant(w, this.#grant(slot, now, w.acquireStack));
    }
  }

  #resetDone(slot: Slot<C>, incarnation: number, ok: boolean, error: unknown): void {
    if (slot.state !== 'resetting' || slot.incarnation !== incarnation) return;
    const now = this.#clock.read();
    if (!ok) this.#kill(slot, 'reset-failed', 'reset-failed', error, 'failed its reset');
    else if (now >= slot.lifetimeDeadline) {
      this.#closeSlot(slot, 'lifetime', 'lifetime');
      this.#grow();
    } else this.#makeAvailable(slot, now);
  }

  /** Calls into the source; a synchronous throw becomes a rejection. */
  #call(fn: () => Promise<void>): Promise<void> {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err);
    }
  }

  // ── slots: growth, readiness, death, retirement ────────────────────────────

  /** Opens slots while waiters outnumber pending dials, or below `min`; never above `max`. */
  #grow(): void {
    const t = this.#table;
    const { max, min } = this.options;
    while (!this.#closing && t.size < max && (t.pending < this.#waiters.size || t.size < min)) {
      const slot = t.add(this.#choose(t.endpoints, this.#random), this.#clock.read());
      this.#housekeeper.start();
      this.#source.open(slot);
    }
  }

  #onReady(slot: Slot<C>, conn: C): void {
    if (slot.state !== 'pending') return;
    const now = this.#clock.read();
    const o = this.options;
    const deadline = o.maxLifetimeMs > 0
      ? now + o.maxLifetimeMs * (1 - o.lifetimeJitter * this.#random())
      : Number.POSITIVE_INFINITY;
    this.#table.markReady(slot, conn, now, deadline);
    this.#lastDialError = undefined;
    this.#emit({ type: 'connection-ready', at: now, id: slot.id, endpoint: slot.endpointKey });
    this.#makeAvailable(slot, now);
  }

  #onDialFailed(slot: Slot<C>, error: unknown): void {
    if (slot.state !== 'pending') return;
    this.#table.markDialFailed(slot);
    this.#lastDialError = error;
    this.#emit({
      type: 'dial-failed', at: this.#clock.read(), id: slot.id, endpoint: slot.endpointKey, attempt: slot.dialFailures, error,
    });
  }

  #onDead(slot: Slot<C>, reason: string, error: unknown): void {
    if (!slot.ready) return;
    this.#table.record(slot).failures++;
    if (this.#closing) this.#closeSlot(slot, 'shutdown-forced', 'dead', error, `died (${reason})`);
    else this.#toPending(slot, 'dead', error, `died (${reason})`);
  }

  #onClosed(slot: Slot<C>, error: unknown): void {
    if (slot.state === 'closing') {
      if (this.#table.closing.delete(slot)) this.#finishCloseIfDone();
      return;
    }
    // The source ended a live slot on its own: the peer closed it normally, or the
    // source gave up restarting it. Count it as dead; waiters or `min` reopen.
    if (!this.#table.slots.includes(slot)) return;
    if (error !== undefined && slot.state === 'pending') this.#lastDialError = error;
    this.#closeSlot(slot, undefined, 'dead', error, 'was closed');
    this.#grow();
    this.#finishCloseIfDone();
  }

  /** Kills a ready slot's connection; the source replaces it, so the slot is pending. */
  #kill(slot: Slot<C>, reason: PoolKillReason, closed: ClosedReason, error: unknown, lostWhy: string): void {
    if (this.#closing) {
      this.#closeSlot(slot, 'shutdown-forced', closed, error, lostWhy);
      this.#finishCloseIfDone();
      return;
    }
    this.#toPending(slot, closed, error, lostWhy);
    this.#source.kill(slot, reason, error);
  }

  #toPending(slot: Slot<C>, closed: ClosedReason, error: unknown, lostWhy: string): void {
    const validating = this.#leaveReady(slot, closed, error, lostWhy);
    this.#table.markPending(slot, this.#clock.read());
    if (validating !== undefined) this.#retryWaiter(validating);
  }

  /** Takes a slot out of the pool for good; asks the source to close it unless `reason` is undefined. */
  #closeSlot(slot: Slot<C>, reason: PoolCloseReason | undefined, closed: ClosedReason, error?: unknown, lostWhy = 'was closed'): void {
    const validating = slot.ready ? this.#leaveReady(slot, closed, error, lostWhy) : undefined;
    this.#table.remove(slot, reason !== undefined);
    if (reason !== undefined) this.#source.close(slot, reason);
    if (validating !== undefined) this.#retryWaiter(validating);
  }

  /** A ready slot loses its connection: counts, lease, probe, event. Returns its validating waiter. */
  #leaveReady(slot: Slot<C>, closed: ClosedReason, error: unknown, lostWhy: string): Waiter<C> | undefined {
    const now = this.#clock.read();
    const lease = slot.lease;
    this.#table.leaveReady(slot);
    slot.lease = undefined;
    slot.acquireStack = undefined;
    if (lease !== undefined && lease.active) {
      lease.markLost(`the connection ${lostWhy}`, error);
      this.#emit({ type: 'lease-lost', at: now, id: slot.id, endpoint: slot.endpointKey, reason: closed });
    }
    slot.probeAbort?.abort();
    slot.probeAbort = undefined;
    const validating = slot.validatingFor;
    slot.validatingFor = undefined;
    this.#counters.closed[closed]++;
    this.#emit({
      type: 'connection-closed', at: now, id: slot.id, endpoint: slot.endpointKey, reason: closed, ...(error === undefined ? {} : { error }),
    });
    return validating;
  }

  #reportLeak(slot: Slot<C>, leasedForMs: number): void {
    slot.leakReported = true;
    const stack = slot.acquireStack?.stack;
    this.#logger.warn(
      `connection ${slot.id} (${slot.endpointKey}) leased for ${leasedForMs} ms without release ` +
        `(leakDetectionMs ${this.options.leakDetectionMs}); acquired at:\n${stack ?? '(no stack)'}`,
    );
    this.#emit({ type: 'leak', at: this.#clock.read(), id: slot.id, endpoint: slot.endpointKey, leasedForMs, stack });
  }

  // ── close ──────────────────────────────────────────────────────────────────

  #forceClose(): void {
    const t = this.#table;
    // Escalate graceful closes still draining (OTP's brutal kill), then stop waiting.
    for (const slot of t.closing) this.#source.close(slot, 'shutdown-forced');
    t.closing.clear();
    const why = `was closed by the pool after closeTimeoutMs (${this.options.closeTimeoutMs})`;
    for (const slot of t.slots.slice()) this.#closeSlot(slot, 'shutdown-forced', 'shutdown', undefined, why);
    t.closing.clear();
    this.#finishCloseIfDone();
  }

  #finishCloseIfDone(): boolean {
    const t = this.#table;
    if (!this.#closing || t.slots.length > 0 || t.closing.size > 0) return false;
    const done = this.#closeDone;
    if (done === undefined) return true;
    this.#closeDone = undefined;
    this.#closeAlarm?.cancel();
    this.#events.complete();
    done();
    return true;
  }

  #emit(event: PoolEvent): void {
    if (this.#events.observed) this.#events.next(event);
  }

  #gauges() {
    return this.#table.gauges(this.options.max, this.options.min, this.#waiters.size);
  }
}
