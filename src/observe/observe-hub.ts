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
 *   waitlist ──waited(ms)──▶ hub ──▶ every wait listener (metrics)
 *   pool.use ──hub.tracing?──▶ PoolTracing.use (spans), else the plain lease path
 */
import type { ActorSystem } from 'xstate';
import type { AcquireOptions } from '../pool/acquire-options.js';
import type { Lease } from '../pool/lease.js';
import type { Pool } from '../pool/pool.js';

/** The untraced lease path of a pool, handed to the tracer so it can call it. */
export interface LeaseSource<S> {
  acquire(options?: AcquireOptions): Promise<Lease<S>>;
}

/** What `pool.use` calls instead of its own body while tracing is on. */
export interface PoolTracing {
  use<S, R>(pool: Pool<S>, leases: LeaseSource<S>, fn: (conn: S, signal: AbortSignal) => R | Promise<R>,
    options: AcquireOptions | undefined): Promise<R>;
}

/** What scrapes read of a pool (gauges from `stats()`, connection states from `connections()`). */
export type ObservedPool = Pick<Pool<unknown>, 'id' | 'path' | 'options' | 'stats' | 'connections' | 'health'>;

/** Told the pool id and the wait (ms) of every queued acquire that got a connection. */
export type WaitListener = (poolId: string, waitedMs: number) => void;

export class ObserveHub {
  readonly #pools = new Set<ObservedPool>();
  #waitListeners: readonly WaitListener[] = [];
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
    this.#pools.delete(pool);
  }

  /** @internal The waitlist: a queued acquire of `poolId` got its connection after `waitedMs`. */
  waited(poolId: string, waitedMs: number): void {
    const listeners = this.#waitListeners;
    for (let i = 0; i < listeners.length; i++) listeners[i]!(poolId, waitedMs);
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
