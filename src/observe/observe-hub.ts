/**
 * Where the pool layer meets observability, once per runtime (keyed by its actor system,
 * like `eventSinkOf`): the pools that are open, the waits of acquires that queued, and
 * the tracer that wraps `pool.use`. Metrics and tracing (prometheus.ts, opentelemetry.ts)
 * attach here; the pool reports here and never imports them.
 *
 * Why a hub instead of events: pool gauges are read from `pool.stats()` when scraped
 * (nothing per acquire), and an acquire that was served at once never reaches this file.
 * Only the slow path reports: a queued acquire that got its connection calls `waited`,
 * which costs one call on a path that already queued a promise. With nothing attached,
 * `waited` loops over an empty array and `tracing` is undefined (one check per `use`).
 *
 *   waitlists ──waited(ms, acquire | dispatch)──▶ hub ──▶ every wait listener (metrics)
 *   pool.use/dispatch/command/request ──hub.tracing?──▶ PoolTracing (spans around the
 *                                       core's own call), else the core's call directly
 *   pool dials ──hub.detached(fn)──▶ outside the caller's trace while tracing is on
 */
import type { ActorSystem } from 'xstate';
import type { AcquireOptions } from '../pool/acquire-options.js';
import type { Pool } from '../pool/pool.js';
import type { DispatchRunner } from '../pool/shared-dispatch.js';

/**
 * A pool's core as the tracer calls it: the pool's own, untraced calls, whole (acquire,
 * what the breaker and discovery make of a failure, release). The tracer wraps the
 * caller's function and never re-implements a call, so tracing cannot change what the
 * pool does.
 */
export interface TracedCore<S> {
  use<R>(fn: (conn: S, signal: AbortSignal) => R | Promise<R>, options?: AcquireOptions): Promise<R>;
  dispatch<R>(fn: (conn: S, signal: AbortSignal) => R | Promise<R>, options?: AcquireOptions): Promise<R>;
  dispatchWith<A, R>(run: DispatchRunner<S, A, R>, arg: A, options?: AcquireOptions): Promise<R>;
  /** The id of the connection whose session is `conn` (a scan: called only for traced calls, once per session). */
  connectionIdOf(conn: S): string | undefined;
}

/** What the tracer names of a pool. */
export type TracedPool = Pick<Pool<unknown>, 'id' | 'path'>;

/** What the pool calls instead of its core while tracing is on. */
export interface PoolTracing {
  use<S, R>(pool: TracedPool, core: TracedCore<S>, fn: (conn: S, signal: AbortSignal) => R | Promise<R>,
    options: AcquireOptions | undefined): Promise<R>;
  dispatch<S, R>(pool: TracedPool, core: TracedCore<S>, fn: (conn: S, signal: AbortSignal) => R | Promise<R>,
    options: AcquireOptions | undefined): Promise<R>;
  /** `pool.command` / `pool.request`: the core's `dispatchWith` with the protocol's runner. */
  dispatchWith<S, A, R>(pool: TracedPool, core: TracedCore<S>, name: 'command' | 'request', run: DispatchRunner<S, A, R>, arg: A,
    options: AcquireOptions | undefined): Promise<R>;
  /** Runs `fn` outside any trace (OpenTelemetry's ROOT_CONTEXT). */
  detached<T>(fn: () => T): T;
}

/** What scrapes read of a pool (gauges from `stats()`, connection states from `connections()`). */
export type ObservedPool = Pick<Pool<unknown>, 'id' | 'path' | 'options' | 'stats' | 'connections' | 'health'>;

/** Which queue a wait was in: acquires (leases), or dispatches (a place on a shared connection). */
export type WaitKind = 'acquire' | 'dispatch';

/** Told the pool id and the wait (ms) of every queued acquire or dispatch that got its connection. */
export type WaitListener = (poolId: string, waitedMs: number, kind: WaitKind) => void;

export class ObserveHub {
  readonly #pools = new Set<ObservedPool>();
  #waitListeners: readonly WaitListener[] = [];
  readonly #removedListeners = new Set<(pool: ObservedPool) => void>();
  /**
   * The tracer of every pool of the runtime (one at a time; undefined: none). Pools read
   * it on each `use`, so it applies to pools made before and after it was set.
   */
  tracing: PoolTracing | undefined = undefined;

  /** The runtime's pools that have not closed, oldest first (scrapes read their `stats()`). */
  get pools(): ReadonlySet<ObservedPool> {
    return this.#pools;
  }

  /** @internal create-pool.ts: a pool was made / has closed. */
  addPool(pool: ObservedPool): void {
    this.#pools.add(pool);
  }

  removePool(pool: ObservedPool): void {
    if (!this.#pools.delete(pool)) return;
    for (const listener of this.#removedListeners) listener(pool);
  }

  /** Starts telling `listener` about pools that closed (metrics drop their cells); returns the function that stops it. */
  onPoolRemoved(listener: (pool: ObservedPool) => void): () => void {
    this.#removedListeners.add(listener);
    return () => this.#removedListeners.delete(listener);
  }

  /**
   * @internal The pool's connection source: runs a dial (a child started or restarted)
   * outside the caller's trace. A connection made while a request's span was active would
   * otherwise keep that context in its sockets and timers, and its heartbeat events, long
   * after, would name that request's trace.
   */
  detached<T>(fn: () => T): T {
    const tracing = this.tracing;
    return tracing === undefined ? fn() : tracing.detached(fn);
  }

  /** @internal The waitlists: a queued acquire (or dispatch) of `poolId` got its connection after `waitedMs`. */
  waited(poolId: string, waitedMs: number, kind: WaitKind = 'acquire'): void {
    const listeners = this.#waitListeners;
    for (let i = 0; i < listeners.length; i++) listeners[i]!(poolId, waitedMs, kind);
  }

  /** Starts telling `listener` about waits; returns the function that stops it. */
  onWait(listener: WaitListener): () => void {
    // Copy on write: `waited` iterates without allocating.
    this.#waitListeners = [...this.#waitListeners, listener];
    return () => {
      this.#waitListeners = this.#waitListeners.filter((l) => l !== listener);
    };
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any system of any runtime
type AnySystem = ActorSystem<any>;

const hubs = new WeakMap<AnySystem, ObserveHub>();

/** The hub of a runtime's actor system, created on first use. */
export function observeHubOf(system: AnySystem): ObserveHub {
  let hub = hubs.get(system);
  if (hub === undefined) hubs.set(system, (hub = new ObserveHub()));
  return hub;
}
