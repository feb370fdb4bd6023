/**
 * `Pool`: what `rt.createPool()` returns. A thin facade over the pool core (leasing,
 * FIFO waiters, housekeeping, stats) whose connections are children of the pool's own
 * supervisor (supervisor-source.ts); create-pool.ts validates the options and wires
 * the two together.
 *
 * Shared dispatch (`dispatch`, and the conveniences `command` for `resp()` and `request`
 * for `wire()`) is a direct delegation too: no event, timer or closure per call. With
 * tracing on (src/observe), every call goes through the tracer, which calls the same core
 * method with the caller's function wrapped.
 *
 * Every lease call is a direct delegation: `acquire()` on an idle connection is the
 * core's fast path plus one method call (no event, timer, listener or closure), and
 * the supervisor and the connection actors are never involved in a lease — only in
 * connections changing state.
 *
 * Closing order: the core first (waiters rejected, idle connections closed, leases
 * awaited up to `closeTimeoutMs`, every child terminated), then the pool's supervisor
 * is removed from the runtime's root, so a closed pool leaves no actor, socket or
 * timer behind. The runtime closes its pools first on `rt.shutdown()`.
 */
import type { Observable } from 'rxjs';
import type { RespArg } from '../transport/resp-encoder.js';
import type { AcquireOptions, DispatchOptions } from './acquire-options.js';
import { runCommand, runRequest, type CommandSession, type RequestSession } from './dispatch-calls.js';
import type { Lease } from './lease.js';
import type { PoolConnectionInfo, PoolCore } from './pool-core.js';
import type { PoolEvent } from './pool-events.js';
import type { PoolHealth } from './pool-health.js';
import type { PoolOptions } from './pool-options.js';
import type { PoolStats } from './pool-stats.js';
import type { ObserveHub } from '../observe/observe-hub.js';

/** @internal What create-pool.ts hands the facade. */
export interface PoolParts<S> {
  readonly id: string;
  readonly path: string;
  readonly core: PoolCore<S>;
  /** Runs once the core has closed: stop watching, remove the supervisor, unregister. */
  readonly teardown: () => Promise<void>;
  /** The runtime's observability hub: `use` asks it for a tracer (src/observe). */
  readonly observe?: ObserveHub;
}

/**
 * A supervised connection pool. `S` is the protocol's session type (`WireSession` for
 * `wire()`), what `lease.conn` is.
 *
 * @example
 * const pool = rt.createPool({ endpoints: [{ host: '127.0.0.1', port }], protocol: wire({ token }), min: 2, max: 10 });
 * const lease = await pool.acquire({ timeoutMs: 500 });
 * try {
 *   await lease.conn.request({ op: 'get', key: 'k' });
 * } finally {
 *   lease.release();
 * }
 * await pool.use((conn) => conn.request({ op: 'get', key: 'k' }));
 * await pool.close();
 */
export class Pool<S = unknown> implements AsyncDisposable {
  /** The pool's supervisor id under the runtime's root. */
  readonly id: string;
  /** `root/<id>`: the prefix of its connections' event paths (`root/pool-1/conn-3`). */
  readonly path: string;
  /** The validated options (frozen). */
  readonly options: PoolOptions;
  /** Pool events (state changes only); completes when the pool has closed. Also on `rt.events$` as `type: 'pool'`. */
  readonly events$: Observable<PoolEvent>;
  readonly #core: PoolCore<S>;
  readonly #teardown: () => Promise<void>;
  readonly #observe: ObserveHub | undefined;
  #closing: Promise<void> | undefined = undefined;

  /** @internal Pools are made by `rt.createPool()`. */
  constructor(parts: PoolParts<S>) {
    this.id = parts.id;
    this.path = parts.path;
    this.#core = parts.core;
    this.options = parts.core.options;
    this.events$ = parts.core.events$;
    this.#teardown = parts.teardown;
    this.#observe = parts.observe;
  }

  /** True once `close()` was called (or the pool closed itself because its supervisor ended). */
  get closed(): boolean {
    return this.#core.closed;
  }

  /**
   * Leases a `ready` connection: at once when one is idle and nobody queues, else in
   * FIFO order within `timeoutMs` (default `acquireTimeoutMs`). Rejects with
   * `WW_POOL_TIMEOUT` (cause: the last dial error when every endpoint is down),
   * `WW_POOL_QUEUE_FULL`, `WW_POOL_CLOSED`, `WW_ABORTED` or `WW_INVALID_OPTION`.
   */
  acquire(options?: AcquireOptions): Promise<Lease<S>> {
    return this.#core.acquire(options);
  }

