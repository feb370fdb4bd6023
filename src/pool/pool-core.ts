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
 *
 * Shared dispatch (`dispatch`, for protocols with `sharing`) lives in shared-dispatch.ts;
 * the core arbitrates between the two queues whenever a whole connection becomes free
 * (`#makeAvailable`): a connection drained for an acquire goes to the oldest acquire,
 * any other to whichever queue's oldest caller came first.
 */
import { setMaxListeners } from 'node:events';
import { Subject, type Observable, type SchedulerLike } from 'rxjs';
import { abortedError, InvalidOptionError, PoolClosedError, PoolQueueFullError } from '../errors.js';
import { defaultScheduler, isScheduler } from '../scheduler.js';
import type { SessionSharing } from '../transport/types.js';
import { checkAcquireOptions, type AcquireOptions } from './acquire-options.js';
import { Alarm } from './alarm.js';
import { createBalancer, type Balancer } from './balancer.js';
import { weightedLeastConnections } from './choose-endpoint.js';
import type { ChooseEndpoint, ConnectionSource, ConnectionSourceFactory, PoolSink } from './connection-source.js';
import { Housekeeper } from './housekeeper.js';
import { latencyClock, PoolClock } from './pool-clock.js';
import { Lease, type LeaseOwner } from './lease.js';
import { defaultPoolLogger, type PoolEvent, type PoolLogger } from './pool-events.js';
import { parsePoolOptions, type PoolOptions } from './pool-options.js';
import { PoolDiscovery } from './pool-discovery.js';
import { describeGauges, PoolCounters, snapshotStats, type PoolStats } from './pool-stats.js';
import { poolHealth, type PoolHealth } from './pool-health.js';
import type { Slot } from './slot.js';
import { SlotChecks } from './slot-checks.js';
import { SlotLifecycle } from './slot-lifecycle.js';
import { SlotTable } from './slot-table.js';
import { dispatchUnsupported, SharedDispatch, type DispatchRunner } from './shared-dispatch.js';
import { Waitlist, type Tickets } from './waitlist.js';
import { EndpointGuards, NOT_PERMITTED, type GuardsConfig } from './endpoint-guards.js';
import { QueueShedding } from './queue-shedding.js';

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
  /** Told the wait of every queued dispatch that got a place on a connection (metrics); never the fast path. */
  readonly onDispatchWaited?: (waitedMs: number) => void;
  /** Picks the endpoint of each shared dispatch; default `createBalancer(options.balance, random)`. */
  readonly balancer?: Balancer;
  /** Given to each endpoint's breaker actor: `rt.createPool` forwards to the runtime's inspection observers. */
  readonly inspect?: GuardsConfig<C>['inspect'];
  /** Prefix of the breaker actors' ids (the pool's id). */
  readonly breakerIdPrefix?: string;
}

