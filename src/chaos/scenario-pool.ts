/**
 * The pool under test: the runner's (`connections` connections, min = max, the
 * scenario's heartbeat and backoff, `target.protocol` or `wire()`, plus `target.pool`'s
 * options), or the scenario's own (`target.createPool`), built on the run's runtime
 * towards the link's endpoints so that the recorder sees its connections and the link
 * sits in their path.
 *
 * What the recorder needs from either: the pool's event path, how many connections make
 * it "all up" (a user's pool: its `min`), and its heartbeat's detection bound.
 *
 * A connect-mode protocol (`custom({ connect })`) dials by itself: the run's transport is
 * not in its path. On real sockets that is fine — the endpoints it is given are the chaos
 * proxies' — but the simulated network exists only inside that transport, so there the
 * library would dial a real socket to an address nothing answers: refused, saying why.
 */
import { parseHeartbeat } from '../actors/connection-input.js';
import type { Pool } from '../pool/pool.js';
import type { Runtime } from '../runtime.js';
import type { AnyProtocol, Endpoint, Transport } from '../transport/types.js';
import { wire } from '../transport/wire.js';
import { resolvedBoundMs } from './define-scenario.js';
import type { RunMode, Scenario } from './scenario-types.js';

export interface ScenarioPool<S> {
  readonly pool: Pool<S>;
  /** Connections that must be up for the pool to be "all up". */
  readonly expected: number;
  readonly detectionBoundMs: number;
}

/** @internal */
export function createScenarioPool<S>(
  scenario: Pick<Scenario<unknown, S>, 'target' | 'heartbeat' | 'backoff' | 'connections' | 'detectionBoundMs'>,
  runtime: Runtime,
  endpoints: readonly Endpoint[],
  transport: Transport | undefined,
  timeoutMs: number,
  mode: RunMode,
): ScenarioPool<S> {
  const target = scenario.target;
  if (target?.createPool) {
    const pool = target.createPool({
      runtime, endpoints, transport, heartbeat: scenario.heartbeat, backoff: scenario.backoff, connections: scenario.connections,
    });
    if (mode === 'simulated' && dialsByItself(pool.options.protocol)) {
      void pool.close();
      throw new Error(connectModeRefusal('target.createPool(...) returned a pool whose protocol'));
    }
    const expected = pool.options.min;
    if (expected < 1) {
      throw new Error(`target.createPool returned a pool with min ${expected}: give it min >= 1, so that there are connections to watch and fault`);
    }
    const heartbeat = parseHeartbeat(pool.options.heartbeat, 'target.createPool(...).heartbeat');
    return { pool, expected, detectionBoundMs: resolvedBoundMs(heartbeat, timeoutMs) };
  }
  if (mode === 'simulated' && dialsByItself(target?.protocol)) throw new Error(connectModeRefusal('target.protocol'));
  const protocol = (target?.protocol ?? wire({ requestTimeoutMs: timeoutMs, closeTimeoutMs: 500 })) as AnyProtocol<S>;
  const pool = runtime.createPool<S>({
    id: 'scenario',
    endpoints: [...endpoints],
    protocol,
    ...(transport ? { transport } : {}),
    min: scenario.connections,
    max: scenario.connections,
    heartbeat: scenario.heartbeat,
    backoff: scenario.backoff,
    acquireTimeoutMs: timeoutMs,
    connectTimeoutMs: 1000,
    handshakeTimeoutMs: 1000,
    closeTimeoutMs: 1000,
    ...target?.pool,
  });
  return { pool, expected: scenario.connections, detectionBoundMs: scenario.detectionBoundMs };
}

/** A connect-mode protocol: its library opens its own sockets. */
function dialsByItself(protocol: unknown): boolean {
  return typeof (protocol as { connect?: unknown } | undefined)?.connect === 'function';
}

function connectModeRefusal(what: string): string {
  return `${what} is a connect-mode protocol (custom({ connect })): its library dials by itself, around the simulated network, ` +
    "so it cannot run simulated; run the scenario on real sockets (mode 'real', the CLI's default), where it dials the chaos proxy's endpoint";
}
