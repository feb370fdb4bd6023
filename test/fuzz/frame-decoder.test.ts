/**
 * A short seeded run of the `frame-decoder` fuzz target (fuzz/targets/frame-decoder.ts): the campaign's
 * contract at test size. A failure prints the findings with their case numbers; replay
 * one with `npm run fuzz -- --target frame-decoder --seed 20261204 --case N`.
 */
import { expect, it } from 'vitest';
import { runFuzz } from '../../fuzz/campaign.js';
import { formatReports } from '../../fuzz/report.js';

it('3000 seeded inputs: no crash, no uncoded error, no other finding', async () => {
  const [report] = await runFuzz({ targets: ['frame-decoder'], inputs: 3000, seed: 20261204 });
  expect(report!.inputs).toBeGreaterThanOrEqual(3000);
  expect(report!.findings, formatReports([report!])).toBe(0);
});
