/**
 * A short seeded run of the `chaos-api` fuzz target (fuzz/targets/chaos-api.ts): the
 * campaign's contract at test size. A failure prints the findings with their case numbers;
 * replay one with `npm run fuzz -- --target chaos-api --seed 20261204 --case N`.
 */
import { expect, it } from 'vitest';
import { runFuzz } from '../../fuzz/campaign.js';
import { FINDING_KINDS, formatReports, type TargetReport } from '../../fuzz/report.js';

let report: TargetReport | undefined;
async function seededRun(): Promise<TargetReport> {
  [report] = report === undefined ? await runFuzz({ targets: ['chaos-api'], inputs: 2000, seed: 20261204 }) : [report];
  return report!;
}

it('2000 seeded inputs: no crash, no uncoded error, no hang, no malformed answer, nothing left open', async () => {
  const r = await seededRun();
  expect(r.inputs).toBeGreaterThanOrEqual(2000);
  for (const kind of FINDING_KINDS.filter((k) => k !== 'unanswered')) expect(r.counts[kind], `${kind}\n${formatReports([r])}`).toBe(0);
});

it('every well-formed request gets a status, on a fresh or a reused connection', async () => {
  const r = await seededRun();
  expect(r.counts.unanswered, formatReports([r])).toBe(0);
});
