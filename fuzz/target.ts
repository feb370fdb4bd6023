/**
 * The shape every fuzz target has, and the loop the in-process ones share.
 *
 * A target runs cases until it has fed `inputs` inputs. A case is the unit of replay
 * (one byte stream, one connection's script, one HTTP request): its randomness comes
 * from `Rng.forCase(seed, target, index)`, so `--case N` reruns exactly case N. What an
 * input is depends on the target (a chunked stream, a frame, a request) and is stated in
 * its docblock.
 */
import type { TargetMonitor } from './monitor.js';
import { TargetReport } from './report.js';

export interface TargetContext {
  readonly seed: number;
  /** Stop once this many inputs were fed. */
  readonly inputs: number;
  /** Run only this case (a replay); `inputs` is then ignored. */
  readonly onlyCase: number | undefined;
  readonly report: TargetReport;
  readonly monitor: TargetMonitor;
  /** Progress lines (stderr). */
  readonly log: (line: string) => void;
}

export interface FuzzTarget {
  readonly name: string;
  /** One line: what is fed to what. */
  readonly summary: string;
  run(context: TargetContext): Promise<void>;
}

/** A case slower than this is run again (twice) and counts its fastest run. */
const RETIME_OVER_MS = 1;
const RETIMES = 2;

/**
 * Runs `runCase(index, report)` for cases 0, 1, … until `inputs` inputs were fed (or only
 * `onlyCase`), yielding to the event loop between slices and logging progress. A case
 * over a millisecond is re-run into a scratch report, and counts its fastest run.
 * `runCase` feeds its inputs synchronously, counts them in `report` and times the code
 * under test (`report.timedInput`), not its own oracles.
 */
export async function runCases(context: TargetContext, runCase: (index: number, report: TargetReport) => void): Promise<void> {
  const { report, monitor } = context;
  if (context.onlyCase !== undefined) {
    monitor.currentCase = context.onlyCase;
    report.cases++;
    runCase(context.onlyCase, report);
    report.caseTime(context.onlyCase, report.caseMs);
    return;
  }
  let nextLog = Math.max(1, Math.floor(context.inputs / 10));
  for (let index = 0; report.inputs < context.inputs; index++) {
    monitor.currentCase = index;
    report.cases++;
    report.caseMs = 0;
    runCase(index, report);
    let ms = report.caseMs;
    // Only a case that could raise the worst needs re-timing (the result is the same).
    for (let n = 0; n < RETIMES && ms > RETIME_OVER_MS && ms > report.worstInputMs; n++) {
      const scratch = new TargetReport(report.target, report.seed);
      runCase(index, scratch);
      ms = Math.min(ms, scratch.caseMs);
    }
    report.caseTime(index, ms);
    const pause = monitor.maybeYield();
    if (pause !== undefined) await pause;
    if (report.inputs >= nextLog) {
      context.log(`${report.target}: ${report.inputs.toLocaleString('en-US')} inputs, ${report.findings} findings`);
      nextLog += Math.max(1, Math.floor(context.inputs / 10));
    }
  }
}
