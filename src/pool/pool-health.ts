/**
 * `pool.health()`: can this pool serve now, and if not, why — as plain data, ready to
 * back a `/healthz` (live) and a `/readyz` (ready) endpoint.
 *
 * A pure function of the pool's counts and endpoint records: no I/O, no probe, no
 * clock read. A health check that dialled or sent a PING would put load on the backend
 * exactly when it struggles, and it would only repeat what the heartbeat of every idle
 * connection already found out.
 *
 *   closing/closed ─────────────────────────────▶ not live, not ready ('closed')
 *   nothing open, every endpoint refuses ───────▶ not ready ('refused')
 *   something open, a queue at maxWaiting ──────▶ not ready ('saturated')
 *   something open ─────────────────────────────▶ ready
 *   nothing open, dials failing everywhere ─────▶ not ready ('unreachable')
 *   nothing open, first dials still running ────▶ not ready ('connecting')
 *   nothing open, nothing dialing (min 0) ──────▶ ready: an acquire opens one
 *   no endpoint yet (discovery has not answered) ▶ not ready ('discovering')
 *
 * Live answers "is the pool usable at all" (a closed pool never recovers: restart the
 * process); ready answers "send me traffic now" (it flips back by itself).
 */
import { WirewardenError } from '../errors.js';

/** How one endpoint looks from the pool. */
export type EndpointHealthState =
  /** At least one connection to it is open. */
  | 'up'
  /** Dials to it are running; none failed since the last success, none open yet. */
  | 'connecting'
  /** Its last dial failed (refused, timed out…); the pool retries with backoff. */
  | 'down'
  /** It rejected the handshake for a reason a retry cannot fix (`WW_HANDSHAKE_REFUSED`: bad credentials…). */
  | 'refused'
  /** Nothing open, nothing dialing, nothing failed: not needed yet (`min` 0, a failover group at rest). */
  | 'unused';

/** Why a pool is not ready. */
export type PoolUnreadyReason = 'closed' | 'refused' | 'saturated' | 'unreachable' | 'connecting' | 'discovering'
  /** No endpoint can take a call (every breaker open, or ejected, or refused): calls fail fast with `WW_CIRCUIT_OPEN`. */
  | 'circuit-open';

/** How a pool's endpoint discovery stands (`endpoints` given as a provider). */
export interface DiscoveryHealth {
  /** The provider's `kind` (`redis-sentinel`, `observable`, `function`). */
  readonly source: string;
  /** True once a set was taken: before that the pool has no endpoint. */
  readonly resolved: boolean;
  /** Scheduler time of the last set taken. */
  readonly updatedAt?: number;
  /** Sets taken since start. */
  readonly changes: number;
  /** Discovery errors since start. */
  readonly errors: number;
  /** The latest discovery error, when it happened (its code and message: never a credential). */
  readonly lastError?: { readonly code: string; readonly message: string; readonly at: number };
}

export interface EndpointHealth {
  /** `host:port` or the socket path (as in `stats().endpoints`). */
  readonly endpoint: string;
  readonly state: EndpointHealthState;
  readonly open: number;
  readonly pending: number;
  /** The last failed dial while it is `down` or `refused`: its code and message (never a credential). */
  readonly lastError?: { readonly code: string; readonly message: string };
  /** Its circuit breaker's state, when the pool has breakers (`open`: it takes no call until trials). */
  readonly breaker?: 'closed' | 'open' | 'half-open';
  /** Its outlier-ejection state, when ejection is on (`ejected`: out of rotation for a while). */
  readonly outlier?: 'healthy' | 'ejected' | 'probation';
}

export interface PoolHealth {
  /** False once the pool is closing or closed (it never serves again). */
  readonly live: boolean;
  /** True when an acquire can be served now, or by opening a connection now. */
  readonly ready: boolean;
  /** Why not ready; absent when ready. */
  readonly reason?: PoolUnreadyReason;
  /** One sentence for people: `every endpoint refused the handshake (127.0.0.1:7000: WW_HANDSHAKE_REFUSED)`. */
  readonly message: string;
  readonly open: number;
  readonly idle: number;
  readonly leased: number;
  /** Connections carrying shared dispatches. */
  readonly shared: number;
  /** Dispatches running. */
  readonly inFlight: number;
  readonly pending: number;
  readonly waiting: number;
  /** Dispatches queued. */
  readonly dispatchWaiting: number;
  readonly max: number;
  /** The current endpoints (with discovery: the last set taken). */
  readonly endpoints: readonly EndpointHealth[];
  /** Present when `endpoints` is a discovery provider. */
  readonly discovery?: DiscoveryHealth;
  /** Present when the pool sheds load (`shedding` option): true while new waiters are refused. */
  readonly shedding?: boolean;
  /** The priority group carrying new connections (failover and failback). */
  readonly activePriority?: number;
}

