/**
 * OpenTelemetry spans for what a request and a connection go through, and the trace id
 * in wirewarden's events:
 *
 *   your span { wirewarden.connection.path } ─ wirewarden.pool.acquire   (default; the
 *                                                 acquire span only when it waited ≥ 1 ms)
 *   your span ─▶ wirewarden.pool.use ─▶ wirewarden.pool.acquire             (requestSpans: true)
 *   wirewarden.connection.connect ─┬─ wirewarden.connection.dial       (transport connect)
 *                                  └─ wirewarden.connection.handshake  (protocol open/auth)
 *
 * `pool.use` asks the runtime's hub for a tracer on every call (observe-hub.ts). Only
 * inside a recording span of yours does it record anything (untraced work pays one
 * context lookup), and by default no span per request: an SDK span costs about as much
 * CPU as a whole loopback request (bench/observability-overhead.ts), so the request is
 * your span, annotated with the connection that served it (`wirewarden.connection.path`,
 * the `path` of its events); a wait for a connection, the part wirewarden adds to your
 * latency, gets its own span. `requestSpans: true` makes a use span per request instead.
 * Every event emitted while a span records carries its `traceId`/`spanId`: a slow
 * request's trace leads to the connection's events, and an event (ready → suspect after
 * a request timed out) to the trace of the request that saw it.
 *
 * Connection spans are made after the fact from the runtime's events (a dial's start and
 * end) and the connection's snapshots during the dial (when the handshake began), with
 * their real start and end times: nothing is added to the connection actor. They are
 * root spans: a dial belongs to the pool, not to the request that happened to be waiting.
 *
 * Spans carry ids, endpoints and error codes, never a credential (errors of wirewarden
 * name endpoints only).
 */
import { setMaxListeners } from 'node:events';
import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api';
import type { AcquireOptions } from '../pool/acquire-options.js';
import type { Lease } from '../pool/lease.js';
import type { Pool } from '../pool/pool.js';
import type { ConnectionWatch, DialTimeline } from './connection-watch.js';
import { EventBus, type RuntimeEvent } from './events.js';
import type { LeaseSource, ObserveHub, PoolTracing } from './observe-hub.js';
import type { RuntimeObserver } from './runtime-observer.js';

/** The parts of `@opentelemetry/api` used here. */
export interface OtelTraceApi {
  readonly context: { active(): Context; with<F extends (...args: never[]) => unknown>(ctx: Context, fn: F): ReturnType<F> };
  readonly trace: { getSpan(ctx: Context): Span | undefined; setSpan(ctx: Context, span: Span): Context };
  readonly SpanKind: { readonly CLIENT: number; readonly INTERNAL: number };
  readonly SpanStatusCode: { readonly ERROR: number };
}

/** `use`'s signal when the caller gave none: never aborts (one for all calls, like the pool's). */
const NEVER_ABORTED = new AbortController().signal;
setMaxListeners(0, NEVER_ABORTED);

function failSpan(api: OtelTraceApi, span: Span, err: unknown): void {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (err instanceof Error) span.recordException(err);
  span.setStatus({ code: api.SpanStatusCode.ERROR as 2, message: typeof code === 'string' ? code : err instanceof Error ? err.name : 'error' });
  if (typeof code === 'string') span.setAttribute('error.type', code);
}

/** What `pool.use` records: the caller's span annotated (default), or spans of its own per request. */
export interface PoolTraceOptions {
  /** A `wirewarden.pool.use` span (with an acquire child) for every traced request. Default false. */
  readonly requestSpans: boolean;
  /** With `requestSpans`: only inside a recording span of the caller. Default true. */
  readonly requireParentSpan: boolean;
}

/** An acquire that waited this long gets a span of its own, even without `requestSpans`. */
export const ACQUIRE_SPAN_MIN_WAIT_MS = 1;

class PoolUseTracer implements PoolTracing {
  readonly #api: OtelTraceApi;
  readonly #tracer: Tracer;
  readonly #observer: RuntimeObserver;
  readonly #options: PoolTraceOptions;
  readonly #clock: { now(): number };