/** One row of `connections()`. */
export interface PoolConnectionInfo {
  readonly id: string;
  readonly endpoint: string;
  /** The connection actor's state when the source reports it; else `dialing` or `ready`. */
  readonly state: string;
  readonly leased: boolean;
  /** Dispatches running on it (`pool.dispatch`); 0 unless it is shared. */
  readonly inFlight: number;
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
const dispatchClosedWhileWaiting = () => new PoolClosedError('dispatch failed: the pool closed while waiting');

/** `dispatch(fn)`'s runner: the caller's `fn` is the argument, so no closure is made per call. */
function callUser<C, R>(conn: C, fn: (conn: C, signal: AbortSignal) => R | Promise<R>, signal: AbortSignal | undefined): R | Promise<R> {
  return fn(conn, signal ?? NEVER_ABORTED);
}
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
  /** Shared dispatch; undefined when the protocol cannot share a connection. */
  readonly #shared: SharedDispatch<C> | undefined;
  readonly #housekeeper: Housekeeper<C>;
  /** Endpoint health: breakers, ejection, failover between priority groups (endpoint-guards.ts). */
  readonly #guards: EndpointGuards<C>;
  /** Load shedding of the acquire queue (`shedding` option); undefined when off. */
  readonly #shedding: QueueShedding | undefined;
  /** `use()` calls at least this long count as slow for the breaker (`Infinity` without one). */
  readonly #slowCallMs: number;
  /** A breaker or ejection is on: leases carry permits and their outcomes are counted. */
  readonly #counting: boolean;
  /** Live discovery when `endpoints` is a provider (pool-discovery.ts). */
  readonly #discovery: PoolDiscovery<C> | undefined;
  readonly #latencyNow: () => number;
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
    destroyLease: (_lease, slot, reason) => {
      // A reason that is evidence about the endpoint (a request timeout…) counts; none is no evidence.
      const permit = slot.permit;
      slot.permit = NOT_PERMITTED;
      if (reason === undefined) this.#guards.release(slot.site, permit);
      else this.#guards.settle(slot.site, permit, 0, reason);
      this.#life.kill(slot, 'destroyed', 'destroyed', reason, 'was destroyed by its holder');
    },
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
    this.#latencyNow = latencyClock(this.#scheduler);
    this.#logger = config.logger ?? o.logger ?? defaultPoolLogger;
    this.#leakOn = o.leakDetectionMs > 0;
    this.#validateOn = o.validateAfterIdleMs > 0;
    this.#slowRelease = this.#validateOn || this.#leakOn || o.resetOnRelease;
    const sharing = (o.protocol as { sharing?: SessionSharing<C> }).sharing;
    const warn = (message: string): void => this.#logger.warn(message);
    this.#table = new SlotTable<C>(o.endpoints, config.idPrefix ?? 'conn-', this.#leaseOwner, {
      sharing, latencyDecayMs: o.latencyDecayMs, warn,
    });
    const random = config.random ?? Math.random;
    const emit = (event: PoolEvent): void => this.#emit(event);
    this.#guards = new EndpointGuards<C>({
      options: o, table: this.#table, clock: this.#clock, scheduler: this.#scheduler, random,
      choose: config.chooseEndpoint ?? weightedLeastConnections, emit,
      ...(config.inspect === undefined ? {} : { inspect: config.inspect }),
      ...(config.breakerIdPrefix === undefined ? {} : { idPrefix: config.breakerIdPrefix }),
    });
    this.#slowCallMs = o.breaker === false ? Number.POSITIVE_INFINITY : o.breaker.slowCallDurationThresholdMs;
    this.#counting = this.#guards.counting;
    this.#shedding = o.shedding === false ? undefined : new QueueShedding(o.shedding, 'acquire', this.#clock, emit);
    const dispatchShedding = o.shedding === false || sharing === undefined ? undefined : new QueueShedding(o.shedding, 'dispatch', this.#clock, emit);
    // One arrival count for both queues: a free connection goes to the older head.
    const tickets: Tickets = { next: 0 };
    const describe = (): string => describeGauges(this.#gauges(), sharing !== undefined);
    this.#waiters = new Waitlist<C>(this.#scheduler, this.#clock, this.#counters, o.acquireTimeoutMs, {
      describeState: describe,
      timeoutCause: () => this.#discovery?.timeoutCause() ?? this.#life.timeoutCause(),
      onTimedOut: (message, waitedMs, now) => this.#emit({ type: 'acquire-timeout', at: now, waitedMs, message }),
      ...(config.onWaited === undefined ? {} : { onGranted: config.onWaited }),
      ...this.#shedding?.hooks(o.acquireTimeoutMs, config.onWaited),
    }, tickets);
    this.#shedding?.attach(this.#waiters as Waitlist<unknown, unknown>, () => this.#counters.shed++);
    const dispatchWaiters = sharing === undefined ? undefined : new Waitlist<C, Slot<C>>(this.#scheduler, this.#clock, this.#counters.dispatch, o.acquireTimeoutMs, {
      what: 'dispatch',
      describeState: describe,
      timeoutCause: () => this.#discovery?.timeoutCause() ?? this.#life.timeoutCause(),
      onTimedOut: (message, waitedMs, now) => this.#emit({ type: 'dispatch-timeout', at: now, waitedMs, message }),
      ...(config.onDispatchWaited === undefined ? {} : { onGranted: config.onDispatchWaited }),
      ...dispatchShedding?.hooks(o.acquireTimeoutMs, config.onDispatchWaited),
    }, tickets);
    if (dispatchWaiters !== undefined) dispatchShedding?.attach(dispatchWaiters as Waitlist<unknown, unknown>, () => this.#counters.shed++);
    this.#shared = sharing === undefined ? undefined : new SharedDispatch<C>({
      table: this.#table,
      clock: this.#clock,
      waiters: dispatchWaiters!,
      guards: this.#guards,
      counters: this.#counters.dispatch,
      balancer: config.balancer ?? createBalancer(o.balance, config.random ?? Math.random),
      latencyNow: this.#latencyNow,
      limit: o.maxInFlightPerConnection ?? sharing.maxInFlight,
      max: o.max,
      maxWaiting: o.maxWaiting,
      acquireTimeoutMs: o.acquireTimeoutMs,
      hooks: {
        closing: () => this.#closing,
        drained: (slot) => this.#drained(slot),
        grow: (extra) => this.#life.grow(extra),
        leaseWaiting: () => this.#waiters.size,
        retireExpiredIdle: () => this.#retireExpiredIdle(),
        // Fail at once rather than queue: every endpoint refuses, none can take a call, or shedding.
        refused: () => {
          if (this.#life.allRefused()) return this.#life.refusedError('dispatch');
          if (this.#life.outlasted()) {
            this.#counters.circuitOpen++;
            return this.#life.outageError('dispatch');
          }
          if (this.#guards.blocked) {
            this.#counters.circuitOpen++;
            return this.#guards.openError('dispatch');
          }
          return dispatchShedding?.admit(this.#clock.now);
        },
        callFailed: (slot, error) => this.#discovery?.callFailed(slot, error),
        dying: (slot) => this.#diedUnseen(slot),
      },
    });
    this.#housekeeper = new Housekeeper(this.#scheduler, this.#clock, o, {
      slots: () => this.#table.slots,
      size: () => this.#table.size,
      retireIdle: (slot, reason) => this.#life.closeSlot(slot, reason, reason),
      reportLeak: (slot, ms) => this.#reportLeak(slot, ms),
      reclaimLeak: (slot, ms) => this.#life.kill(slot, 'leak-reclaimed', 'leaked', undefined,
        `was reclaimed after being leased for ${ms} ms (leakDetectionMs ${o.leakDetectionMs}, leakReclaimGraceMs ${o.leakReclaimGraceMs})`),
      fillMin: () => this.#life.grow(),
      tidy: () => {
        this.#guards.sweep();
        this.#shareIdle();
        this.#waiters.cancelTick();
        this.#shared?.cancelTick();
      },
    });
    this.#life = new SlotLifecycle<C>({
      options: o,
      clock: this.#clock,
      table: this.#table,
      counters: this.#counters,
      random,
      choose: config.chooseEndpoint ?? weightedLeastConnections,
      guards: this.#guards,
      hooks: {
        makeAvailable: (slot, now) => this.#makeAvailable(slot, now),
        retryWaiter: (w) => this.#checks.retryWaiter(w),
        waiting: () => this.#waiters.size + (this.#shared?.demand() ?? 0),
        closing: () => this.#closing,
        checkClosed: () => this.#finishCloseIfDone(),
        started: () => this.#housekeeper.start(),
        emit: (event) => this.#emit(event),
        refuseWaiters: (error) => {
          this.#waiters.rejectAll(error);
          this.#shared?.rejectAll(() => this.#life.refusedError('dispatch'));
        },
        warn,
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
      onReady: (slot, conn, stream) => life.onReady(slot, conn, stream),
      onDialFailed: (slot, error) => {
        life.onDialFailed(slot, error);
        this.#discovery?.dialFailed();
      },
      onDead: (slot, reason, error) => life.onDead(slot, reason, error),
      onClosed: (slot, error) => life.onClosed(slot, error),
      onRecovered: (slot) => this.#serveRecovered(slot),
    };
    this.#source = config.source(sink);
    this.#needsReset = this.#source.needsReset?.bind(this.#source);
    life.attach(this.#source);
    this.#guards.attach({
      closing: () => this.#closing,
      closePending: (slot) => life.closeSlot(slot, 'unavailable', 'shutdown'),
      rejectWaiters: (error) => {
        this.#counters.circuitOpen += this.#waiters.size + (this.#shared?.waiting ?? 0);
        this.#waiters.rejectAll(error);
        this.#shared?.rejectAll(() => this.#guards.openError('dispatch'));
      },
      trialDial: (rec, permit, evict) => life.openTrial(rec, permit, evict),
      retireOutside: (priority) => this.#retireOutside(priority),
      grow: () => life.grow(),
    });
    const provider = o.endpointSource;
    this.#discovery = provider === undefined ? undefined : new PoolDiscovery<C>({
      provider, scheduler: this.#scheduler, table: this.#table, life, emit: (event) => this.#emit(event),
      changed: () => {
        this.#shared?.endpointsChanged();
        this.#guards.endpointsChanged();
      },
    });
    life.grow();
    this.#discovery?.start();
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
    // Every endpoint has been unreachable for longer than an acquire waits: it would time out.
    if (this.#life.outlasted()) {
      this.#counters.circuitOpen++;
      return Promise.reject(this.#life.outageError());
    }
    // No endpoint can take a call (every breaker open, ejected, refused): waiting cannot help either.
    if (this.#guards.blocked) {
      this.#counters.circuitOpen++;
      return Promise.reject(this.#guards.openError());
    }
    if (this.#shedding !== undefined) {
      const overloaded = this.#shedding.admit(this.#clock.now);
      if (overloaded !== undefined) return Promise.reject(overloaded);
    }
    const max = this.options.maxWaiting;
    if (this.#waiters.size >= max) {
      return Promise.reject(new PoolQueueFullError(`acquire refused: ${this.#waiters.size} waiters already queue (maxWaiting ${max})`));
    }
    const promise = this.#waiters.enqueue(timeoutMs, signal, stack);
    if (this.#table.size < this.options.max) this.#life.grow();
    // At max with every connection shared: one drains for this acquire.
    else this.#shared?.reserveForLeases();
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
  use<R>(fn: (conn: C, signal: AbortSignal) => R | Promise<R>, options?: AcquireOptions): Promise<R> {
    return this.#counting ? this.#useCounted(fn, options) : this.#use(fn, options);
  }

  async #use<R>(fn: (conn: C, signal: AbortSignal) => R | Promise<R>, options: AcquireOptions | undefined): Promise<R> {
    const lease = await this.acquire(options);
    try {
      return await fn(lease.conn, options?.signal ?? NEVER_ABORTED);
    } catch (err) {
      if (this.#discovery !== undefined && lease.active) this.#leaseFailed(lease, err);
      throw err;
    } finally {
      lease.release();
    }
  }

  /** `use()` with a breaker or ejection on: the call's outcome and duration are recorded. */
  async #useCounted<R>(fn: (conn: C, signal: AbortSignal) => R | Promise<R>, options: AcquireOptions | undefined): Promise<R> {
    const lease = await this.acquire(options);
    const slot = lease.slot;
    let failed = false;
    try {
      return await fn(lease.conn, options?.signal ?? NEVER_ABORTED);
    } catch (err) {
      failed = true;
      // The breaker and ejection judge the call (classify-outcome.ts); a lost lease's death already counted.
      if (lease.active) this.#settleUse(slot, err);
      if (this.#discovery !== undefined && lease.active) this.#leaseFailed(lease, err);
      throw err;
    } finally {
      // A fast success is counted when the lease is released; a slow one here, with its duration.
      if (!failed && lease.active && this.#clock.now - slot.leasedAt >= this.#slowCallMs) this.#settleUse(slot, undefined);
      lease.release();
    }
  }

  /** `use()`'s call on `slot` ended (an error, or a slow success): recorded now, so the release records nothing. */
  #settleUse(slot: Slot<C>, error: unknown): void {
    const permit = slot.permit;
    slot.permit = NOT_PERMITTED;
    this.#guards.settle(slot.site, permit, this.#clock.now - slot.leasedAt, error);
  }

  /**
   * Runs `fn(conn, signal)` on a connection that other dispatches use at the same time
   * (up to the per-connection limit), for protocols that multiplex (`protocol.sharing`):
   * at once when a connection has room and no dispatch queues, else after waiting in
   * FIFO order for at most `timeoutMs`. Rejects as `acquire` does, with
   * `WW_DISPATCH_UNSUPPORTED` when the protocol cannot share, or as `fn` does; never
   * throws. `fn` must not keep `conn` after it settles.
   *
   * @example
   * const value = await core.dispatch((conn, signal) => conn.command(['GET', 'k'], { signal }));
   */
  dispatch<R>(fn: (conn: C, signal: AbortSignal) => R | Promise<R>, options?: AcquireOptions): Promise<R> {
    return this.dispatchWith(callUser as DispatchRunner<C, (conn: C, signal: AbortSignal) => R | Promise<R>, R>, fn, options);
  }

  /**
   * `dispatch` with a module-level runner: `run(conn, arg, signal)` (the protocol
   * conveniences `pool.command` and `pool.request` use it, so no closure is made per call).
   */
  dispatchWith<A, R>(run: DispatchRunner<C, A, R>, arg: A, options?: AcquireOptions): Promise<R> {
    const shared = this.#shared;
    if (shared === undefined) {
      if (this.#closing) return Promise.reject(new PoolClosedError('dispatch refused: the pool is closed'));
      return Promise.reject(dispatchUnsupported((this.options.protocol as { name?: unknown }).name));
    }
    return shared.dispatch(run, arg, options);
  }

  /**
   * The id of the connection whose session is `conn`, or undefined: the tracer names the
   * connection a traced call ran on (src/observe/otel-tracing.ts, once per session). A
   * scan, never on an untraced path.
   */
  connectionIdOf(conn: C): string | undefined {
    for (const slot of this.#table.slots) if (slot.conn === conn) return slot.id;
    return undefined;
  }

  /** Go DBStats-like counters with a per-endpoint breakdown. */
  stats(): PoolStats {
    const endpoints = this.#table.endpointStats(this.#latencyNow());
    for (const rec of this.#table.endpoints) {
      const e = endpoints[rec.key];
      if (e !== undefined) Object.assign(e, this.#guards.stateOf(rec));
    }
    return snapshotStats(this.#gauges(), this.#counters, endpoints);
  }

  /** Can the pool serve now, and why not: a pure snapshot of its counts and endpoints (pool-health.ts). */
  health(): PoolHealth {
    const g = this.#gauges();
    const discovery = this.#discovery?.health();
    const guards = this.#guards;
    const endpoints = this.#table.endpoints.map((rec) => {
      const { breaker, outlier } = guards.stateOf(rec);
      return {
        key: rec.key, open: rec.open, pending: rec.pending, consecutiveFailures: rec.consecutiveFailures, refused: rec.refused, lastError: rec.lastError,
        ...(breaker === undefined ? {} : { breakerState: breaker }),
        ...(outlier === undefined ? {} : { outlierState: outlier }),
      };
    });
    const active = guards.activePriority;
    return poolHealth({
      ...g, closed: this.#closing, maxWaiting: this.options.maxWaiting, endpoints, ...(discovery === undefined ? {} : { discovery }),
      ...(guards.blocked && !this.#closing ? { circuitOpen: guards.openError().message } : {}),
      ...(this.#shedding === undefined ? {} : { shedding: this.#shedding.shedding }),
      ...(active === undefined ? {} : { activePriority: active }),
    });
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
        inFlight: slot.inFlight,
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
    this.#discovery?.stop();
    this.#housekeeper.stop();
    this.#guards.dispose();
    this.#waiters.rejectAll(closedWhileWaiting);
    this.#shared?.rejectAll(dispatchClosedWhileWaiting);
    for (const slot of this.#table.slots.slice()) {
      if (slot.validatingFor !== undefined) this.#waiters.reject(slot.validatingFor, closedWhileWaiting());
      // Leased and shared connections close when they come back (release, drain).
      if (slot.state !== 'leased' && slot.state !== 'shared') this.#life.closeSlot(slot, 'shutdown', 'shutdown');
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
      // Suspect, or on an endpoint whose calls are judged one by one or refused (endpoint health).
      if (slot.suspect || (this.#guards.guarded && slot.site.admit !== 0)) {
        const usable = this.#takeIdleBelowSuspect(now);
        if (retired) this.#life.grow();
        return usable;
      }
      if (slot.dying) {
        this.#diedUnseen(slot);
        continue;
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
   * progress) stays idle but is passed over, and so is one whose endpoint takes no call
   * (breaker open, ejected) or has no trial left (half-open). Rare, so the scan stays off
   * the fast path. A trial's permit is taken here and kept on the slot for its grant. A
   * standby connection (outside the active priority group) serves only when nothing else can.
   */
  #takeIdleBelowSuspect(now: number): Slot<C> | undefined {
    const idle = this.#table.idle;
    let standby: Slot<C> | undefined;
    for (let i = idle.length - 1; i >= 0; i--) {
      const slot = idle[i]!;
      if (slot.suspect || now >= slot.lifetimeDeadline || slot.dying) continue;
      const site = slot.site;
      if (site.admit === 3) {
        standby ??= slot;
        continue;
      }
      if (site.admit !== 0) {
        const permit = site.admit === 2 ? NOT_PERMITTED : this.#guards.callPermit(site);
        if (permit === NOT_PERMITTED) continue;
        slot.permit = permit;
      }
      return slot;
    }
    return standby;
  }

  /** A slot that was passed over while suspect is ready again: serve waiters with it. */
  #serveRecovered(slot: Slot<C>): void {
    if (slot.suspect) return;
    const shared = this.#shared;
    if (slot.state === 'idle') {
      if (this.#waiters.size === 0 && (shared === undefined || shared.waiting === 0)) return;
      const now = this.#clock.read();
      // Past its lifetime (or retired) while it was passed over: the waiters get a new one.
      if (now >= slot.lifetimeDeadline) {
        this.#life.closeSlot(slot, 'lifetime', 'lifetime');
        this.#life.grow();
      } else {
        this.#makeAvailable(slot, now);
      }
    } else if (slot.state === 'shared' && shared !== undefined && shared.waiting > 0 && shared.takes(slot)) {
      shared.serve(slot);
    }
  }

  /**
   * Leases a ready slot (idle, probed, fresh, or handed from its last holder to the next
   * one, when it is already `leased`): a new `Lease` per holder.
   */
  #grant(slot: Slot<C>, now: number, stack: Error | undefined): Lease<C> {
    // The lease is a call on its endpoint: a closed breaker's epoch, or a trial taken already.
    if (this.#counting) this.#leasePermit(slot);
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
    if (this.#counting) this.#leaseEnded(slot);
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

  /** The lease's call on its endpoint: a closed breaker's epoch, or a trial taken already (kept off the inlined grant). */
  #leasePermit(slot: Slot<C>): void {
    const site = slot.site;
    if (site.admit === 0) slot.permit = site.epoch;
    else if (slot.permit === NOT_PERMITTED) slot.permit = this.#guards.callPermit(site);
  }

  /** The lease's call ended well: counted in bulk on a healthy endpoint (endpoint-guards.ts). */
  #leaseEnded(slot: Slot<C>): void {
    const site = slot.site;
    const permit = slot.permit;
    slot.permit = NOT_PERMITTED;
    if (site.admit === 0 && permit === site.epoch) site.successes++;
    else this.#guards.settle(site, permit, 0, undefined);
  }

  /**
   * A ready slot whose holder, check or dispatches are done (or a new one): hand it to
   * the oldest acquire, to queued dispatches, or make it idle. A suspect connection is
   * never handed out: it rests idle, passed over, until `#serveRecovered` hands it out
   * once it is ready. With both queues waiting, a connection drained for an acquire goes
   * to the oldest acquire; any other to the queue whose oldest caller came first.
   */
  #makeAvailable(slot: Slot<C>, now: number): void {
    // Its stream was destroyed (a request timed out): the next holder would fail on it.
    if (slot.dying) {
      this.#diedUnseen(slot);
      return;
    }
    slot.lastReleasedAt = now;
    // Shedding: waiters queued past twice the target are dropped before anyone is served.
    if (this.#shedding !== undefined && this.#shedding.shedding) this.#shedding.beforeGrant(now);
    // An endpoint that takes no call (breaker open, ejected) keeps its connection idle, passed over.
    if (slot.suspect || (this.#counting && slot.site.admit === 2) || (this.#waiters.size === 0 && (this.#shared === undefined || this.#shared.waiting === 0))) {
      this.#table.move(slot, 'idle', now);
    } else {
      this.#handOut(slot, now);
    }
  }

  /** `#makeAvailable` with callers queued: the oldest acquire, or the queued dispatches. */
  #handOut(slot: Slot<C>, now: number): void {
    const leases = this.#waiters.size;
    const shared = this.#shared;
    const dispatches = shared === undefined ? 0 : shared.waiting;
    if (leases > 0 && (dispatches === 0 || slot.draining || this.#waiters.headTicket() < shared!.headTicket())) {
      const stack = this.#leakOn ? this.#waiters.firstStack() : undefined;
      this.#waiters.grantFirst(this.#grant(slot, now, stack));
    } else if (!this.#table.mayShare(slot) || slot.site.refused !== undefined) {
      // Its session may not start sharing now (`sharing.canShare`: a command of its last
      // holder still in flight), or its endpoint refuses the handshake (dispatches never go
      // there, as `#pick` decides): an acquire may have it, else it rests idle (until the
      // housekeeping sweep finds it shareable: `#shareIdle`).
      if (leases > 0) {
        const stack = this.#leakOn ? this.#waiters.firstStack() : undefined;
        this.#waiters.grantFirst(this.#grant(slot, now, stack));
      } else {
        this.#table.move(slot, 'idle', now);
      }
    } else {
      this.#table.clearDraining(slot);
      shared!.serve(slot);
      if (leases > 0) shared!.reserveForLeases();
    }
  }

  /**
   * Queued dispatches and idle connections that could not start sharing when they came
   * back (`sharing.canShare` said no): each sweep hands those that now can to the queue.
   */
  #shareIdle(): void {
    const shared = this.#shared;
    if (shared === undefined || shared.waiting === 0 || this.#closing) return;
    const now = this.#clock.now;
    for (const slot of this.#table.idle.slice()) {
      if (shared.waiting === 0) return;
      if (slot.state === 'idle' && !slot.suspect && now < slot.lifetimeDeadline && this.#table.mayShare(slot)) this.#makeAvailable(slot, now);
    }
  }

  /**
   * The last dispatch on a shared slot settled: a closing pool closes it, a connection
   * past its lifetime retires, a session its protocol reports dirty is reset; else it is
   * available again (the oldest acquire when it drained for one).
   */
  #drained(slot: Slot<C>): void {
    if (this.#closing) {
      this.#life.closeSlot(slot, 'shutdown', 'shutdown');
      this.#finishCloseIfDone();
      return;
    }
    const now = this.#clock.now;
    if (now >= slot.lifetimeDeadline) {
      this.#life.closeSlot(slot, 'lifetime', 'lifetime');
      this.#life.grow();
      return;
    }
    if (this.#needsReset?.(slot) === true) this.#checks.reset(slot);
    else this.#makeAvailable(slot, now);
  }

  /**
   * `slot`'s stream is destroyed but its source has not reported the death yet (it will at
   * the stream's 'close', a loop turn later, and find the slot pending: ignored). The death
   * is counted now, so that nobody is handed the connection, and the source's replacement
   * serves the queues.
   */
  #diedUnseen(slot: Slot<C>): void {
    this.#life.onDead(slot, 'destroyed', slot.stream?.errored ?? undefined);
  }

  /**
   * After a failback to `priority`: connections of the other groups retire — idle and
   * dialing ones now, leased ones when released, shared ones when their dispatches settle
   * (the lifetime checks on those paths) — and `grow` opens what is needed in the group now
   * active.
   */
  #retireOutside(priority: number): void {
    let closed = false;
    for (const slot of this.#table.slots.slice()) {
      if (slot.site.endpoint.priority === priority) continue;
      if (slot.state === 'pending') {
        this.#life.closeSlot(slot, 'unavailable', 'shutdown');
        closed = true;
        continue;
      }
      slot.lifetimeDeadline = Number.NEGATIVE_INFINITY;
      if (slot.state === 'idle') {
        this.#life.closeSlot(slot, 'lifetime', 'lifetime');
        closed = true;
      }
    }
    if (closed) this.#life.grow();
  }

  /** Idle connections past their lifetime (dispatches pass them over): closed now; true when any was. */
  #retireExpiredIdle(): boolean {
    const now = this.#clock.read();
    const expired = this.#table.idle.filter((slot) => now >= slot.lifetimeDeadline);
    for (const slot of expired) this.#life.closeSlot(slot, 'lifetime', 'lifetime');
    if (expired.length > 0) this.#life.grow();
    return expired.length > 0;
  }

  /** `use()`'s work failed on `lease`: discovery looks for a READONLY reply (error path only, so a scan is fine). */
  #leaseFailed(lease: Lease<C>, error: unknown): void {
    const slot = this.#table.slots.find((s) => s.lease === lease);
    if (slot !== undefined) this.#discovery?.callFailed(slot, error);
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
    return this.#table.gauges(this.options.max, this.options.min, this.#waiters.size, this.#shared?.waiting ?? 0);
  }
}
