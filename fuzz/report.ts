/**
 * What a fuzz run found, per target: inputs, findings by kind with a few reproducible
 * samples each, peak RSS and the worst stall.
 *
 * Finding kinds (any of them fails the run):
 * - `crash`      an uncaught exception or unhandled rejection while the target ran, or a
 *                server that stopped serving;
 * - `uncoded`    a thrown error without a `WW_…` code where the contract says coded
 *                (`WirewardenError` subclasses), or a server answering 500 with a JS
 *                engine's message (a bug leaking out as an answer);
 * - `mismatch`   an oracle disagreed: the same bytes in other chunks gave another outcome,
 *                a well-formed input did not decode to what was encoded;
 * - `non-plain`  a decoder produced something other than plain data (a Set, an Error, a
 *                RegExp, a typed array, an object with a foreign prototype);
 * - `unanswered` a well-formed request got no answer (no HTTP status, a REQ without RES/ERR);
 * - `unserved`   a good client was refused or not answered after a hostile batch;
 * - `unbounded`  hostile input was held past a bound the contract sets (a big frame
 *                waited for before authentication);
 * - `stuck`      a connection the fuzzer ended was not closed by the server in time;
 * - `leak`       a listener or handle left behind after close().
 *
 * Samples keep the case index (replay with `--case N`), a description and the input's
 * first bytes in hex.
 */

export type FindingKind = 'crash' | 'uncoded' | 'mismatch' | 'non-plain' | 'unanswered' | 'unserved' | 'unbounded' | 'stuck' | 'leak';

export const FINDING_KINDS: readonly FindingKind[] = ['crash', 'uncoded', 'mismatch', 'non-plain', 'unanswered', 'unserved', 'unbounded', 'stuck', 'leak'];

export interface FindingSample {
  readonly kind: FindingKind;
  /** Index of the case that produced it (`--case` replays it), when known. */
  readonly caseIndex: number | undefined;
  readonly detail: string;
  /** First bytes of the input, hex; `bytes` is its full length. */
  readonly inputHex: string | undefined;
  readonly bytes: number | undefined;
}

/** Samples kept per kind: enough to see a pattern, not a flood. */
const SAMPLES_PER_KIND = 5;
const HEX_PREVIEW_BYTES = 96;

export class TargetReport {
  readonly target: string;
  readonly seed: number;
  inputs = 0;
  /** Count of cases (streams, connections, requests) the inputs were grouped in. */
  cases = 0;
  readonly counts: Record<FindingKind, number> = Object.fromEntries(FINDING_KINDS.map((k) => [k, 0])) as Record<FindingKind, number>;
  readonly samples: FindingSample[] = [];
  peakRssBytes = 0;
  /** Longest event-loop delay seen (monitorEventLoopDelay max), ms. */
  worstLoopDelayMs = 0;
  /**
   * Longest single input (in-process targets process one input synchronously), ms: each
   * case that took over a millisecond is run twice more and counts its fastest run, so a
   * GC pause or a busy neighbour on a shared machine is not blamed on an input.
   */
  worstInputMs = 0;
  worstInputCase: number | undefined;
  /** The longest single measurement, before re-timing. */
  worstRawInputMs = 0;
  /** Longest input of the case running now (what `timedInput` feeds). */
  caseMs = 0;
  durationMs = 0;
  /** Free-form counters a target wants to show (e.g. HTTP statuses, drop reasons). */
  readonly notes = new Map<string, number>();

  constructor(target: string, seed: number) {
    this.target = target;
    this.seed = seed;
  }

  get findings(): number {
    let n = 0;
    for (const k of FINDING_KINDS) n += this.counts[k];
    return n;
  }

  /** The longer of the two stall measures: what a server would have felt. */
  get worstStallMs(): number {
    return Math.max(this.worstLoopDelayMs, this.worstInputMs);
  }

