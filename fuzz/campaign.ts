/**
 * A fuzz campaign: the list of targets and `runFuzz`, which runs some of them, each under
 * its own monitor (peak RSS, worst loop delay, uncaught exceptions), and returns their
 * reports. The CLI (run.ts) and the seeded tests (test/fuzz/) both call it.
 */
import { randomSeed } from '../src/chaos/seeded-random.js';
import { TargetMonitor } from './monitor.js';
import { TargetReport } from './report.js';
import type { FuzzTarget } from './target.js';
import { chaosApiTarget } from './targets/chaos-api.js';
import { frameDecoderTarget } from './targets/frame-decoder.js';
import { respParserTarget } from './targets/resp-parser.js';
import { wireCodecTarget } from './targets/wire-codec.js';
import { wireServerTarget } from './targets/wire-server.js';

export const TARGETS: readonly FuzzTarget[] = [frameDecoderTarget, wireCodecTarget, respParserTarget, wireServerTarget, chaosApiTarget];

/** Inputs per target of a full campaign. */
export const FULL_INPUTS = 1_000_000;

export interface FuzzRunOptions {
  readonly targets?: readonly string[];
  readonly inputs?: number;
  readonly seed?: number;
  readonly onlyCase?: number;
  readonly log?: (line: string) => void;
}

/**
 * Runs the named targets (all by default) and returns their reports.
 *
 * @example
 * const [report] = await runFuzz({ targets: ['frame-decoder'], inputs: 2000, seed: 1 });
 * report.findings; // 0
 */
export async function runFuzz(options: FuzzRunOptions = {}): Promise<TargetReport[]> {
  const names = options.targets ?? TARGETS.map((t) => t.name);
  const seed = options.seed ?? randomSeed();
  const log = options.log ?? (() => {});
  const reports: TargetReport[] = [];
  for (const name of names) {
    const target = TARGETS.find((t) => t.name === name);
    if (target === undefined) throw new Error(`unknown target ${JSON.stringify(name)} (targets: ${TARGETS.map((t) => t.name).join(', ')})`);
    const report = new TargetReport(target.name, seed);
    const monitor = new TargetMonitor(report);
    const started = performance.now();
    log(`${target.name}: ${target.summary} (seed ${seed})`);
    try {
      await target.run({ seed, inputs: options.inputs ?? FULL_INPUTS, onlyCase: options.onlyCase, report, monitor, log });
    } catch (err) {
      // A target that throws has hit a fault in the harness or the code under test alike.
      report.record('crash', `target threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    } finally {
      monitor.stop();
      report.durationMs = performance.now() - started;
    }
    reports.push(report);
  }
  return reports;
}

