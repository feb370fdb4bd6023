/**
 * The pool's core: leasing, the FIFO waiter queue, housekeeping and stats, driven by a
 * `ConnectionSource` (undici's pool-base idea: a small base that knows nothing about how
 * connections are made). `rt.createPool` puts the supervisor and the connection actor
 * behind the source (supervisor-source.ts); this file never sends an XState event.
 *
 * The fast path. `acquire()` with an idle connection and nobody queued pops the idle
 * stack, allocates one `Lease` and returns `Promise.resolve(lease)`: no timer, no
 * listener, no closure, no event, no clock read (pool-clock.ts). `release()` pushes the
 * slot back, or hands it straight to the oldest waiter. Queueing without a signal or a
 * per-call timeout allocates no waiter object and no timer either (waitlist.ts).
 * Validation, reset, leak detection and deaths take slower paths.
 *
 * Idle connections form a LIFO stack: the most recently used connection is handed out
 * first, so a few hot connections carry a light load while the others stay at the
 * bottom, age past `idleTimeoutMs` and are closed. A FIFO would rotate through every
 * idle connection and keep all of them warm (and all of them due for validation).
 *
 * Waiters are served strictly in arrival order: a released or new connection goes to
 * the oldest waiter, and a new acquire never overtakes a queued one. Plain waiters
 * share one periodic tick for their timeouts; a signal, a per-call `timeoutMs`, a leak
 * stack or a validation wait gets a waiter object with its own scheduler action.
 *
 * Growth: when an acquire queues and fewer slots are pending than waiters queue, the
 * core opens one more slot, up to `max` (ready + pending). It never reopens because a
 * dial failed: a pending slot stays pending while its source retries with backoff (see
 * connection-source.ts), which rules out generic-pool's endless create loop (#175).
 */
import { setMaxListeners } from 'node:events';
import { Subject, type Observable, type SchedulerLike } from 'rxjs';
import { abortedError, InvalidOptionError, PoolClosedError, PoolQueueFullError } from '../errors.js';
import { defaultScheduler, isScheduler } from '../scheduler.js';
import { checkAcquireOptions, type AcquireOptions } from './acquire-options.js';
import { Alarm } from './alarm.js';
import { weightedLeastConnections } from './choose-endpoint.js';
import type { ChooseEndpoint, ConnectionSource, ConnectionSourceFactory, PoolSink } from './connection-source.js';
import { Housekeeper } from './housekeeper.js';
import { PoolClock } from './pool-clock.js';
import { Lease, type LeaseOwner } from './lease.js';
import { defaultPoolLogger, type PoolEvent, type PoolLogger } from './pool-events.js';
import { parsePoolOptions, type PoolOptions } from './pool-options.js';
import { describeGauges, PoolCounters, snapshotStats, type PoolStats } from './pool-stats.js';
import { poolHealth, type PoolHealth } from './pool-health.js';
import type { Slot } from './slot.js';
import { SlotChecks } from './slot-checks.js';
import { SlotLifecycle } from './slot-lifecycle.js';
import { SlotTable } from './slot-table.js';
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
  /** Where leak warnings go besides `events$`; overrides `options.logger`. Default `process.emitWarning`. */
  readonly logger?: PoolLogger;
  /** Prefix of slot ids (`conn-1`, `conn-2`…). */
  readonly idPrefix?: string;
  /** Told the wait of every queued acquire that got a connection (metrics, src/observe); never the fast path. */
  readonly onWaited?: (waitedMs: number) => void;
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

/**
 * What `use` hands `fn` when the caller passed no signal: one shared signal that never
 * aborts (an `AbortController` costs ~3 µs here, more than the lease itself). Requests
 * remove their listeners when they settle; the cap is lifted so that many concurrent
 * ones do not trip Node's leak warning.
 */