  /**
   * Runs `fn` with a leased connection and releases it afterwards, also when `fn`
   * throws. `fn` receives the `signal` of `options` (a signal that never aborts when
   * none was given), so one signal bounds the wait for a connection and the work on it.
   *
   * @example
   * const value = await pool.use((conn, signal) => conn.request({ op: 'get', key: 'k' }, { signal }), { signal });
   */
  use<R>(fn: (conn: S, signal: AbortSignal) => R | Promise<R>, options?: AcquireOptions): Promise<R> {
    // Tracing on (src/observe/otel-tracing.ts): spans around the core's own call.
    const tracing = this.#observe?.tracing;
    return tracing === undefined ? this.#core.use(fn, options) : tracing.use(this, this.#core, fn, options);
  }

  /**
   * Runs `fn(conn, signal)` on a connection that other `dispatch` callers use at the same
   * time, up to `maxInFlightPerConnection` each (default: the protocol's
   * `sharing.maxInFlight`), for protocols that multiplex (`wire()`, `resp()`; `custom()`
   * when it opts in). Beyond capacity it waits in FIFO order as `acquire` does (same
   * `timeoutMs`, `signal`, `maxWaiting` and errors). `fn` must not keep `conn` after it
   * settles, and must not run commands that need the connection to themselves (RESP
   * `MULTI`, `WATCH`, blocking commands, pub/sub: `WW_EXCLUSIVE_COMMAND`; use `use()`).
   * Rejects with `WW_DISPATCH_UNSUPPORTED` when the protocol cannot share a connection.
   *
   * @example
   * const value = await pool.dispatch((conn, signal) => conn.command(['GET', 'k'], { signal }));
   */
  dispatch<R>(fn: (conn: S, signal: AbortSignal) => R | Promise<R>, options?: DispatchOptions): Promise<R> {
    const tracing = this.#observe?.tracing;
    return tracing === undefined ? this.#core.dispatch(fn, options) : tracing.dispatch(this, this.#core, fn, options);
  }

  /**
   * `resp()` pools: one command through `dispatch`, pipelined with the other callers'
   * (`conn.command(args, { signal })`). Resolves with the reply; rejects as `dispatch`
   * and as the command does.
   *
   * @example
   * await pool.command(['SET', 'k', 'v']);
   * const value = await pool.command<string | null>(['GET', 'k']);
   */
  command<T = unknown>(this: S extends CommandSession ? Pool<S> : never, args: readonly RespArg[], options?: DispatchOptions): Promise<T> {
    const core = (this as Pool<S>).#core as unknown as PoolCore<CommandSession>;
    const tracing = (this as Pool<S>).#observe?.tracing;
    return (tracing === undefined ? core.dispatchWith(runCommand, args, options)
      : tracing.dispatchWith(this as Pool<S>, core, 'command', runCommand, args, options)) as Promise<T>;
  }

  /**
   * `wire()` pools: one request through `dispatch`, multiplexed with the other callers'
   * (`conn.request(payload, { signal })`). Resolves with the reply; rejects as `dispatch`
   * and as the request does.
   *
   * @example
   * const user = await pool.request<{ name: string }>({ op: 'getUser', id: 7 });
   */
  request<T = unknown>(this: S extends RequestSession ? Pool<S> : never, payload: unknown, options?: DispatchOptions): Promise<T> {
    const core = (this as Pool<S>).#core as unknown as PoolCore<RequestSession>;
    const tracing = (this as Pool<S>).#observe?.tracing;
    return (tracing === undefined ? core.dispatchWith(runRequest, payload, options)
      : tracing.dispatchWith(this as Pool<S>, core, 'request', runRequest, payload, options)) as Promise<T>;
  }

  /** Go DBStats-like counters with a per-endpoint breakdown (docs/pool.md). */
  stats(): PoolStats {
    return this.#core.stats();
  }

  /**
   * Can this pool serve now, and if not, why: `{ live, ready, reason?, message, open,
   * idle, leased, pending, waiting, max, endpoints: [{ endpoint, state, lastError? }] }`.
   * A snapshot of the pool's own state (no I/O), cheap enough for every `/readyz` hit.
   *
   * @example
   * const h = pool.health();
   * res.writeHead(h.ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(h));
   */
  health(): PoolHealth {
    return this.#core.health();
  }

  /** `[{ id, endpoint, state, leased, inFlight, rttMs?, since }]`: `state` and `rttMs` are the connection actor's. */
  connections(): PoolConnectionInfo[] {
    return this.#core.connections();
  }

  /**
   * Rejects waiters (`WW_POOL_CLOSED`), closes idle connections, waits up to
   * `closeTimeoutMs` for leases, then removes the pool's supervisor. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#core.close().then(this.#teardown);
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