  constructor(api: OtelTraceApi, tracer: Tracer, observer: RuntimeObserver, options: PoolTraceOptions, clock: { now(): number }) {
    this.#api = api;
    this.#clock = clock;
    this.#tracer = tracer;
    this.#observer = observer;
    this.#options = options;
  }

  use<S, R>(pool: Pool<S>, leases: LeaseSource<S>, fn: (conn: S, signal: AbortSignal) => R | Promise<R>,
    options: AcquireOptions | undefined): Promise<R> {
    const api = this.#api;
    const parent = api.context.active();
    const caller = api.trace.getSpan(parent);
    const recording = caller !== undefined && caller.isRecording();
    if (this.#options.requestSpans) {
      if (this.#options.requireParentSpan && !recording) return plainUse(leases, fn, options);
      const span = this.#tracer.startSpan('wirewarden.pool.use', { kind: api.SpanKind.CLIENT as 2, attributes: { 'wirewarden.pool': pool.id } }, parent);
      const ctx = api.trace.setSpan(parent, span);
      return api.context.with(ctx, () => this.#run(pool, leases, fn, options, span, ctx));
    }
    return recording ? this.#annotate(pool, leases, fn, options, caller, parent) : plainUse(leases, fn, options);
  }

  /**
   * The default: no span per request (an SDK span costs about as much CPU as a loopback
   * request). The caller's span gets the connection's path as an attribute, and an
   * acquire that waited gets a span of its own, after the fact.
   */
  async #annotate<S, R>(pool: Pool<S>, leases: LeaseSource<S>, fn: (conn: S, signal: AbortSignal) => R | Promise<R>,
    options: AcquireOptions | undefined, caller: Span, parent: Context): Promise<R> {
    const startedAt = this.#clock.now();
    let lease: Lease<S>;
    try {
      lease = await leases.acquire(options);
    } catch (err) {
      this.#acquireSpan(pool, parent, startedAt, undefined, err);
      throw err;
    }
    const waitedMs = this.#clock.now() - startedAt;
    if (waitedMs >= ACQUIRE_SPAN_MIN_WAIT_MS) this.#acquireSpan(pool, parent, startedAt, this.#connectionAttributes(pool, lease.connectionId), undefined);
    // One attribute (~0.06 µs; an SDK span event costs ~1 µs): the last connection this request used.
    caller.setAttribute('wirewarden.connection.path', `${pool.path}/${lease.connectionId}`);
    try {
      return await fn(lease.conn, options?.signal ?? NEVER_ABORTED);
    } finally {
      lease.release();
    }
  }

  /** A `wirewarden.pool.acquire` span from `startedAt` to now (the runtime's clock, like every wirewarden time). */
  #acquireSpan(pool: { readonly id: string; readonly path: string }, parent: Context, startedAt: number, connection: Attributes | undefined, err: unknown): void {
    const span = this.#tracer.startSpan('wirewarden.pool.acquire', {
      kind: this.#api.SpanKind.INTERNAL as 0, startTime: startedAt, attributes: { 'wirewarden.pool': pool.id, ...connection },
    }, parent);
    if (err !== undefined) failSpan(this.#api, span, err);
    span.end(this.#clock.now());
  }

  async #run<S, R>(pool: Pool<S>, leases: LeaseSource<S>, fn: (conn: S, signal: AbortSignal) => R | Promise<R>,
    options: AcquireOptions | undefined, span: Span, ctx: Context): Promise<R> {
    const api = this.#api;
    const acquire = this.#tracer.startSpan('wirewarden.pool.acquire', { kind: api.SpanKind.INTERNAL as 0, attributes: { 'wirewarden.pool': pool.id } }, ctx);
    let lease: Lease<S>;
    try {
      lease = await leases.acquire(options);
    } catch (err) {
      failSpan(api, acquire, err);
      acquire.end();
      failSpan(api, span, err);
      span.end();
      throw err;
    }
    const connection = this.#connectionAttributes(pool, lease.connectionId);
    acquire.setAttributes(connection);
    acquire.end();
    span.setAttributes(connection);
    try {
      return await fn(lease.conn, options?.signal ?? NEVER_ABORTED);
    } catch (err) {
      failSpan(api, span, err);
      throw err;
    } finally {
      lease.release();
      span.end();
    }
  }

  #connectionAttributes(pool: { readonly id: string; readonly path: string }, id: string): Attributes {
    const path = `${pool.path}/${id}`;
    const endpoint = this.#observer.watchAt(path)?.series.labels.endpoint;
    return endpoint === undefined
      ? { 'wirewarden.pool': pool.id, 'wirewarden.connection.id': id, 'wirewarden.connection.path': path }
      : { 'wirewarden.pool': pool.id, 'wirewarden.connection.id': id, 'wirewarden.connection.path': path, 'wirewarden.endpoint': endpoint };
  }
}