const NEVER_ABORTED = new AbortController().signal;
setMaxListeners(0, NEVER_ABORTED);

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
  readonly #logger: PoolLogger;
  readonly #source: ConnectionSource<C>;
  readonly #life: SlotLifecycle<C>;
  readonly #checks: SlotChecks<C>;
  readonly #events = new Subject<PoolEvent>();
  readonly #counters = new PoolCounters();
  readonly #table: SlotTable<C>;
  readonly #waiters: Waitlist<C>;
  readonly #housekeeper: Housekeeper<C>;
  readonly #leakOn: boolean;
  readonly #validateOn: boolean;
  /** Release needs more than a hand-off: exact times (validation, leaks), a reset, or the pool is closing. */
  #slowRelease: boolean;
  /** The source's check for a session its next holder must not inherit (inside MULTI…), if it has one. */
  #needsReset: ((slot: Slot<C>) => boolean) | undefined;
  #closing = false;
  #closePromise: Promise<void> | undefined = undefined;
  #closeDone: (() => void) | undefined = undefined;
  #closeAlarm: Alarm | undefined = undefined;
  readonly #leaseOwner: LeaseOwner<C> = {
    releaseLease: (_lease, slot) => this.#release(slot),
    destroyLease: (_lease, slot, reason) => this.#life.kill(slot, 'destroyed', 'destroyed', reason, 'was destroyed by its holder'),
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
    this.#logger = config.logger ?? o.logger ?? defaultPoolLogger;
    this.#leakOn = o.leakDetectionMs > 0;
    this.#validateOn = o.validateAfterIdleMs > 0;
    this.#slowRelease = this.#validateOn || this.#leakOn || o.resetOnRelease;
    this.#table = new SlotTable<C>(o.endpoints, config.idPrefix ?? 'conn-', this.#leaseOwner);
    this.#waiters = new Waitlist<C>(this.#scheduler, this.#clock, this.#counters, o.acquireTimeoutMs, {
      describeState: () => describeGauges(this.#gauges()),
      timeoutCause: () => this.#life.timeoutCause(),
      onTimedOut: (message, waitedMs, now) => this.#emit({ type: 'acquire-timeout', at: now, waitedMs, message }),
      ...(config.onWaited === undefined ? {} : { onGranted: config.onWaited }),
    });
    this.#housekeeper = new Housekeeper(this.#scheduler, this.#clock, o, {
      slots: () => this.#table.slots,
      size: () => this.#table.size,
      retireIdle: (slot, reason) => this.#life.closeSlot(slot, reason, reason),
      reportLeak: (slot, ms) => this.#reportLeak(slot, ms),
      reclaimLeak: (slot, ms) => this.#life.kill(slot, 'leak-reclaimed', 'leaked', undefined,
        `was reclaimed after being leased for ${ms} ms (leakDetectionMs ${o.leakDetectionMs}, leakReclaimGraceMs ${o.leakReclaimGraceMs})`),
      fillMin: () => this.#life.grow(),
      tidy: () => this.#waiters.cancelTick(),
    });
    this.#life = new SlotLifecycle<C>({
      options: o,
      clock: this.#clock,
      table: this.#table,
      counters: this.#counters,
      random: config.random ?? Math.random,
      choose: config.chooseEndpoint ?? weightedLeastConnections,
      hooks: {
        makeAvailable: (slot, now) => this.#makeAvailable(slot, now),
        retryWaiter: (w) => this.#checks.retryWaiter(w),
        waiting: () => this.#waiters.size,
        closing: () => this.#closing,
        checkClosed: () => this.#finishCloseIfDone(),
        started: () => this.#housekeeper.start(),
        emit: (event) => this.#emit(event),
        refuseWaiters: (error) => this.#waiters.rejectAll(error),
        warn: (message) => this.#logger.warn(message),
      },
    });
    this.#checks = new SlotChecks<C>(o, this.#clock, this.#waiters, this.#life, {
      source: () => this.#source,
      move: (slot, to, now) => this.#table.move(slot, to, now),
      grant: (slot, now, stack) => this.#grant(slot, now, stack),
      makeAvailable: (slot, now) => this.#makeAvailable(slot, now),
      takeIdle: (now) => this.#takeIdle(now),
      closing: () => this.#closing,
    });
    const life = this.#life;
    const sink: PoolSink<C> = {
      onReady: (slot, conn) => life.onReady(slot, conn),
      onDialFailed: (slot, error) => life.onDialFailed(slot, error),
      onDead: (slot, reason, error) => life.onDead(slot, reason, error),
      onClosed: (slot, error) => life.onClosed(slot, error),
      onRecovered: (slot) => this.#serveRecovered(slot),
    };
    this.#source = config.source(sink);
    this.#needsReset = this.#source.needsReset?.bind(this.#source);
    life.attach(this.#source);
    life.grow();
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closing;
  }

  /**
   * Leases a ready connection: at once when one is idle and nobody queues, else after
   * waiting in FIFO order for at most `timeoutMs` (default `acquireTimeoutMs`). Rejects
   * with `WW_POOL_TIMEOUT`, `WW_POOL_QUEUE_FULL`, `WW_POOL_CLOSED`, `WW_ABORTED`,
   * `WW_ENDPOINT_REFUSED` (at once, while every endpoint refuses the handshake and no
   * connection is open) or `WW_INVALID_OPTION`; never throws.
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
        if (this.#validateOn && this.#checks.stale(slot, now)) {
          const w = this.#waiters.startOutside(now, timeoutMs, signal, stack);
          this.#checks.validate(slot, w);
          return w.promise;
        }
        return Promise.resolve(this.#grant(slot, now, stack));
      }
    }
    // Every endpoint refuses the handshake (bad credentials…): waiting cannot help.
    if (this.#life.allRefused()) return Promise.reject(this.#life.refusedError());
    const max = this.options.maxWaiting;
    if (this.#waiters.size >= max) {
      return Promise.reject(new PoolQueueFullError(`acquire refused: ${this.#waiters.size} waiters already queue (maxWaiting ${max})`));
    }
    const promise = this.#waiters.enqueue(timeoutMs, signal, stack);
    if (this.#table.size < this.options.max) this.#life.grow();
    return promise;
  }

  /**
   * Runs `fn` with a leased connection and releases it afterwards, also when `fn`
   * throws; a connection that died meanwhile is not released twice. `fn` gets the
   * caller's `signal` (or one that never aborts), to hand on to its requests.
   *
   * @example
   * const value = await core.use((conn, signal) => conn.request({ op: 'get', key: 'k' }, { signal }));
   */
  async use<R>(fn: (conn: C, signal: AbortSignal) => R | Promise<R>, options?: AcquireOptions): Promise<R> {
    const lease = await this.acquire(options);
    try {
      return await fn(lease.conn, options?.signal ?? NEVER_ABORTED);
    } finally {
      lease.release();
    }
  }

  /** Go DBStats-like counters with a per-endpoint breakdown. */
  stats(): PoolStats {
    return snapshotStats(this.#gauges(), this.#counters, this.#table.endpointStats());
  }

  /** Can the pool serve now, and why not: a pure snapshot of its counts and endpoints (pool-health.ts). */
  health(): PoolHealth {
    const g = this.#gauges();
    return poolHealth({ ...g, closed: this.#closing, maxWaiting: this.options.maxWaiting, endpoints: this.#table.endpoints });
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
    this.#slowRelease = true;
    this.#closePromise = new Promise<void>((resolve) => {
      this.#closeDone = resolve;
    });
    this.#housekeeper.stop();
    this.#waiters.rejectAll(closedWhileWaiting);
    for (const slot of this.#table.slots.slice()) {
      if (slot.validatingFor !== undefined) this.#waiters.reject(slot.validatingFor, closedWhileWaiting());
      if (slot.state !== 'leased') this.#life.closeSlot(slot, 'shutdown', 'shutdown');
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

  /**
   * The most recently used idle slot that may be leased, retiring any past its lifetime
   * on the way. It stays on the idle stack (on top, unless a suspect one is above it)
   * until the caller moves it (leased, or probing).
   */
  #takeIdle(now: number): Slot<C> | undefined {
    const idle = this.#table.idle;
    let retired = false;
    for (let slot = idle.at(-1); slot !== undefined; slot = idle.at(-1)) {
      if (slot.suspect) {
        const usable = this.#takeIdleBelowSuspect(now);
        if (retired) this.#life.grow();
        return usable;
      }
      if (now < slot.lifetimeDeadline) {
        if (retired) this.#life.grow();
        return slot;
      }
      this.#life.closeSlot(slot, 'lifetime', 'lifetime');
      retired = true;
    }
    if (retired) this.#life.grow();
    return undefined;
  }

  /**
   * Only `ready` connections are leased: a suspect one (probe timed out, verification in
   * progress) stays idle but is passed over. Rare, so the scan stays off the fast path.
   */
  #takeIdleBelowSuspect(now: number): Slot<C> | undefined {
    const idle = this.#table.idle;
    for (let i = idle.length - 1; i >= 0; i--) {
      const slot = idle[i]!;
      if (slot.suspect || now >= slot.lifetimeDeadline) continue;
      return slot;
    }
    return undefined;
  }

  /** An idle slot that was passed over while suspect is ready again: serve a waiter with it. */
  #serveRecovered(slot: Slot<C>): void {
    if (slot.state !== 'idle' || slot.suspect || this.#waiters.size === 0) return;
    this.#makeAvailable(slot, this.#clock.read());
  }

  /**
   * Leases a ready slot (idle, probed, fresh, or handed from its last holder to the next
   * one, when it is already `leased`): a new `Lease` per holder.
   */
  #grant(slot: Slot<C>, now: number, stack: Error | undefined): Lease<C> {
    this.#table.move(slot, 'leased', now);
    slot.leasedAt = now;
    slot.leakReported = false;
    slot.acquireStack = stack;
    const lease = new Lease<C>(slot);
    slot.lease = lease;
    this.#counters.acquired++;
    return lease;
  }

  /**
   * The one release path. Without leak detection, validation, reset or a closing pool it
   * reads no clock (the coarse time) and the slot goes straight to the oldest waiter or
   * onto the idle stack. Otherwise it reads the exact time, reports a returned leak, and
   * a closing pool closes the connection. A connection past its lifetime is retired. A
   * `dirty` session (released inside MULTI, WATCHing, subscribed…) is reset before anyone
   * else gets it, with or without `resetOnRelease`; a source that cannot reset it fails
   * the reset, which retires the connection.
   */
  #release(slot: Slot<C>): void {
    const dirty = this.#needsReset?.(slot) === true;
    let now = this.#clock.now;
    let reset = false;
    if (this.#slowRelease || dirty) {
      now = this.#clock.read();
      if (slot.leakReported) {
        this.#emit({ type: 'leak-returned', at: now, id: slot.id, endpoint: slot.endpointKey, leasedForMs: now - slot.leasedAt });
      }
      if (this.#closing) {
        this.#life.closeSlot(slot, 'shutdown', 'shutdown');
        this.#finishCloseIfDone();
        return;
      }
      reset = dirty || this.options.resetOnRelease;
    }
    if (now >= slot.lifetimeDeadline) {
      this.#life.closeSlot(slot, 'lifetime', 'lifetime');
      this.#life.grow();
      return;
    }
    if (reset) this.#checks.reset(slot);
    else this.#makeAvailable(slot, now);
  }

  /**
   * A ready slot whose holder or check is done (or a new one): hand it to the oldest
   * waiter, or make it idle. A suspect connection is never handed to a waiter: it rests
   * idle, passed over by acquires, until `#serveRecovered` hands it out once it is ready.
   */
  #makeAvailable(slot: Slot<C>, now: number): void {
    slot.lastReleasedAt = now;
    if (this.#waiters.size === 0 || slot.suspect) {
      this.#table.move(slot, 'idle', now);
    } else {
      const stack = this.#leakOn ? this.#waiters.firstStack() : undefined;
      this.#waiters.grantFirst(this.#grant(slot, now, stack));
    }
  }

  // ── leaks and close ────────────────────────────────────────────────────

  #reportLeak(slot: Slot<C>, leasedForMs: number): void {
    slot.leakReported = true;
    const stack = slot.acquireStack?.stack;
    this.#logger.warn(
      `connection ${slot.id} (${slot.endpointKey}) leased for ${leasedForMs} ms without release ` +
        `(leakDetectionMs ${this.options.leakDetectionMs}); acquired at:\n${stack ?? '(no stack)'}`,
    );
    this.#emit({ type: 'leak', at: this.#clock.read(), id: slot.id, endpoint: slot.endpointKey, leasedForMs, stack });
  }

  #forceClose(): void {
    const t = this.#table;
    // Escalate graceful closes still draining (OTP's brutal kill), then stop waiting.
    for (const slot of t.closing) this.#life.forceClose(slot);
    t.closing.clear();
    const why = `was closed by the pool after closeTimeoutMs (${this.options.closeTimeoutMs})`;
    for (const slot of t.slots.slice()) this.#life.closeSlot(slot, 'shutdown-forced', 'shutdown', undefined, why);
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
