/**
 * A pool on a fresh runtime with everything it reports recorded, for integration tests
 * against real servers (Redis, PostgreSQL): the runtime is shut down after `body`, pass or
 * fail.
 */
import {
  createRuntime,
  type Pool, type PoolConnectionClosedEvent, type PoolEvent, type RestartEvent, type Runtime, type RuntimeEvent, type StateEvent,
} from '../../src/index.js';

export interface PoolUnderTest<S> {
  readonly rt: Runtime;
  readonly pool: Pool<S>;
  /** Everything `pool.events$` emitted, in order. */
  readonly events: PoolEvent[];
  /** Everything `rt.events$` emitted (pool events included, as `type: 'pool'`). */
  readonly runtimeEvents: RuntimeEvent[];
  /** Connections that died (`connection-closed` with reason `dead`). */
  deaths(): PoolConnectionClosedEvent[];
  /** The supervisor's restart decisions for this pool's connections. */
  restarts(): RestartEvent[];
  /** Connection state changes to `dead`, with the actor's reason (`heartbeat-timeout`…). */
  deadStates(): StateEvent[];
}

/** Runs `body` with the pool `create` makes on a new runtime, recording its events. */
export async function withPoolUnderTest<S>(
  create: (rt: Runtime) => Pool<S>,
  body: (t: PoolUnderTest<S>) => Promise<void>,
): Promise<void> {
  const rt = createRuntime();
  try {
    const runtimeEvents: RuntimeEvent[] = [];
    rt.events$.subscribe((e) => runtimeEvents.push(e));
    const pool = create(rt);
    const events: PoolEvent[] = [];
    pool.events$.subscribe((e) => events.push(e));
    const mine = (path: string): boolean => path.startsWith(`${pool.path}/`);
    await body({
      rt,
      pool,
      events,
      runtimeEvents,
      deaths: () => events.filter((e): e is PoolConnectionClosedEvent => e.type === 'connection-closed' && e.reason === 'dead'),
      restarts: () => runtimeEvents.filter((e): e is RestartEvent => e.type === 'restart' && mine(e.path)),
      deadStates: () => runtimeEvents.filter((e): e is StateEvent => e.type === 'state' && e.to === 'dead' && mine(e.path)),
    });
  } finally {
    await rt.shutdown();
  }
}
