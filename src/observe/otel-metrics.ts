/**
 * The metric catalog (metric-catalog.ts) as OpenTelemetry instruments on a `Meter`:
 * counters as observable counters and gauges as observable up-down counters (the breaker
 * state as an observable gauge), all read from the shared runtime observer when the
 * SDK collects; histograms as synchronous histograms, recorded as samples arrive (OTel has
 * no observable histogram), with the catalog's buckets as advice.
 *
 * Attribute keys are the Prometheus label names (`pool`, `endpoint`, `state`…), so a
 * dashboard reads both exporters alike; the attribute objects of a series are made once
 * and reused for every sample.
 */
import type { Attributes, Context, Histogram, Meter, ObservableResult } from '@opentelemetry/api';
import type { EndpointSeries } from './connection-watch.js';
import { METRICS, type HistogramMetric, type ValueMetric } from './metric-catalog.js';
import type { PoolSeries, RuntimeObserver } from './runtime-observer.js';

/**
 * Creates the instruments on `meter`; returns the function that stops them. `root` is the
 * API's ROOT_CONTEXT: passed to `record`, it spares the SDK a context lookup per sample
 * (exemplars would come from the connection's events, not from whatever ran last).
 */
export function startOtelMetrics(observer: RuntimeObserver, meter: Meter, root: Context): () => void {
  const stops: Array<() => void> = [];
  const histograms = new Map<HistogramMetric['sample'], Histogram>();
  for (const m of METRICS) {
    if (m.kind === 'histogram') {
      histograms.set(m.sample, meter.createHistogram(m.otelName, {
        description: m.help, unit: m.unit, advice: { explicitBucketBoundaries: [...boundsOf(observer, m)] },
      }));
      continue;
    }
    const options = { description: m.help, unit: m.unit };
    const instrument = m.kind === 'counter' ? meter.createObservableCounter(m.otelName, options)
      : m.name === 'wirewarden_pool_breaker_state' ? meter.createObservableGauge(m.otelName, options)
        : meter.createObservableUpDownCounter(m.otelName, options);
    const callback = (result: ObservableResult): void => observe(observer, m, result);
    instrument.addCallback(callback);
    stops.push(() => instrument.removeCallback(callback));
  }
  const rtt = histograms.get('rtt')!;
  const detection = histograms.get('detection')!;
  const wait = histograms.get('waited')!;
  const dispatchWait = histograms.get('dispatchWaited')!;
  const attributes = new WeakMap<EndpointSeries | PoolSeries, Attributes>();
  const seriesAttributes = (s: EndpointSeries): Attributes => {
    let a = attributes.get(s);
    if (a === undefined) attributes.set(s, (a = { ...s.labels }));
    return a;
  };
  const poolAttributes = (s: PoolSeries): Attributes => {
    let a = attributes.get(s);
    if (a === undefined) attributes.set(s, (a = { pool: s.pool }));
    return a;
  };
  stops.push(observer.addListener({
    rtt: (s, seconds) => rtt.record(seconds, seriesAttributes(s), root),
    detection: (s, seconds) => detection.record(seconds, seriesAttributes(s), root),
    waited: (s, seconds) => wait.record(seconds, poolAttributes(s), root),
    dispatchWaited: (s, seconds) => dispatchWait.record(seconds, poolAttributes(s), root),
  }));
  return () => {
    for (const stop of stops) stop();
  };
}

function observe(observer: RuntimeObserver, m: ValueMetric, result: ObservableResult): void {
  for (const s of m.read(observer)) result.observe(s.value, s.labels);
}

function boundsOf(observer: RuntimeObserver, m: HistogramMetric): readonly number[] {
  const b = observer.buckets;
  return m.sample === 'rtt' ? b.rttSeconds : m.sample === 'detection' ? b.detectionSeconds : b.acquireWaitSeconds;
}
