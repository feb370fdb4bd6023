/**
 * `createOpenTelemetry(rt, options?)`: wirewarden's metrics as OpenTelemetry instruments
 * and its spans (pool use and acquire, connection connect, dial and handshake), through
 * `@opentelemetry/api` — an optional peer dependency, loaded when this is called, never
 * when wirewarden is imported. Without an SDK registered, the API is a no-op.
 *
 * The same instruments as the Prometheus exporter (metric-catalog.ts; OTel names convert
 * to its names), fed by the same runtime observer; the spans and trace ids are in
 * otel-tracing.ts. docs/observability.md has the setup.
 */
import type * as OtelApi from '@opentelemetry/api';
import { InvalidOptionError } from '../errors.js';
import { boolean, custom, optional, parseOptions, shape } from '../options.js';
import type { Runtime } from '../runtime.js';
import { eventSinkOf } from './events.js';
import { observeHubOf } from './observe-hub.js';
import { loadOptionalPeer, wirewardenVersion } from './optional-peer.js';
import { otelMetricProducer, type OtelMetricProducer } from './otel-metric-producer.js';
import { startOtelMetrics } from './otel-metrics.js';
import { startOtelTracing, type OtelTraceApi } from './otel-tracing.js';
import { observeRuntime } from './runtime-observer.js';

export interface OpenTelemetryOptions {
  /**
   * Where the instruments go: an OTel `MeterProvider`. Default: the global one
   * (`metrics.getMeterProvider()`, set by your SDK setup). `false`: no metrics.
   */
  readonly meterProvider?: { getMeter(name: string, version?: string): unknown } | false;
  /** Where the spans go: an OTel `TracerProvider`. Default: the global one. `false`: no spans. */
  readonly tracerProvider?: { getTracer(name: string, version?: string): unknown } | false;
  /**
   * A `wirewarden.pool.use` span (with a `wirewarden.pool.acquire` child) for every traced
   * `pool.use`. Default false: your span gets the attribute `wirewarden.connection.path`
   * (the last connection it used), and only an acquire that waited ≥ 1 ms gets a span (an SDK span costs
   * about as much CPU as a loopback request; docs/observability.md has the figures).
   */
  readonly requestSpans?: boolean;
  /**
   * With `requestSpans`: trace `pool.use` only inside a recording span of yours, so
   * background work makes no root spans. Default true. Connection spans are always made.
   */
  readonly requireParentSpan?: boolean;
  /** The `@opentelemetry/api` module, when it does not resolve from wirewarden's location. Default: loaded here. */
  readonly api?: object;
}

/** The handle `createOpenTelemetry` returns. */
export interface OpenTelemetry {
  /**
   * The same metrics as an SDK `MetricProducer`, for a reader built with
   * `metricProducers: [otel.metricProducer]`: nothing is recorded per sample (use it with
   * `meterProvider: false`, or the metrics are reported twice). Empty after `close()`.
   */
  readonly metricProducer: OtelMetricProducer;
  /** Stops the instruments' callbacks, the spans and the trace ids on events. Idempotent. */
  close(): void;
}

const hasMethod = (name: string) => (v: unknown): boolean =>
  v === false || (typeof v === 'object' && v !== null && typeof (v as Record<string, unknown>)[name] === 'function');

const schema = shape({
  meterProvider: optional(custom<OpenTelemetryOptions['meterProvider']>('a MeterProvider (getMeter) or false', hasMethod('getMeter'))),
  tracerProvider: optional(custom<OpenTelemetryOptions['tracerProvider']>('a TracerProvider (getTracer) or false', hasMethod('getTracer'))),
  requestSpans: optional(boolean()),
  requireParentSpan: optional(boolean()),
  api: optional(custom<object>('the @opentelemetry/api module', (v) => typeof v === 'object' && v !== null && 'trace' in v && 'metrics' in v && 'context' in v)),
});

/**
 * Reports wirewarden's metrics and spans through OpenTelemetry. Throws
 * `WW_INVALID_OPTION` for bad options, when `@opentelemetry/api` is not installed, or
 * when another `createOpenTelemetry` traces this runtime already (one tracer per runtime;
 * more with `tracerProvider: false` are fine).
 *
 * @example
 * import { createOpenTelemetry } from 'wirewarden';
 * // after your SDK setup (NodeSDK, or MeterProvider/TracerProvider registered globally):
 * const otel = createOpenTelemetry(rt);
 * // later: otel.close();
 */
export function createOpenTelemetry(rt: Runtime, options?: OpenTelemetryOptions): OpenTelemetry {
  const o = parseOptions('openTelemetry', schema, options);
  // One tracer per runtime: pool calls and events are traced through it (a second would
  // replace the first's, and closing either would leave the other blind).
  if (o.tracerProvider !== false && observeHubOf(rt.root.system).tracing !== undefined) {
    throw new InvalidOptionError('openTelemetry.tracerProvider: this runtime is traced already by another createOpenTelemetry '
      + '(close that one first, or pass tracerProvider: false for metrics only)');
  }
  const api = (o.api ?? loadOptionalPeer<object>('@opentelemetry/api', 'createOpenTelemetry', 'openTelemetry.api')) as typeof OtelApi;
  const version = wirewardenVersion();
  const { observer, release } = observeRuntime(rt);
  const stops: Array<() => void> = [];
  if (o.meterProvider !== false) {
    const provider = (o.meterProvider ?? api.metrics.getMeterProvider()) as OtelApi.MeterProvider;
    stops.push(startOtelMetrics(observer, provider.getMeter('wirewarden', version), api.ROOT_CONTEXT));
  }
  if (o.tracerProvider !== false) {
    const provider = (o.tracerProvider ?? api.trace.getTracerProvider()) as OtelApi.TracerProvider;
    const hub = observeHubOf(rt.root.system);
    stops.push(startOtelTracing(api as unknown as OtelTraceApi, provider.getTracer('wirewarden', version), observer, hub,
      eventSinkOf(rt.root.system), { requestSpans: o.requestSpans ?? false, requireParentSpan: o.requireParentSpan ?? true }));
  }
  let closed = false;
  const producer = otelMetricProducer(observer, version);
  return {
    metricProducer: {
      collect: (collectOptions) => (closed
        ? Promise.resolve({ resourceMetrics: { resource: {}, scopeMetrics: [] }, errors: [] })
        : producer.collect(collectOptions)),
    },
    close() {
      if (closed) return;
      closed = true;
      for (const stop of stops) stop();
      release();
    },
  };
}