/** `pool.use` without spans (what the pool core does): lease, run, release. */
async function plainUse<S, R>(leases: LeaseSource<S>, fn: (conn: S, signal: AbortSignal) => R | Promise<R>,
  options: AcquireOptions | undefined): Promise<R> {
  const lease = await leases.acquire(options);
  try {
    return await fn(lease.conn, options?.signal ?? NEVER_ABORTED);
  } finally {
    lease.release();
  }
}

/** The three spans of a connection's dial, from its timeline (scheduler times). */
function dialSpans(api: OtelTraceApi, tracer: Tracer, w: ConnectionWatch, dial: DialTimeline): void {
  const attributes: Attributes = {
    'wirewarden.pool': w.series.labels.pool, 'wirewarden.endpoint': w.series.labels.endpoint, 'wirewarden.connection.path': w.path,
  };
  const connect = tracer.startSpan('wirewarden.connection.connect', { kind: api.SpanKind.CLIENT as 2, startTime: dial.startedAt, attributes, root: true });
  const ctx = api.trace.setSpan(api.context.active(), connect);
  const connectedAt = dial.handshakeAt ?? dial.endedAt;
  const transport = tracer.startSpan('wirewarden.connection.dial', { startTime: dial.startedAt, attributes }, ctx);
  const failed = (span: Span): void => {
    span.setStatus({ code: api.SpanStatusCode.ERROR as 2, message: dial.reason ?? 'failed' });
    if (dial.reason !== undefined) span.setAttribute('wirewarden.exit.reason', dial.reason);
    const code = (dial.error as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string') span.setAttribute('error.type', code);
  };
  if (!dial.ok && dial.handshakeAt === undefined) failed(transport);
  transport.end(connectedAt);
  if (dial.handshakeAt !== undefined) {
    const handshake = tracer.startSpan('wirewarden.connection.handshake', { startTime: dial.handshakeAt, attributes }, ctx);
    if (!dial.ok) failed(handshake);
    handshake.end(dial.endedAt);
  }
  if (!dial.ok) failed(connect);
  connect.end(dial.endedAt);
}

/**
 * Starts tracing a runtime: `pool.use` spans through the hub, dial spans from the
 * observer, trace ids on events through the bus. Returns the function that stops it.
 */
export function startOtelTracing(
  api: OtelTraceApi, tracer: Tracer, observer: RuntimeObserver, hub: ObserveHub, sink: unknown, options: PoolTraceOptions,
): () => void {
  const tracing = new PoolUseTracer(api, tracer, observer, options, observer.rt.scheduler);
  hub.tracing = tracing;
  const stopDials = observer.addListener({ tracesDials: true, dialEnded: (w, dial) => dialSpans(api, tracer, w, dial) });
  const bus = sink instanceof EventBus ? sink : undefined;
  const stamp = (event: RuntimeEvent): RuntimeEvent => {
    const span = api.trace.getSpan(api.context.active());
    // A timer armed inside a request keeps its context after the request ended: only a
    // span still recording names the trace the event belongs to.
    if (span === undefined || !span.isRecording()) return event;
    const { traceId, spanId } = span.spanContext();
    return { ...event, traceId, spanId };
  };
  if (bus !== undefined) bus.stamp = stamp;
  return () => {
    if (hub.tracing === tracing) hub.tracing = undefined;
    if (bus !== undefined && bus.stamp === stamp) bus.stamp = undefined;
    stopDials();
  };
}
