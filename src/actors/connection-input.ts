/**
 * Validation and defaults for the connection actor's input.
 *
 * The actor validates its input when it is created (`createActor` / `spawnChild`), so a
 * bad option fails before any socket is opened: the snapshot is in `status: 'error'` with
 * an `InvalidOptionError` naming the path (`connection.heartbeat.intervalMs must be an
 * integer >= 1, got -5`). The pool validates the same options at its own boundary by
 * embedding {@link heartbeatSchema} in its schema.
 *
 * Memory matters here (10k idle connections): a resolved heartbeat is cached per input
 * object, so connections spawned from one options object share one frozen heartbeat.
 */
import { isScheduler, type SchedulerLike } from '../scheduler.js';
import { boolean, clampDurationMs, custom, duration, fail, func, integer, number, optional, parseOptions, shape, string, type Checker } from '../options.js';
import type { AnyProtocol, Endpoint, Transport } from '../transport/types.js';
import type { ConnectionInput, HeartbeatInput, HeartbeatOptions } from './connection-types.js';

/** A heartbeat with every bound resolved (the adaptive range included). */
export type ResolvedHeartbeat = Required<HeartbeatOptions>;

/**
 * Heartbeat defaults. `minIntervalMs` / `maxIntervalMs` default to `intervalMs / 4` and
 * `intervalMs × 4`, `suspicionWindowMs` to `(1 + suspectProbes) × maxTimeoutMs`, and are
 * therefore absent here.
 *
 * @example
 * createActor(connectionMachine, { input: { endpoint, protocol, heartbeat: { ...defaultHeartbeat, intervalMs: 1000 } } });
 */
export const defaultHeartbeat: Readonly<Omit<HeartbeatOptions, 'minIntervalMs' | 'maxIntervalMs' | 'suspicionWindowMs'>> = Object.freeze({
  intervalMs: 5000,
  minTimeoutMs: 100,
  maxTimeoutMs: 2000,
  suspectProbes: 2,
  suspectBackoffMultiplier: 2,
  eluWeight: 0.5,
  adaptive: false,
});

/** Connection-level timeout defaults. */
export const defaultConnectionTimeouts = Object.freeze({
  connectTimeoutMs: 10_000,
  handshakeTimeoutMs: 10_000,
  closeTimeoutMs: 5_000,
});

const heartbeatFields = shape({
  intervalMs: duration({ min: 1, default: defaultHeartbeat.intervalMs }),
  minTimeoutMs: duration({ min: 1, default: defaultHeartbeat.minTimeoutMs }),
  maxTimeoutMs: duration({ min: 1, default: defaultHeartbeat.maxTimeoutMs }),
  suspectProbes: integer({ min: 0, max: 100, default: defaultHeartbeat.suspectProbes }),
  suspectBackoffMultiplier: number({ min: 1, max: 100, default: defaultHeartbeat.suspectBackoffMultiplier }),
  eluWeight: number({ min: 0, max: 100, default: defaultHeartbeat.eluWeight }),
  adaptive: boolean({ default: defaultHeartbeat.adaptive }),
  minIntervalMs: optional(duration({ min: 1 })),
  maxIntervalMs: optional(duration({ min: 1 })),
  suspicionWindowMs: optional(duration({ min: 1 })),
});

const resolvedCache = new WeakMap<object, ResolvedHeartbeat>();
let resolvedDefault: ResolvedHeartbeat | undefined;

/**
 * Resolved heartbeats by value, so that connections built from equal but distinct
 * options objects (a literal per `startChild`) share one frozen object too. Bounded: a
 * process rarely has more than a handful of heartbeat configurations.
 */
const interned = new Map<string, ResolvedHeartbeat>();
const MAX_INTERNED = 256;

function intern(h: ResolvedHeartbeat): ResolvedHeartbeat {
  // Every field, in the schema's order: values are numbers and booleans only.
  const key = Object.entries(h).join(';');
  const known = interned.get(key);
  if (known !== undefined) return known;
  if (interned.size < MAX_INTERNED) interned.set(key, h);
  return h;
}

function resolveHeartbeat(value: unknown, path: string): ResolvedHeartbeat {
  const h = heartbeatFields.check(value, path);
  if (h.minTimeoutMs > h.maxTimeoutMs) {
    fail(`${path}.minTimeoutMs`, `an integer <= ${path}.maxTimeoutMs (${h.maxTimeoutMs})`, h.minTimeoutMs);
  }
  const minIntervalMs = h.minIntervalMs ?? Math.max(1, Math.round(h.intervalMs / 4));
  // Derived defaults are sums and products of valid durations: clamped, or a long
  // interval would give a window a timer cannot wait for (it would fire at once).
  const maxIntervalMs = h.maxIntervalMs ?? clampDurationMs(h.intervalMs * 4);
  if (minIntervalMs > h.intervalMs) {
    fail(`${path}.minIntervalMs`, `an integer <= ${path}.intervalMs (${h.intervalMs})`, minIntervalMs);
  }
  if (maxIntervalMs < h.intervalMs) {
    fail(`${path}.maxIntervalMs`, `an integer >= ${path}.intervalMs (${h.intervalMs})`, maxIntervalMs);
  }
  const suspicionWindowMs = h.suspicionWindowMs ?? clampDurationMs((1 + h.suspectProbes) * h.maxTimeoutMs);
  return intern(Object.freeze({ ...h, minIntervalMs, maxIntervalMs, suspicionWindowMs }));
}

/**
 * The heartbeat options as a schema checker, to embed in a larger schema
 * (`shape({ heartbeat: heartbeatSchema, … })`). Checks cross-field bounds too
 * (`minTimeoutMs <= maxTimeoutMs`, `minIntervalMs <= intervalMs <= maxIntervalMs`).
 *
 * @example
 * const poolSchema = shape({ heartbeat: heartbeatSchema, max: integer({ min: 1, default: 10 }) });
 */
