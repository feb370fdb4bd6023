/**
 * The options of `rt.createSubscriber()`, validated once at the subscriber's boundary
 * with `subscriber.` paths, as the pool's are (create-pool.ts): the subscriber's own
 * schema (unknown keys rejected), then the connection actor's input check (endpoint,
 * transport, heartbeat, timeouts), then the backoff policy. A bad option throws
 * `WW_INVALID_OPTION` before any actor or socket exists.
 *
 * The protocol must be a `resp()` protocol: subscribing needs its session's pub/sub
 * methods. Its password stays inside it (resp.ts); nothing here reads or prints it.
 */
import { connectionChildInput, parseConnectionInput } from '../actors/connection-input.js';
import type { ConnectionInput, HeartbeatInput } from '../actors/connection-types.js';
import { custom, duration, isObject, optional, parseOptions, shape } from '../options.js';
import { isBackoffPolicy, reconnectBackoff, type BackoffPolicy } from '../supervisor/backoff.js';
import type { RespSession } from '../transport/resp-session.js';
import type { Endpoint, Protocol, Transport } from '../transport/types.js';

/** What `rt.createSubscriber()` takes (docs/pubsub.md). */
export interface CreateSubscriberOptions {
  /** The Redis server: `{ host, port }`, or `{ path }` for a unix socket. */
  readonly endpoint: Endpoint;
  /** `resp({ password, protocolVersion })`: RESP2 (subscriber mode) or RESP3 (pushes). */
  readonly protocol: Protocol<RespSession>;
  /** Default `tcp()` (`unix()` for an endpoint with a `path`). */
  readonly transport?: Transport;
  /** The connection actor's heartbeat (docs/connection-actor.md); default interval 5 s. */
  readonly heartbeat?: HeartbeatInput;
  /** Delay between connection attempts; default exponential, phased jitter, 100 ms .. 30 s, ×2. */
  readonly backoff?: BackoffPolicy;
  /** Default 10000. */
  readonly connectTimeoutMs?: number;
  /** Default 10000. */
  readonly handshakeTimeoutMs?: number;
  /** The subscriber's supervisor id under the runtime's root; default `subscriber-<n>`. */
  readonly id?: string;
}

const isResp = (v: unknown): boolean =>
  isObject(v) && (v as { name?: unknown }).name === 'resp' && typeof (v as { open?: unknown }).open === 'function';

const subscriberSchema = shape({
  endpoint: custom<object>('an endpoint object ({ host, port } or { path })', isObject),
  protocol: custom<object>('a resp() protocol', isResp),
  transport: optional(custom<object>('a transport object', isObject)),
  heartbeat: optional(custom<object>('an object', isObject)),
  backoff: optional(custom<BackoffPolicy>('a backoff policy (an object with delayMs(attempt, prevMs, random))', isBackoffPolicy)),
  connectTimeoutMs: optional(duration({ min: 1 })),
  handshakeTimeoutMs: optional(duration({ min: 1 })),
  id: optional(custom<string>('a non-empty string without "/"', (v) => typeof v === 'string' && v.length > 0 && !v.includes('/'))),
});

/** The connection actor's input, shared by every incarnation. */
export type SubscriberConnectionInput = Pick<
  ConnectionInput, 'endpoint' | 'protocol' | 'transport' | 'heartbeat' | 'connectTimeoutMs' | 'handshakeTimeoutMs'
>;

/** Validated options: the child input, the backoff (defaulted) and the id if given. */
export interface ParsedSubscriberOptions {
  readonly id: string | undefined;
  readonly backoff: BackoffPolicy;
  readonly input: SubscriberConnectionInput;
}

/**
 * Validates `rt.createSubscriber()` options; throws `InvalidOptionError` naming the path.
 *
 * @example
 * parseSubscriberOptions({ endpoint: { host: '127.0.0.1', port: 6379 }, protocol: wire() });
 * // throws: subscriber.protocol must be a resp() protocol, got an object
 */
export function parseSubscriberOptions(input: unknown): ParsedSubscriberOptions {
  const o = parseOptions('subscriber', subscriberSchema, input);
  const child: SubscriberConnectionInput = { endpoint: o.endpoint as Endpoint, ...connectionChildInput(o) };
  parseConnectionInput(child, 'subscriber');
  return Object.freeze({ id: o.id, backoff: o.backoff ?? reconnectBackoff, input: Object.freeze(child) });
}
