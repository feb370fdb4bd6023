/**
 * OpenTelemetry spans for what a request and a connection go through, and the trace id
 * in wirewarden's events:
 *
 *   your span { wirewarden.connection.path } ─ wirewarden.pool.acquire   (default; the
 *                                                 acquire span only when it waited ≥ 1 ms)
 *   your span ─▶ wirewarden.pool.use ─▶ wirewarden.pool.acquire             (requestSpans: true;
 *                .dispatch, .command, .request alike)
 *   wirewarden.connection.connect ─┬─ wirewarden.connection.dial       (transport connect)
 *                                  └─ wirewarden.connection.handshake  (protocol open/auth)
 *
 * `pool.use`, `dispatch`, `command` and `request` ask the runtime's hub for a tracer on
 * every call (observe-hub.ts). The tracer never does the pool's work itself: it calls the
 * core's own `use`/`dispatch` (acquire, the breaker's and discovery's bookkeeping of a
 * failure, release) with the caller's function wrapped, and learns when the connection was
 * granted from that wrapper's first call — so tracing cannot change what the pool does. Only
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
 * root spans: a dial belongs to the pool, not to the request that happened to be waiting,
 * and the pool dials under ROOT_CONTEXT (`detached`), so a connection's sockets and timers
 * do not carry the context of the request that made the pool grow into its later events.
 *
 * Spans carry ids, endpoints and error codes, never a credential (errors of wirewarden
 * name endpoints only).
 */
import { setMaxListeners } from 'node:events';
import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api';
import type { AcquireOptions } from '../pool/acquire-options.js';
import type { DispatchRunner } from '../pool/shared-dispatch.js';
import { asyncScheduler } from 'rxjs';
import { preciseNow } from '../scheduler.js';
import type { ConnectionWatch, DialTimeline } from './connection-watch.js';
import { EventBus, type RuntimeEvent } from './events.js';
import type { ObserveHub, PoolTracing, TracedCore, TracedPool } from './observe-hub.js';
import type { RuntimeObserver } from './runtime-observer.js';

/** The parts of `@opentelemetry/api` used here. */
export interface OtelTraceApi {
  readonly context: { active(): Context; with<F extends (...args: never[]) => unknown>(ctx: Context, fn: F): ReturnType<F> };
  readonly trace: { getSpan(ctx: Context): Span | undefined; setSpan(ctx: Context, span: Span): Context };
  readonly SpanKind: { readonly CLIENT: number; readonly INTERNAL: number };
  readonly SpanStatusCode: { readonly ERROR: number };
  readonly ROOT_CONTEXT: Context;
}

function failSpan(api: OtelTraceApi, span: Span, err: unknown): void {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (err instanceof Error) span.recordException(err);
  span.setStatus({ code: api.SpanStatusCode.ERROR as 2, message: typeof code === 'string' ? code : err instanceof Error ? err.name : 'error' });
  if (typeof code === 'string') span.setAttribute('error.type', code);
}

/** What pool calls record: the caller's span annotated (default), or spans of their own per call. */
export interface PoolTraceOptions {
  /** A `wirewarden.pool.<call>` span (with an acquire child) for every traced call. Default false. */
  readonly requestSpans: boolean;
  /** With `requestSpans`: only inside a recording span of the caller. Default true. */
  readonly requireParentSpan: boolean;
}

/** An acquire that waited this long gets a span of its own, even without `requestSpans`. */
export const ACQUIRE_SPAN_MIN_WAIT_MS = 1;

/** The pool calls that are traced: `wirewarden.pool.<call>` spans. */
type PoolCall = 'use' | 'dispatch' | 'command' | 'request';

/**
 * One traced pool call, from the call to its settling. `granted(conn)` is called when the
 * core runs the caller's work on `conn`: the end of the wait for a connection. It is also
 * the argument of the runner the core calls (`tracedRun`), so a traced dispatch makes
 * this one object and no closure.
 */
class TracedCall<S, A = unknown, R = unknown> {
  readonly tracer: PoolTracer;
  readonly pool: TracedPool;
  readonly core: TracedCore<S>;
  readonly parent: Context;
  /** Default mode: the caller's recording span, annotated with the connection. */
  readonly caller: Span | undefined;
  /** `requestSpans`: this call's span and its context. */
  span: Span | undefined = undefined;
  ctx: Context | undefined = undefined;
  acquire: Span | undefined = undefined;
  readonly startedAt: number;
  isGranted = false;
  /** What the core runs: the protocol's runner and its argument, or the caller's function. */
  run: DispatchRunner<S, A, R> | undefined = undefined;
  arg: A | undefined = undefined;

  constructor(tracer: PoolTracer, pool: TracedPool, core: TracedCore<S>, parent: Context, caller: Span | undefined) {
    this.tracer = tracer;
    this.pool = pool;
    this.core = core;
    this.parent = parent;
    this.caller = caller;
    this.startedAt = tracer.now();
  }

