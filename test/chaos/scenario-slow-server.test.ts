/**
 * examples/chaos/slow-server.ts: a server that answers late, below the detector's
 * threshold. No connection may die and every request must succeed, on real sockets and
 * on the simulated network for many seeds.
 */
import { describe, expect, it } from 'vitest';
import scenario from '../../examples/chaos/slow-server.js';
import { expectRealRunPasses, expectSeedsPass } from './scenario-helpers.js';

describe('slow-server', () => {
  it('passes on real sockets: slow, not dead', async () => {
    const { report } = await expectRealRunPasses(scenario);
    expect(report.deaths).toBe(0);
    expect(report.requests.failed).toBe(0);
    expect(report.faults).toEqual([expect.objectContaining({ harmful: false, label: expect.stringContaining('latency 120') })]);
  });

  it('passes on the simulated network for 20 seeds', async () => {
    for (const { report } of await expectSeedsPass(scenario, 1, 20)) {
      expect(report.deaths).toBe(0);
      expect(report.requests.failed).toBe(0);
      expect(report.requests.ok).toBeGreaterThan(40);
    }
  });
});
