/**
 * `rt.createPool(options)`: validates every option at the pool's boundary, spawns the
 * pool's supervisor under the runtime's root, builds the core on the supervisor source
 * and registers the pool so that `rt.shutdown()` closes it before the tree stops.
 *
 * Validation happens once, here, with `pool.` paths — the core's schema, then the
 * connection actor's own input check (protocol, transport, heartbeat, timeouts) and the
 * backoff policy — so a bad option throws `WW_INVALID_OPTION` before any actor or
 * socket exists, instead of surfacing later as a crash loop of children.
 *
 *   createPool ─▶ parse ─▶ spawnSupervisor(root/<id>) ─▶ PoolCore(source) ─▶ register
 *                                   ▲ one transient child per slot (supervisor-source.ts)
 *
 * Pool events go to `pool.events$` and, as `{ type: 'pool', id, path, event }`, to
 * `rt.events$` and the `wirewarden:event` diagnostics channel, only while one of those
 * has a listener.
 */
import type { InspectionEvent } from 'xstate';
import type { HeartbeatInput } from '../actors/connection-types.js';
import { connectionChildInput, parseConnectionInput } from '../actors/connection-input.js';
import { fail } from '../options.js';
import { eventSinkOf } from '../observe/events.js';
import { observeHubOf } from '../observe/observe-hub.js';
import type { Runtime } from '../runtime.js';
import { isBackoffPolicy, reconnectBackoff, type BackoffPolicy } from '../supervisor/backoff.js';
import { spawnOwnedSupervisor } from '../supervisor/owned-supervisor.js';
import type { AnyProtocol, Transport } from '../transport/types.js';
import { createPoolCore, type PoolCore } from './pool-core.js';
import { parsePoolOptions, type PoolOptions, type PoolOptionsInput } from './pool-options.js';
import { Pool } from './pool.js';
import { SupervisorSource } from './supervisor-source.js';

/** The options of `rt.createPool()`: the pool's (docs/pool.md) plus what its connections need. */
export interface CreatePoolOptions<S = unknown>
  extends Omit<PoolOptionsInput, 'protocol' | 'transport' | 'heartbeat' | 'backoff'> {
  /**
   * `wire({ token })`, `resp()`, `custom({ open | connect, … })`; its session type is what
   * leases hand out (with `custom({ connect })`, the library's client).
   */
  readonly protocol: AnyProtocol<S>;
  /** Default `tcp()` (`unix()` for endpoints with a `path`); unused with `custom({ connect })`. */
  readonly transport?: Transport;
  /** The connection actor's heartbeat (docs/connection-actor.md); default interval 5 s. */
  readonly heartbeat?: HeartbeatInput;
  /** Delay between dial attempts of one slot; default exponential, phased jitter, 100 ms .. 30 s, ×2. */
  readonly backoff?: BackoffPolicy;
}

/**
 * The pool's breaker actors are created on their own (a hot-path facade owns each one,
 * health/circuit-breaker.ts), not spawned in the runtime's tree: their inspection events
 * are forwarded to the runtime's system, so `rt.inspect(…)` and the runtime's `inspect`
 * observer see them with the rest of the tree (XState's system hook, present in v5).
 */
function breakerInspection(rt: Runtime, poolId: string): { inspect?: (event: InspectionEvent) => void; breakerIdPrefix: string } {
  const system = rt.root.system as { _sendInspectionEvent?: (event: InspectionEvent) => void };
  const send = system._sendInspectionEvent;
  if (typeof send !== 'function') return { breakerIdPrefix: poolId };
  return { inspect: (event) => send.call(system, event), breakerIdPrefix: poolId };
}

/** Validates everything; throws `InvalidOptionError` naming the `pool.` path. */
function parseCreateOptions(input: unknown): PoolOptions {
  const options = parsePoolOptions(input, 'pool');
  // With discovery there is no endpoint yet: the connection options are checked on a stand-in.
  parseConnectionInput({ endpoint: options.endpoints[0] ?? { host: '127.0.0.1', port: 1 }, ...connectionChildInput(options) }, 'pool');
  if (options.backoff !== undefined && !isBackoffPolicy(options.backoff)) {
    fail('pool.backoff', 'a backoff policy (an object with delayMs(attempt, prevMs, random))', options.backoff);
  }
  return options;
}

/**
 * @internal The body of `rt.createPool()`.
 *
 * @example
 * const pool = createSupervisedPool(rt, { endpoints: [{ host: '127.0.0.1', port }], protocol: wire(), max: 4 });
 */
export function createSupervisedPool<S>(rt: Runtime, input: CreatePoolOptions<S>): Pool<S> {
  const options = parseCreateOptions(input);
  const { id, supervisor, root } = spawnOwnedSupervisor(rt, 'pool', options.id);
  let source: SupervisorSource<S> | undefined;
  let pool: Pool<S> | undefined;
  let core: PoolCore<S>;
  const observe = observeHubOf(rt.root.system);
  try {
    core = createPoolCore<S>({
      options: input,
      scheduler: rt.scheduler,
      random: rt.random,
      onWaited: (waitedMs) => observe.waited(id, waitedMs),
      onDispatchWaited: (waitedMs) => observe.waited(id, waitedMs, 'dispatch'),
      ...breakerInspection(rt, id),
      source: (sink) => (source = new SupervisorSource<S>({
        supervisor, sink, input: connectionChildInput(options), backoff: (options.backoff as BackoffPolicy | undefined) ?? reconnectBackoff,
        scheduler: rt.scheduler, validationTimeoutMs: options.validationTimeoutMs, resetBackoffAfterMs: options.resetBackoffAfterMs,
        onGone: () => void pool?.close(),
      })),
    });
  } catch (err) {
    source?.dispose();
    void root.terminateChild(id).catch(() => {});
    throw err;
  }

  const events = eventSinkOf(rt.root.system);
  const path = supervisor.path;
  core.events$.subscribe((event) => {
    if (events.active) events.emit({ type: 'pool', id, path, event, at: event.at });
  });
  let unregister: () => void = () => {};
  pool = new Pool<S>({
    id, path, core, observe,
    teardown: async () => {
      unregister();
      observe.removePool(pool!);
      source!.dispose();
      // The runtime may already be stopping the tree (shutdown, failure): nothing left to remove.
      await root.terminateChild(id).catch(() => {});
    },
  });
  unregister = rt.register(pool);
  observe.addPool(pool);
  return pool;
}