  /** `requestSpans`: this call's span, and its acquire child, from now. */
  open(name: PoolCall): this {
    const t = this.tracer;
    const attributes = { 'wirewarden.pool': this.pool.id };
    const span = t.tracer.startSpan(`wirewarden.pool.${name}`, { kind: t.api.SpanKind.CLIENT as 2, startTime: this.startedAt, attributes }, this.parent);
    this.span = span;
    this.ctx = t.api.trace.setSpan(this.parent, span);
    this.acquire = t.tracer.startSpan('wirewarden.pool.acquire', { kind: t.api.SpanKind.INTERNAL as 0, startTime: this.startedAt, attributes }, this.ctx);
    return this;
  }

  /**
   * Ends the spans when the core's call settles. By default (no span of its own) the
   * caller gets the core's promise itself, and a failure is watched beside it: with an
   * async context manager every promise costs, and a wrapper would add one to each call.
   */
  settle<T>(promise: Promise<T>): Promise<T> {
    if (this.span === undefined) {
      // Granted already (a dispatch that found room starts inside the call): nothing left to watch.
      if (!this.isGranted) promise.then(undefined, (err: unknown) => this.waitFailed(err));
      return promise;
    }
    return this.#spanSettled(promise);
  }

  async #spanSettled<T>(promise: Promise<T>): Promise<T> {
    let value: T;
    try {
      value = await promise;
    } catch (err) {
      this.failed(err);
    }
    this.span!.end(this.tracer.now());
    return value;
  }

  /** Default mode: a call that failed before a connection was granted gets its wait span, with the pool's code. */
  waitFailed(err: unknown): void {
    if (!this.isGranted) this.#waitSpan(this.tracer.now(), undefined, err);
  }

  /** The core runs the caller's work on `conn`: the wait is over. */
  granted(conn: S): void {
    if (this.isGranted) return;
    this.isGranted = true;
    const t = this.tracer;
    const connection = t.connectionAttributes(this.pool, this.core, conn);
    const caller = this.caller;
    if (caller !== undefined) {
      // Only a wait long enough to matter gets a span (a clock read; the common case is none).
      const now = t.now();
      if (now - this.startedAt >= ACQUIRE_SPAN_MIN_WAIT_MS) this.#waitSpan(now, connection, undefined);
      // One attribute (~0.06 µs; an SDK span event costs ~1 µs): the last connection this request used.
      const path = connection['wirewarden.connection.path'];
      if (path !== undefined) caller.setAttribute('wirewarden.connection.path', path);
      return;
    }
    this.acquire!.setAttributes(connection);
    this.acquire!.end(t.now());
    this.acquire = undefined;
    this.span!.setAttributes(connection);
  }

  /** `requestSpans`: the call failed; its spans fail with the code. */
  failed(err: unknown): never {
    const t = this.tracer;
    const now = t.now();
    if (this.acquire !== undefined) {
      failSpan(t.api, this.acquire, err);
      this.acquire.end(now);
      this.acquire = undefined;
    }
    failSpan(t.api, this.span!, err);
    this.span!.end(now);
    throw err;
  }

  /** Default mode: a `wirewarden.pool.acquire` span from the call to `end`, after the fact. */
  #waitSpan(end: number, connection: Attributes | undefined, err: unknown): void {
    const t = this.tracer;
    const span = t.tracer.startSpan('wirewarden.pool.acquire', {
      kind: t.api.SpanKind.INTERNAL as 0, startTime: this.startedAt, attributes: { 'wirewarden.pool': this.pool.id, ...connection },
    }, this.parent);
    if (err !== undefined) failSpan(t.api, span, err);
    span.end(end);
  }
}

/** The runner the core calls for a traced dispatch: the wait is over, then the call's own work. */
function tracedRun<S, A, R>(conn: S, call: TracedCall<S, A, R>, signal: AbortSignal | undefined): R | Promise<R> {
  call.granted(conn);
  return call.run!(conn, call.arg as A, signal);
}

/** `dispatch(fn)` as a runner: the caller's function is the argument. */
function callFn<S, R>(conn: S, fn: (conn: S, signal: AbortSignal) => R | Promise<R>, signal: AbortSignal | undefined): R | Promise<R> {
  return fn(conn, signal ?? NEVER_ABORTED);
}

/** `dispatch`'s signal when the caller gave none (the core's runner does the same). */
const NEVER_ABORTED = new AbortController().signal;
setMaxListeners(0, NEVER_ABORTED);

class PoolTracer implements PoolTracing {
  readonly api: OtelTraceApi;
  readonly tracer: Tracer;
  readonly #observer: RuntimeObserver;
  readonly #requestSpans: boolean;
  readonly #requireParentSpan: boolean;
  readonly now: () => number;
  /** Session → its connection's span attributes (a session belongs to one incarnation of one slot). */
  readonly #attributes = new WeakMap<object, Attributes>();