/** What the core hands `poolHealth`: plain counts and records. */
export interface PoolHealthInput {
  readonly closed: boolean;
  readonly open: number;
  readonly idle: number;
  readonly leased: number;
  readonly shared?: number;
  readonly inFlight?: number;
  readonly pending: number;
  readonly waiting: number;
  readonly dispatchWaiting?: number;
  readonly max: number;
  readonly maxWaiting: number;
  readonly endpoints: readonly {
    readonly key: string;
    readonly open: number;
    readonly pending: number;
    readonly consecutiveFailures: number;
    /** The refusal while the endpoint refuses the handshake. */
    readonly refused: unknown;
    readonly lastError: unknown;
    /** Its breaker's state, when the pool has breakers. */
    readonly breakerState?: 'closed' | 'open' | 'half-open';
    /** Its outlier-ejection state, when ejection is on. */
    readonly outlierState?: 'healthy' | 'ejected' | 'probation';
  }[];
  /** Set while no endpoint can take a call: why (the fail-fast error's message). */
  readonly circuitOpen?: string;
  /** Load shedding is refusing new waiters now (absent: the pool does not shed). */
  readonly shedding?: boolean;
  readonly activePriority?: number;
  readonly discovery?: DiscoveryHealth;
}

export function describeError(error: unknown): { code: string; message: string } | undefined {
  if (error === undefined) return undefined;
  if (error instanceof WirewardenError) return { code: error.code, message: error.message };
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : error.name, message: error.message };
  }
  return { code: 'unknown', message: String(error) };
}

function endpointHealth(e: PoolHealthInput['endpoints'][number]): EndpointHealth {
  let state: EndpointHealthState;
  if (e.open > 0) state = 'up';
  else if (e.refused !== undefined) state = 'refused';
  else if (e.consecutiveFailures > 0) state = 'down';
  else if (e.pending > 0) state = 'connecting';
  else state = 'unused';
  const base: { -readonly [K in keyof EndpointHealth]: EndpointHealth[K] } = { endpoint: e.key, state, open: e.open, pending: e.pending };
  const lastError = state === 'down' || state === 'refused' ? describeError(e.refused ?? e.lastError) : undefined;
  if (lastError !== undefined) base.lastError = lastError;
  if (e.breakerState !== undefined) base.breaker = e.breakerState;
  if (e.outlierState !== undefined) base.outlier = e.outlierState;
  return base;
}

const why = (endpoints: readonly EndpointHealth[]) =>
  endpoints.map((e) => `${e.endpoint}: ${e.lastError?.code ?? e.state}`).join('; ');

/**
 * The health of a pool in the state `input` describes. Pure: the same input gives the
 * same answer.
 *
 * @example
 * poolHealth({ closed: false, open: 0, idle: 0, leased: 0, pending: 2, waiting: 0, max: 4, maxWaiting: Infinity,
 *   endpoints: [{ key: '127.0.0.1:7000', open: 0, pending: 2, consecutiveFailures: 3, refused: undefined, lastError: err }] });
 * // → { live: true, ready: false, reason: 'unreachable', message: 'no connection open and every endpoint is failing (127.0.0.1:7000: WW_DIAL_REFUSED)', … }
 */
export function poolHealth(input: PoolHealthInput): PoolHealth {
  const endpoints = input.endpoints.map(endpointHealth);
  const { open, idle, leased, pending, waiting, max } = input;
  const shared = input.shared ?? 0;
  const inFlight = input.inFlight ?? 0;
  const dispatchWaiting = input.dispatchWaiting ?? 0;
  const discovery = input.discovery;
  const figures = {
    open, idle, leased, shared, inFlight, pending, waiting, dispatchWaiting, max, endpoints,
    ...(discovery === undefined ? {} : { discovery }),
    ...(input.shedding === undefined ? {} : { shedding: input.shedding }),
    ...(input.activePriority === undefined ? {} : { activePriority: input.activePriority }),
  };
  const verdict = (live: boolean, reason: PoolUnreadyReason | undefined, message: string): PoolHealth =>
    Object.freeze(reason === undefined ? { live, ready: true, message, ...figures } : { live, ready: false, reason, message, ...figures });

  if (input.closed) return verdict(false, 'closed', 'the pool is closing or closed');
  if (discovery !== undefined && !discovery.resolved) {
    const last = discovery.lastError === undefined ? '' : ` (last error: ${discovery.lastError.code}: ${discovery.lastError.message})`;
    return verdict(true, 'discovering', `no endpoint yet: waiting for the first set from ${discovery.source}${last}`);
  }
  if (input.circuitOpen !== undefined) return verdict(true, 'circuit-open', input.circuitOpen);
  if (open > 0) {
    if (waiting >= input.maxWaiting) {
      return verdict(true, 'saturated', `every connection is busy and ${waiting} acquires queue (maxWaiting ${input.maxWaiting})`);
    }
    if (dispatchWaiting >= input.maxWaiting && dispatchWaiting > 0) {
      return verdict(true, 'saturated', `every connection is busy and ${dispatchWaiting} dispatches queue (maxWaiting ${input.maxWaiting})`);
    }
    const sharedPart = shared > 0 ? `, ${shared} shared` : '';
    return verdict(true, undefined, `${open} connection${open === 1 ? '' : 's'} open (${idle} idle, ${leased} leased${sharedPart})`);
  }
  if (endpoints.length > 0 && endpoints.every((e) => e.state === 'refused')) {
    return verdict(true, 'refused', `every endpoint refused the handshake (${why(endpoints)})`);
  }
  if (endpoints.length > 0 && endpoints.every((e) => e.state === 'down' || e.state === 'refused')) {
    return verdict(true, 'unreachable', `no connection open and every endpoint is failing (${why(endpoints)})`);
  }
  if (pending > 0) return verdict(true, 'connecting', `no connection open yet; ${pending} dialing`);
  return verdict(true, undefined, 'no connection open; an acquire opens one');
}