export const heartbeatSchema: Checker<ResolvedHeartbeat> = {
  expected: 'an object',
  optional: true,
  fallback: () => parseHeartbeat(undefined),
  check: (value, path) => {
    if (value === undefined) return (resolvedDefault ??= resolveHeartbeat({}, path));
    if (typeof value !== 'object' || value === null) return resolveHeartbeat(value, path);
    let resolved = resolvedCache.get(value);
    if (resolved === undefined) {
      resolved = resolveHeartbeat(value, path);
      resolvedCache.set(value, resolved);
    }
    return resolved;
  },
};

/**
 * Validates heartbeat options and fills defaults; the result is frozen and shared
 * between calls with the same input object.
 *
 * @example
 * parseHeartbeat({ intervalMs: 1000 }).maxTimeoutMs; // 2000
 * parseHeartbeat({ intervalMs: -5 }); // throws InvalidOptionError: heartbeat.intervalMs must be an integer in [1, 2147483647] (ms), got -5
 */
export function parseHeartbeat(value: unknown, path = 'heartbeat'): ResolvedHeartbeat {
  return heartbeatSchema.check(value, path);
}

/** The connection input after validation: defaults filled, frozen. */
export interface ResolvedConnectionInput {
  readonly endpoint: Endpoint;
  readonly protocol: AnyProtocol;
  readonly transport: Transport | undefined;
  readonly connectTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly heartbeat: ResolvedHeartbeat;
  readonly scheduler: SchedulerLike | undefined;
  readonly random: (() => number) | undefined;
  readonly loadSource: (() => number) | undefined;
  readonly leased: (() => boolean) | undefined;
}

const endpointSchema = shape({
  host: optional(string({ nonEmpty: true })),
  port: optional(integer({ min: 1, max: 65535 })),
  path: optional(string({ nonEmpty: true })),
  priority: optional(integer()),
  weight: optional(number({ min: 0 })),
  servername: optional(string()),
});

/** A stream protocol (`open`) or a connect protocol (`connect`): exactly one of the two. */
function isProtocol(v: unknown): boolean {
  const p = v as AnyProtocol | null | undefined;
  return typeof p === 'object' && p !== null && (typeof p.open === 'function') !== (typeof p.connect === 'function') &&
    typeof p.probe === 'function' && typeof p.close === 'function';
}

function isTransport(v: unknown): boolean {
  return typeof v === 'object' && v !== null && typeof (v as Transport).dial === 'function';
}

const connectionSchema = shape({
  endpoint: endpointSchema,
  protocol: custom<AnyProtocol>('a Protocol (an object with probe, close and exactly one of open and connect)', isProtocol),
  transport: optional(custom<Transport>('a Transport (an object with a dial function)', isTransport)),
  connectTimeoutMs: duration({ min: 1, default: defaultConnectionTimeouts.connectTimeoutMs }),
  handshakeTimeoutMs: duration({ min: 1, default: defaultConnectionTimeouts.handshakeTimeoutMs }),
  closeTimeoutMs: duration({ min: 0, default: defaultConnectionTimeouts.closeTimeoutMs }),
  heartbeat: heartbeatSchema,
  scheduler: optional(custom<SchedulerLike>('a SchedulerLike (schedule and now functions)', isScheduler)),
  random: optional(func<() => number>()),
  loadSource: optional(func<() => number>()),
  leased: optional(func<() => boolean>()),
});

/** The options of a component that spawns connections (a pool, a subscriber) that go into each one's input. */
export interface ConnectionOptionsLike {
  readonly protocol: object;
  readonly transport?: object;
  readonly heartbeat?: object;
  readonly connectTimeoutMs?: number;
  readonly handshakeTimeoutMs?: number;
}

/** The connection actor's input without the endpoint, from a component's options; absent options stay absent. */
export function connectionChildInput(o: ConnectionOptionsLike): Omit<ConnectionInput, 'endpoint'> {
  return {
    protocol: o.protocol as AnyProtocol,
    ...(o.transport === undefined ? {} : { transport: o.transport as Transport }),
    ...(o.heartbeat === undefined ? {} : { heartbeat: o.heartbeat as HeartbeatInput }),
    ...(o.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: o.connectTimeoutMs }),
    ...(o.handshakeTimeoutMs === undefined ? {} : { handshakeTimeoutMs: o.handshakeTimeoutMs }),
  };
}

/**
 * Validates a {@link ConnectionInput}. An endpoint needs either `path` (unix) or `port`
 * (tcp/tls; `host` defaults to the transport's, 127.0.0.1 for the built-ins).
 *
 * @example
 * const input = parseConnectionInput({ endpoint: { host: '127.0.0.1', port: 7000 }, protocol: wire() });
 * input.heartbeat.intervalMs; // 5000
 */
export function parseConnectionInput(input: ConnectionInput | undefined, path = 'connection'): ResolvedConnectionInput {
  const parsed = parseOptions(path, connectionSchema, input);
  const { endpoint } = parsed;
  if (endpoint.path === undefined && endpoint.port === undefined) {
    fail(`${path}.endpoint`, 'an object with a port (tcp, tls) or a path (unix)', endpoint);
  }
  // A connect-mode library dials by itself: a transport would never be used, so saying
  // nothing would let a user believe their TLS or unix settings apply.
  if (parsed.transport !== undefined && typeof (parsed.protocol as { connect?: unknown }).connect === 'function') {
    fail(`${path}.transport`, 'absent with a connect-mode protocol (custom({ connect }) dials by itself: give the library its own socket or TLS options)', parsed.transport);
  }
  return parsed as ResolvedConnectionInput;
}
