/**
 * The metric catalog as an OpenTelemetry SDK `MetricProducer`: what an SDK reader calls at
 * each collection (`new PeriodicExportingMetricReader({ exporter, metricProducers: [p] })`),
 * answered from the same cells the Prometheus exporter reads. Nothing is recorded per
 * sample: a heartbeat's RTT costs what it costs Prometheus (a bucket increment), where an
 * SDK `Histogram.record` hashes its attributes each time (~1 µs here, about 3 % of a
 * heartbeat at 10k connections).
 *
 * Everything is cumulative since the observer started: counters as monotonic sums,
 * connection and pool counts as non-monotonic sums (what an up-down counter reports),
 * the breaker state as a gauge, histograms with the catalog's bounds. The numeric enum
 * values are the SDK's (`DataPointType`, `AggregationTemporality`, `ValueType`); the
 * tests read the result through the real SDK.
 */
import type { HrTime } from '@opentelemetry/api';
import { METRICS, type CatalogMetric } from './metric-catalog.js';
import type { RuntimeObserver } from './runtime-observer.js';

const HISTOGRAM = 0;
const GAUGE = 2;
const SUM = 3;
const CUMULATIVE = 1;
const DOUBLE = 1;

/** What an SDK reader's `metricProducers` accepts (sdk-metrics 1.x/2.x `MetricProducer`). */
export interface OtelMetricProducer {
  collect(options?: { timeoutMillis?: number }): Promise<{ resourceMetrics: { resource: unknown; scopeMetrics: unknown[] }; errors: unknown[] }>;
}

const hrTime = (ms: number): HrTime => [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];

function metricData(m: CatalogMetric, observer: RuntimeObserver, startTime: HrTime, endTime: HrTime): object {
  const descriptor = { name: m.otelName, description: m.help, unit: m.unit, valueType: DOUBLE, advice: {} };
  if (m.kind === 'histogram') {
    return {
      descriptor, aggregationTemporality: CUMULATIVE, dataPointType: HISTOGRAM,
      dataPoints: m.read(observer).map(({ labels, cell }) => ({
        startTime, endTime, attributes: labels,
        value: { buckets: { boundaries: [...cell.bounds], counts: cell.bucketCounts() }, sum: cell.sum, count: cell.count },
      })),
    };
  }
  const dataPoints = m.read(observer).map(({ labels, value }) => ({ startTime, endTime, attributes: labels, value }));
  if (m.name === 'wirewarden_pool_breaker_state') return { descriptor, aggregationTemporality: CUMULATIVE, dataPointType: GAUGE, dataPoints };
  return { descriptor, aggregationTemporality: CUMULATIVE, dataPointType: SUM, isMonotonic: m.kind === 'counter', dataPoints };
}

export function otelMetricProducer(observer: RuntimeObserver, version: string): OtelMetricProducer {
  const startTime = hrTime(Date.now());
  return {
    collect: () => {
      const endTime = hrTime(Date.now());
      const metrics = METRICS.map((m) => metricData(m, observer, startTime, endTime));
      // The reader keeps its SDK's resource and takes the scope metrics from here.
      return Promise.resolve({
        resourceMetrics: { resource: {}, scopeMetrics: [{ scope: { name: 'wirewarden', version }, metrics }] },
        errors: [],
      });
    },
  };
}