  record(kind: FindingKind, detail: string, caseIndex?: number, input?: Uint8Array | string): void {
    this.counts[kind]++;
    if (this.samples.filter((s) => s.kind === kind).length >= SAMPLES_PER_KIND) return;
    const bytes = input === undefined ? undefined : typeof input === 'string' ? Buffer.from(input, 'latin1') : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    this.samples.push({
      kind,
      caseIndex,
      detail: detail.length > 300 ? `${detail.slice(0, 300)}…` : detail,
      inputHex: bytes?.subarray(0, HEX_PREVIEW_BYTES).toString('hex'),
      bytes: bytes?.length,
    });
  }

  note(key: string, n = 1): void {
    this.notes.set(key, (this.notes.get(key) ?? 0) + n);
  }

  /** Times one input of the current case (the code under test only, not the oracles). */
  timedInput(ms: number): void {
    if (ms > this.caseMs) this.caseMs = ms;
    if (ms > this.worstRawInputMs) this.worstRawInputMs = ms;
  }

  /** What case `caseIndex` costs (after re-timing), for `worstInputMs`. */
  caseTime(caseIndex: number, ms: number): void {
    if (ms > this.worstInputMs) {
      this.worstInputMs = ms;
      this.worstInputCase = caseIndex;
    }
  }

  toJSON(): object {
    return {
      target: this.target,
      seed: this.seed,
      inputs: this.inputs,
      cases: this.cases,
      findings: this.counts,
      peakRssMiB: round(this.peakRssBytes / 1048576),
      worstLoopDelayMs: round(this.worstLoopDelayMs),
      worstInputMs: round(this.worstInputMs),
      worstInputCase: this.worstInputCase,
      worstRawInputMs: round(this.worstRawInputMs),
      durationS: round(this.durationMs / 1000),
      notes: Object.fromEntries(this.notes),
      samples: this.samples,
    };
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

function worstInput(r: TargetReport): string {
  if (r.worstInputCase === undefined) return 'n/a (sockets)';
  return `${r.worstInputMs.toFixed(2)} ms (raw ${r.worstRawInputMs.toFixed(1)} ms)`;
}

/** A one-line-per-target table plus the samples, for the terminal and docs/benchmarks.md. */
export function formatReports(reports: readonly TargetReport[]): string {
  const lines = [
    '| target | inputs | cases | crashes | uncoded | other findings | peak RSS | worst loop delay | worst input | time |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of reports) {
    const other = r.findings - r.counts.crash - r.counts.uncoded;
    lines.push(
      `| ${r.target} | ${r.inputs.toLocaleString('en-US')} | ${r.cases.toLocaleString('en-US')} | ${r.counts.crash} | ${r.counts.uncoded} | ${other} | ` +
        `${(r.peakRssBytes / 1048576).toFixed(0)} MiB | ${r.worstLoopDelayMs.toFixed(1)} ms | ${worstInput(r)} | ${(r.durationMs / 1000).toFixed(0)} s |`,
    );
  }
  for (const r of reports) {
    if (r.notes.size > 0) {
      const notes = [...r.notes].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k} ${v.toLocaleString('en-US')}`);
      lines.push('', `${r.target}: ${notes.join(', ')}`);
    }
    if (r.findings === 0) continue;
    lines.push('', `${r.target} findings (seed ${r.seed}): ${FINDING_KINDS.filter((k) => r.counts[k] > 0).map((k) => `${k} ${r.counts[k]}`).join(', ')}`);
    for (const s of r.samples) {
      const where = s.caseIndex === undefined ? '' : ` [case ${s.caseIndex}]`;
      const input = s.inputHex === undefined ? '' : `\n    input (${s.bytes} bytes): ${s.inputHex}${(s.bytes ?? 0) * 2 > s.inputHex.length ? '…' : ''}`;
      lines.push(`  - ${s.kind}${where}: ${s.detail}${input}`);
    }
  }
  return lines.join('\n');
}
