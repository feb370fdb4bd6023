/**
 * OpenTelemetry SDK pieces for the tests: in-memory span and metric exporters behind real
 * providers, and an AsyncLocalStorage context manager (what `@opentelemetry/context-async-hooks`
 * does, in a few lines), so a span started in a test is the active one across awaits.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { context, ROOT_CONTEXT, type Context, type ContextManager } from '@opentelemetry/api';
import {
  AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type DataPoint, type Histogram,
  type MetricData, type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

export class AlsContextManager implements ContextManager {
  readonly #als = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.#als.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.#als.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const fn = target as (...args: unknown[]) => unknown;
    return ((...args: unknown[]) => this.with(ctx, fn, undefined, ...args)) as T;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.#als.disable();
    return this;
  }
}

/** Installs the context manager globally; returns the function that removes it. */
export function installContextManager(): () => void {
  context.setGlobalContextManager(new AlsContextManager());
  return () => context.disable();
}

export interface OtelSdk {
  readonly meterProvider: MeterProvider;
  readonly tracerProvider: BasicTracerProvider;
  readonly spans: InMemorySpanExporter;
  /** Collects and returns every metric, by name. */
  metrics(): Promise<Map<string, MetricData>>;
  shutdown(): Promise<void>;
}

/** Real SDK providers with in-memory exporters; `metricProducers` go to the metric reader. */
export function otelSdk(metricProducers: MetricProducer[] = []): OtelSdk {
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // A long interval: the tests collect with forceFlush; the reader's timer is unref'd.
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000, metricProducers });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  return {
    meterProvider,
    tracerProvider,
    spans,
    async metrics() {
      metricExporter.reset();
      await reader.forceFlush();
      const out = new Map<string, MetricData>();
      for (const rm of metricExporter.getMetrics()) {
        for (const sm of rm.scopeMetrics) for (const m of sm.metrics) out.set(m.descriptor.name, m);
      }
      return out;
    },
    async shutdown() {
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
    },
  };
}

/** The data point of `metric` whose attributes include `attributes`. */
export function point<T = number>(metric: MetricData | undefined, attributes: Record<string, string>): DataPoint<T> | undefined {
  const found = (metric?.dataPoints as DataPoint<T>[] | undefined)?.filter((p) =>
    Object.entries(attributes).every(([k, v]) => p.attributes[k] === v));
  if (found !== undefined && found.length > 1) throw new Error(`${found.length} points match ${JSON.stringify(attributes)}`);
  return found?.[0];
}

export type HistogramPoint = DataPoint<Histogram>;

export function spansNamed(spans: readonly ReadableSpan[], name: string): ReadableSpan[] {
  return spans.filter((s) => s.name === name);
}

/** A span's duration in ms. */
export function durationMs(span: ReadableSpan): number {
  return span.duration[0] * 1000 + span.duration[1] / 1e6;
}
