/**
 * Watches the process while one target runs: peak RSS, the worst event-loop delay, and
 * every uncaught exception or unhandled rejection (a crash the process survives only
 * because the monitor listens).
 *
 * RSS is sampled by a 20 ms timer and at every `yieldToLoop()`: a synchronous target
 * holds the loop for a slice at a time, and the timer would miss its peaks. The loop
 * delay comes from `monitorEventLoopDelay` (a libuv-side histogram, 10 ms resolution):
 * for socket targets it is the stall a hostile input inflicts on everything else. For
 * in-process targets the fuzzer itself holds the loop for a slice, so there the per-input
 * time (`TargetReport.timedInput`) is the measure that matters.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { TargetReport } from './report.js';

/** Work done synchronously between two yields; the loop-delay floor of in-process targets. */
const SLICE_MS = 20;

export class TargetMonitor {
  readonly #report: TargetReport;
  readonly #histogram: IntervalHistogram;
  readonly #timer: NodeJS.Timeout;
  readonly #onUncaught = (err: Error) => this.#crash('uncaught exception', err);
  readonly #onUnhandled = (reason: unknown) => this.#crash('unhandled rejection', reason);
  #currentCase: number | undefined;
  #sliceStart = performance.now();

  constructor(report: TargetReport) {
    this.#report = report;
    this.#histogram = monitorEventLoopDelay({ resolution: 10 });
    this.#histogram.enable();
    this.#timer = setInterval(() => this.sampleRss(), 20);
    process.on('uncaughtException', this.#onUncaught);
    process.on('unhandledRejection', this.#onUnhandled);
  }

  /** The case running now, named in crash samples. */
  set currentCase(index: number | undefined) {
    this.#currentCase = index;
  }

  sampleRss(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.#report.peakRssBytes) this.#report.peakRssBytes = rss;
  }

  /**
   * For synchronous targets: after `SLICE_MS` of work, lets timers, I/O and GC run.
   * Returns a promise only when it yields, so the hot loop awaits rarely.
   */
  maybeYield(): Promise<void> | undefined {
    if (performance.now() - this.#sliceStart < SLICE_MS) return undefined;
    this.sampleRss();
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        this.#sliceStart = performance.now();
        resolve();
      }),
    );
  }

  /** Stops watching; folds the loop-delay maximum into the report. */
  stop(): void {
    clearInterval(this.#timer);
    this.sampleRss();
    this.#histogram.disable();
    const maxMs = this.#histogram.max / 1e6;
    if (Number.isFinite(maxMs) && maxMs > this.#report.worstLoopDelayMs) this.#report.worstLoopDelayMs = maxMs;
    process.off('uncaughtException', this.#onUncaught);
    process.off('unhandledRejection', this.#onUnhandled);
  }

  #crash(what: string, err: unknown): void {
    const text = err instanceof Error ? `${err.name}: ${err.message}\n${err.stack?.split('\n').slice(1, 4).join('\n') ?? ''}` : String(err);
    this.#report.record('crash', `${what}: ${text}`, this.#currentCase);
  }
}
