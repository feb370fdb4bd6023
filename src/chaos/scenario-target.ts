/**
 * `scenario.target`: what a scenario tests when it is not the runner's echo wire server
 * and `wire()` pool. Validated when the scenario is defined, like every other option, so
 * a contradiction (a server and external endpoints, a protocol with no request to send)
 * fails before any socket opens, naming the path.
 *
 *   where the server is        handler | server | endpoints   (at most one; none: echo)
 *   how clients connect        protocol + pool | createPool   (none: wire() + defaults)
 *   what the workload sends    request                        (default: wire `{ id }`)
 *
 * The default request is the only one whose reply the runner can check (it carries the
 * request's id back); a request of the user's counts as acknowledged when it resolves.
 */
import { InvalidOptionError } from '../errors.js';
import { arrayOf, custom, func, integer, isObject, optional, parseOptions, shape, string, number } from '../options.js';
import type { AnyProtocol } from '../transport/types.js';
import type { WireSession } from '../transport/wire-session.js';
import type { ScenarioTarget, WorkloadRequest } from './scenario-types.js';

const endpointSchema = shape({
  host: optional(string({ nonEmpty: true })),
  port: optional(integer({ min: 1, max: 65535 })),
  path: optional(string({ nonEmpty: true })),
  priority: optional(integer({ min: 0 })),
  weight: optional(number({ min: 0 })),
  servername: optional(string()),
});

/** A stream protocol (`open`) or a connect protocol (`connect`, real sockets only): exactly one of the two. */
const isProtocol = (v: unknown): boolean =>
  isObject(v) && (typeof v.open === 'function') !== (typeof v.connect === 'function') &&
  typeof v.probe === 'function' && typeof v.close === 'function';

const targetSchema = shape({
  handler: optional(func<NonNullable<ScenarioTarget['handler']>>()),
  server: optional(func<NonNullable<ScenarioTarget['server']>>()),
  endpoints: optional(arrayOf(endpointSchema, { minLength: 1 })),
  protocol: optional(custom<AnyProtocol<unknown>>('a Protocol (wire(), resp(), custom({ open | connect, ... }))', isProtocol)),
  pool: optional(custom<object>('pool options', isObject)),
  createPool: optional(func<NonNullable<ScenarioTarget['createPool']>>()),
  request: optional(func<NonNullable<ScenarioTarget['request']>>()),
});

const FORBIDDEN_POOL_KEYS = ['id', 'endpoints', 'protocol', 'transport', 'min', 'max', 'heartbeat', 'backoff'] as const;
const OWNED_BY = 'set by the scenario (endpoints and transport by the runner, min/max by connections, heartbeat and backoff by their own options)';

/** @internal Validates `scenario.target`; `workload` says whether requests will be sent. */
export function parseTarget<S>(value: unknown, workload: boolean): ScenarioTarget<S> | undefined {
  if (value === undefined) return undefined;
  const t = parseOptions('scenario.target', targetSchema, value);
  const where = (['handler', 'server', 'endpoints'] as const).filter((k) => t[k] !== undefined);
  if (where.length > 1) {
    throw new InvalidOptionError(`scenario.target.${where[0]} and scenario.target.${where[1]} exclude each other: the system under test is in one place`);
  }
  t.endpoints?.forEach((e, i) => {
    if (e.path !== undefined || e.port === undefined) {
      throw new InvalidOptionError(`scenario.target.endpoints[${i}] must be a host and port: the chaos proxy in front of it forwards TCP`);
    }
  });
  if (t.pool !== undefined && t.createPool !== undefined) {
    throw new InvalidOptionError('scenario.target.pool and scenario.target.createPool exclude each other: give createPool its options yourself');
  }
  if (t.protocol !== undefined && t.createPool !== undefined) {
    throw new InvalidOptionError('scenario.target.protocol and scenario.target.createPool exclude each other: your pool already has its protocol');
  }
  if (t.protocol !== undefined && t.request === undefined && workload) {
    throw new InvalidOptionError(
      'scenario.target.request is required with scenario.target.protocol: the workload cannot guess what to send (or set workload: false)',
    );
  }
  if (t.pool !== undefined) {
    for (const key of FORBIDDEN_POOL_KEYS) {
      if (key in t.pool) throw new InvalidOptionError(`scenario.target.pool.${key} is ${OWNED_BY}`);
    }
  }
  return Object.freeze({ ...t }) as ScenarioTarget<S>;
}

/** What the workload does on a connection, and whether its reply proves which request it answers. */
export interface TargetRequest<S> {
  readonly send: (conn: S, request: WorkloadRequest) => unknown;
  /** True for the default wire request: the reply must carry the request's id. */
  readonly checksReplyId: boolean;
}

const wireRequest = (conn: WireSession, { id, signal }: WorkloadRequest) => conn.request<{ id?: unknown } | null>({ id }, { signal });

/** @internal The request the workload sends for `target`. */
export function targetRequest<S>(target: ScenarioTarget<S> | undefined): TargetRequest<S> {
  if (target?.request !== undefined) return { send: target.request, checksReplyId: false };
  return { send: wireRequest as unknown as TargetRequest<S>['send'], checksReplyId: true };
}