  constructor(api: OtelTraceApi, tracer: Tracer, observer: RuntimeObserver, options: PoolTraceOptions) {
    this.api = api;
    this.tracer = tracer;
    this.#observer = observer;
    this.#requestSpans = options.requestSpans;
    this.#requireParentSpan = options.requireParentSpan;
    // Span times to the sub-millisecond (the runtime's clock: virtual in tests). The real
    // clock's origin is read once: preciseNow reads performance.timeOrigin on every call.
    const scheduler = observer.rt.scheduler;
    const origin = performance.timeOrigin;
    this.now = scheduler === asyncScheduler ? () => origin + performance.now() : () => preciseNow(scheduler);
  }

  use<S, R>(pool: TracedPool, core: TracedCore<S>, fn: (conn: S, signal: AbortSignal) => R | Promise<R>, options: AcquireOptions | undefined): Promise<R> {
    const call = this.#begin(pool, core, 'use');
    if (call === undefined) return core.use(fn, options);
    const traced = (conn: S, signal: AbortSignal): R | Promise<R> => {
      call.granted(conn);
      return fn(conn, signal);
    };
    const ctx = call.ctx;
    return call.settle(ctx === undefined ? core.use(traced, options) : this.api.context.with(ctx, () => core.use(traced, options)));
  }

  dispatch<S, R>(pool: TracedPool, core: TracedCore<S>, fn: (conn: S, signal: AbortSignal) => R | Promise<R>, options: AcquireOptions | undefined): Promise<R> {
    return this.#dispatch(pool, core, 'dispatch', callFn as DispatchRunner<S, typeof fn, R>, fn, options);
  }

  dispatchWith<S, A, R>(pool: TracedPool, core: TracedCore<S>, name: 'command' | 'request', run: DispatchRunner<S, A, R>, arg: A,
    options: AcquireOptions | undefined): Promise<R> {
    return this.#dispatch(pool, core, name, run, arg, options);
  }

  #dispatch<S, A, R>(pool: TracedPool, core: TracedCore<S>, name: PoolCall, run: DispatchRunner<S, A, R>, arg: A,
    options: AcquireOptions | undefined): Promise<R> {
    const call = this.#begin<S, A, R>(pool, core, name);
    if (call === undefined) return core.dispatchWith(run, arg, options);
    call.run = run;
    call.arg = arg;
    const runner = tracedRun as DispatchRunner<S, TracedCall<S, A, R>, R>;
    const ctx = call.ctx;
    return call.settle(ctx === undefined ? core.dispatchWith(runner, call, options)
      : this.api.context.with(ctx, () => core.dispatchWith(runner, call, options)));
  }

  detached<T>(fn: () => T): T {
    return this.api.context.with(this.api.ROOT_CONTEXT, fn);
  }

  /**
   * A traced call, or undefined for an untraced one (one context lookup): by default only
   * inside a recording span of the caller, which gets annotated; with `requestSpans` a
   * span of its own (inside a recording span, unless `requireParentSpan` is false).
   */
  #begin<S, A = unknown, R = unknown>(pool: TracedPool, core: TracedCore<S>, name: PoolCall): TracedCall<S, A, R> | undefined {
    const parent = this.api.context.active();
    const caller = this.api.trace.getSpan(parent);
    const recording = caller !== undefined && caller.isRecording();
    if (this.#requestSpans) {
      if (this.#requireParentSpan && !recording) return undefined;
      return new TracedCall<S, A, R>(this, pool, core, parent, undefined).open(name);
    }
    return recording ? new TracedCall<S, A, R>(this, pool, core, parent, caller) : undefined;
  }

  /** The span attributes naming the connection whose session is `conn` (made once per session). */
  connectionAttributes<S>(pool: TracedPool, core: TracedCore<S>, conn: S): Attributes {
    const keyed = typeof conn === 'object' && conn !== null;
    const cached = keyed ? this.#attributes.get(conn) : undefined;
    if (cached !== undefined) return cached;
    const id = core.connectionIdOf(conn);
    if (id === undefined) return { 'wirewarden.pool': pool.id };
    const path = `${pool.path}/${id}`;
    const endpoint = this.#observer.watchAt(path)?.series.labels.endpoint;
    const attributes: Attributes = endpoint === undefined
      ? { 'wirewarden.pool': pool.id, 'wirewarden.connection.id': id, 'wirewarden.connection.path': path }
      : { 'wirewarden.pool': pool.id, 'wirewarden.connection.id': id, 'wirewarden.connection.path': path, 'wirewarden.endpoint': endpoint };
    // Cached once the endpoint is known (the watch exists from the connection's first state).
    if (keyed && endpoint !== undefined) this.#attributes.set(conn, attributes);
    return attributes;
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
 * Starts tracing a runtime: pool call spans through the hub, dial spans from the
 * observer, trace ids on events through the bus. Returns the function that stops it.
 */
export function startOtelTracing(
  api: OtelTraceApi, tracer: Tracer, observer: RuntimeObserver, hub: ObserveHub, sink: unknown, options: PoolTraceOptions,
): () => void {
  const tracing = new PoolTracer(api, tracer, observer, options);
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
