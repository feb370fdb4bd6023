/**
 * `createPrometheusMetrics(rt, { register })`: wirewarden's metrics on a prom-client
 * `Registry` you own (docs/observability.md lists them).
 *
 * prom-client is an optional peer dependency, and this file never imports it: it
 * registers collectors on the registry you pass, objects with prom-client's metric shape
 * (`name`, `help`, `type`, `get()`), which the registry reads at scrape time like its own
 * (text format, OpenMetrics, `getMetricsAsJSON`, cluster aggregation). So wirewarden
 * loads without prom-client, and with it uses your copy — no second instance whose
 * metrics your registry would not know.
 *
 * Why not prom-client's `Counter`/`Histogram`: their `inc`/`observe` hash the labels
 * object on every call (~1 µs), and a connection makes two state changes per heartbeat.
 * The values live in wirewarden's own cells (runtime-observer.ts), updated from the
 * runtime's events with no label hashing; pool gauges are read from `pool.stats()` when
 * scraped. Nothing is added to the lease path.
 */
import { InvalidOptionError } from '../errors.js';
import { custom, parseOptions, shape } from '../options.js';
import type { Runtime } from '../runtime.js';
import { METRICS, type CatalogMetric, type Labels } from './metric-catalog.js';
import { observeRuntime } from './runtime-observer.js';

/** What wirewarden needs of a prom-client `Registry` (15.x; 14.x has the same shape). */
export interface PrometheusRegistry {
  registerMetric(metric: never): void;
  removeSingleMetric(name: string): void;
  getSingleMetric(name: string): unknown;
}

export interface PrometheusMetricsOptions {
  /** The prom-client `Registry` to register on (`new Registry()` or prom-client's default `register`). */
  readonly register: PrometheusRegistry;
}

/** The handle `createPrometheusMetrics` returns. */
export interface PrometheusMetrics {
  /** The metric names registered, as in the scrape. */
  readonly names: readonly string[];
  /** Removes the metrics from the registry and stops observing the runtime. Idempotent. */
  close(): void;
}

/** One value line of prom-client's metric shape. */
interface PromValue {
  readonly labels: Labels;
  readonly value: number;
  readonly metricName?: string;
}

const isRegistry = (v: unknown): boolean =>
  typeof v === 'object' && v !== null
  && ['registerMetric', 'removeSingleMetric', 'getSingleMetric'].every((m) => typeof (v as Record<string, unknown>)[m] === 'function');

const schema = shape({
  register: custom<PrometheusRegistry>('a prom-client Registry (registerMetric, removeSingleMetric, getSingleMetric)', isRegistry),
});

/**
 * A registered metric. `name` is writable: prom-client's OpenMetrics output renames
 * counters (drops `_total` from the name and puts it on the samples).
 */
class Collector {
  name: string;
  /** The name it was registered under (the registry's key, whatever `name` becomes). */
  readonly key: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly aggregator = 'sum';
  readonly #read: () => PromValue[];

  constructor(metric: CatalogMetric, read: (name: string) => PromValue[]) {
    this.name = metric.name;
    this.key = metric.name;
    this.help = metric.help;
    this.type = metric.kind;
    this.#read = () => read(this.name);
  }

  get(): { name: string; help: string; type: string; values: PromValue[]; aggregator: string } {
    return { name: this.name, help: this.help, type: this.type, values: this.#read(), aggregator: this.aggregator };
  }
}

/**
 * Registers wirewarden's metrics on `register` and keeps them current from the runtime's
 * events; pool gauges are read from `pool.stats()` at each scrape. Throws
 * `WW_INVALID_OPTION` when `register` is not a registry, or when one of the names is
 * registered there already (one set of wirewarden metrics per registry: every pool is a
 * `pool` label of the same metrics).
 *
 * @example
 * import { Registry } from 'prom-client';
 * const register = new Registry();
 * const metrics = createPrometheusMetrics(rt, { register });
 * http.createServer(async (req, res) => res.end(await register.metrics())).listen(9464, '127.0.0.1');
 * // later: metrics.close();
 */
export function createPrometheusMetrics(rt: Runtime, options: PrometheusMetricsOptions): PrometheusMetrics {
  const { register } = parseOptions('metrics', schema, options);
  for (const m of METRICS) {
    if (register.getSingleMetric(m.name) !== undefined) {
      throw new InvalidOptionError(`metrics.register already has a metric named ${m.name} (one set of wirewarden metrics per registry; close the other first)`);
    }
  }
  const { observer, release } = observeRuntime(rt);
  const collectors = METRICS.map((m) => new Collector(m, m.kind === 'histogram'
    ? (name) => {
      const out: PromValue[] = [];
      for (const { labels, cell } of m.read(observer)) {
        const cumulative = cell.cumulative();
        cell.bounds.forEach((le, i) => out.push({ labels: { ...labels, le: String(le) }, value: cumulative[i]!, metricName: `${name}_bucket` }));
        out.push({ labels: { ...labels, le: '+Inf' }, value: cell.count, metricName: `${name}_bucket` });
        out.push({ labels, value: cell.sum, metricName: `${name}_sum` });
        out.push({ labels, value: cell.count, metricName: `${name}_count` });
      }
      return out;
    }
    : () => m.read(observer)));
  for (const c of collectors) register.registerMetric(c as never);
  let closed = false;
  return {
    names: METRICS.map((m) => m.name),
    close() {
      if (closed) return;
      closed = true;
      // Only ours: a metric of that name registered by someone else since stays.
      for (const c of collectors) if (register.getSingleMetric(c.key) === c) register.removeSingleMetric(c.key);
      release();
    },
  };
}
