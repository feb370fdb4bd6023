/**
 * The report's detection and recovery rows say what their "none" means. Detection
 * samples are the deaths during a harmful fault only, so a run whose connections died
 * just after a fault was healed once printed "detection none (no death)" beside
 * "deaths 4"; an episode that never recovered printed "recovery none (no episode)".
 */
import { describe, expect, it } from 'vitest';
import { formatReport } from '../../src/chaos/format-report.js';
import { summarize, type ScenarioReport } from '../../src/chaos/scenario-report.js';
import type { RecoveryEpisode } from '../../src/chaos/scenario-types.js';

const fault = 'toxic b (timeout downstream: timeout 0)';

function report(over: Partial<ScenarioReport>): ScenarioReport {
  return {
    scenario: 's', description: undefined, mode: 'real', seed: 5, durationMs: 3000, connections: 4,
    faults: [{ id: 1, label: fault, harmful: true, reason: 'timeout can silence or close connections', startedAt: 500, endedAt: 2000 }],
    detection: summarize([]), recovery: { ...summarize([]), episodes: [] },
    requests: { issued: 0, ok: 0, failed: 0, lost: 0, duplicated: 0, mismatched: 0, inFlight: 0, failuresByCode: {}, executionsObserved: true },
    phases: [], deaths: 0, falseDeaths: 0, falseSuspicions: 0, restarts: 0, invariants: [], violations: [], log: [], passed: true,
    wall: { totalMs: 3000, timelineMs: 3000, speedup: 1 },
    ...over,
  };
}

const line = (text: string, label: string) => text.split('\n').find((l) => l.trimStart().startsWith(label))!.trim();

function episode(over: Partial<RecoveryEpisode>): RecoveryEpisode {
  return { faults: [fault], startedAt: 500, endedAt: 2000, recoveredAt: 2050, interrupted: false, reachedAt: 500, detections: 0, ...over };
}

describe('formatReport', () => {
  it('no death at all: detection none (no death)', () => {
    expect(line(formatReport(report({})), 'detection')).toBe('detection     none (no death)');
  });

  it('deaths just after the fault ended are no detection, and the row says so', () => {
    const text = formatReport(report({ deaths: 4 }));
    expect(line(text, 'detection')).toBe('detection     none: no death during a harmful fault (4 deaths just after a harmful fault ended, put down to it)');
    expect(line(text, 'connections')).toContain('deaths 4');
  });

  it('counts the samples as deaths during a fault, apart from the others', () => {
    const text = formatReport(report({ detection: summarize([511, 600, 412, 572]), deaths: 18, falseDeaths: 5 }));
    expect(line(text, 'detection')).toBe(
      'detection     p50 511 ms · p99 600 ms · max 600 ms (4 deaths during a harmful fault; 9 deaths just after a harmful fault ended, put down to it, 5 false deaths)',
    );
    expect(line(formatReport(report({ detection: summarize([300]), deaths: 1 })), 'detection'))
      .toBe('detection     p50 300 ms · p99 300 ms · max 300 ms (1 death during a harmful fault)');
  });

  it('an episode without a recovery sample is not "no episode"', () => {
    const unrecovered = report({ recovery: { ...summarize([]), episodes: [episode({ recoveredAt: undefined })] } });
    expect(line(formatReport(unrecovered), 'recovery')).toBe('recovery      none: 1 episode not recovered by the end');
    const mixed = report({
      recovery: { ...summarize([50]), episodes: [episode({ recoveredAt: undefined, interrupted: true }), episode({}), episode({ endedAt: undefined, recoveredAt: undefined })] },
    });
    expect(line(formatReport(mixed), 'recovery')).toBe(
      'recovery      p50 50 ms · p99 50 ms · max 50 ms (1 episode; 1 episode cut short by the next fault, 1 episode not recovered by the end)',
    );
    expect(line(formatReport(report({})), 'recovery')).toBe('recovery      none (no episode)');
  });
});
