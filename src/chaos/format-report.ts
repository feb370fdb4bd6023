/**
 * Renders a scenario report as the table `wirewarden chaos run` prints: one labelled
 * row per figure, faults and violations one per line, the verdict last — with, for a
 * failed simulated run, its seed and the exact command that replays it.
 */
import type { LatencySummary, ScenarioReport } from './scenario-report.js';

const LABEL_WIDTH = 14;

function row(label: string, lines: readonly string[]): string {
  const pad = ' '.repeat(LABEL_WIDTH + 2);
  return lines.map((line, i) => (i === 0 ? `  ${label.padEnd(LABEL_WIDTH)}${line}` : `${pad}${line}`)).join('\n');
}

const ms = (x: number | undefined) => (x === undefined ? '—' : `${x} ms`);

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function latency(s: LatencySummary, counted: string): string {
  return `p50 ${ms(s.p50Ms)} · p99 ${ms(s.p99Ms)} · max ${ms(s.maxMs)} (${counted})`;
}

/**
 * Detection samples are only the deaths while a harmful fault was active. A death just
 * after one ended (healing a blackhole closes its connections) is put down to the fault
 * but measures no detection, and a false death none either: "none" must not read as "no
 * death" beside a non-zero `deaths`.
 */
function detection(report: ScenarioReport): string {
  const { detection: d, deaths, falseDeaths } = report;
  const afterFault = deaths - falseDeaths - d.samples;
  const other = [
    afterFault > 0 ? `${plural(afterFault, 'death')} just after a harmful fault ended, put down to it` : '',
    falseDeaths > 0 ? plural(falseDeaths, 'false death') : '',
  ].filter((text) => text !== '');
  if (d.samples > 0) return latency(d, `${plural(d.samples, 'death')} during a harmful fault${other.length > 0 ? `; ${other.join(', ')}` : ''}`);
  if (deaths === 0) return 'none (no death)';
  return `none: no death during a harmful fault (${other.join(', ')})`;
}

/**
 * An episode cut short by the next fault, or not recovered when the run ended, has no
 * sample; it happened all the same.
 */
function recovery(report: ScenarioReport): string {
  const { recovery: r } = report;
  const unsampled = r.episodes.filter((e) => e.endedAt === undefined || e.recoveredAt === undefined);
  const interrupted = unsampled.filter((e) => e.interrupted).length;
  const open = unsampled.length - interrupted;
  const other = [
    interrupted > 0 ? `${plural(interrupted, 'episode')} cut short by the next fault` : '',
    open > 0 ? `${plural(open, 'episode')} not recovered by the end` : '',
  ].filter((text) => text !== '');
  if (r.samples > 0) return latency(r, `${plural(r.samples, 'episode')}${other.length > 0 ? `; ${other.join(', ')}` : ''}`);
  return r.episodes.length === 0 ? 'none (no episode)' : `none: ${other.join(', ')}`;
}

function speed(report: ScenarioReport): string {
  const { timelineMs, speedup } = report.wall;
  const wall = `${Math.round(timelineMs)} ms of wall time`;
  return report.mode === 'simulated' ? `${wall} (${speedup}× real time)` : wall;
}

function phaseLine(p: ScenarioReport['phases'][number]): string {
  const span = `${p.startedAt}–${p.endedAt ?? ''} ms`.padEnd(14);
  const codes = Object.entries(p.failuresByCode).map(([code, n]) => `${code} ${n}`).join(', ');
  const latency = p.latency.samples === 0 ? '' : ` · p99 ${ms(p.latency.p99Ms)}`;
  return `${span} ${p.label}: ok ${p.ok}/${p.issued}${p.failed > 0 ? ` · failed ${p.failed} (${codes})` : ''}${latency}`;
}

/**
 * @example
 * process.stdout.write(formatReport(result.report, result.replay));
 */
export function formatReport(report: ScenarioReport, replay?: string): string {
  const out: string[] = [];
  out.push(`━━ ${report.scenario} · ${report.mode === 'simulated' ? 'simulated network' : 'real sockets'} · seed ${report.seed} ━━`);
  if (report.description) out.push(`  ${report.description}`);
  out.push(row('timeline', [`${report.durationMs} ms in ${speed(report)}, ${report.connections} connections`]));
  out.push(row('faults', report.faults.length === 0 ? ['none'] : report.faults.map((f) => {
    const span = f.endedAt === undefined ? `${f.startedAt}– ms` : f.endedAt === f.startedAt ? `${f.startedAt} ms` : `${f.startedAt}–${f.endedAt} ms`;
    return `${span.padEnd(14)} ${f.label} · ${f.harmful ? 'harmful' : 'benign'}`;
  })));
  out.push(row('detection', [detection(report)]));
  out.push(row('recovery', [recovery(report)]));
  const r = report.requests;
  const requests = [`issued ${r.issued} · ok ${r.ok} · failed ${r.failed} · lost ${r.lost} · duplicated ${r.duplicated}${r.mismatched ? ` · mismatched ${r.mismatched}` : ''}`];
  const codes = Object.entries(r.failuresByCode);
  if (codes.length > 0) requests.push(`failures: ${codes.map(([code, n]) => `${code} ${n}`).join(', ')}`);
  out.push(row('requests', requests));
  // Per phase only when the timeline has steps: one phase is the totals again.
  if (report.phases.length > 1) out.push(row('by phase', report.phases.map(phaseLine)));
  out.push(row('connections', [`deaths ${report.deaths} · false deaths ${report.falseDeaths} · false suspicions ${report.falseSuspicions} · restarts ${report.restarts}`]));
  const broken = new Map(report.violations.map((v) => [v.invariant, v]));
  const checks = report.invariants.map((name) => {
    const v = broken.get(name);
    return v ? `✗ ${name} — ${v.phase} check at ${v.atMs} ms: ${v.message}` : `✓ ${name}`;
  });
  for (const v of report.violations) if (!report.invariants.includes(v.invariant)) checks.push(`✗ ${v.invariant} — at ${v.atMs} ms: ${v.message}`);
  out.push(row('invariants', checks.length === 0 ? ['none declared'] : checks));
  if (report.log.length > 0) out.push(row('log', report.log.map((l) => `${String(l.atMs).padStart(6)} ms  ${l.message}`)));
  if (report.passed) {
    out.push(row('result', ['PASSED']));
  } else {
    const n = report.violations.length;
    const verdict = [`FAILED: ${n} invariant${n === 1 ? '' : 's'} broke (seed=${report.seed})`];
    if (replay) verdict.push(`replay: ${replay}`);
    out.push(row('result', verdict));
  }
  return `${out.join('\n')}\n`;
}
