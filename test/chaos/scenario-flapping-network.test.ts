/**
 * examples/chaos/flapping-network.ts: latency switched on and off, below the detector's
 * threshold. Probes may be suspected, but no connection dies and every request succeeds,
 * on real sockets and on the simulated network for many seeds.
 */
import { describe, expect, it } from 'vitest';
import scenario from '../../examples/chaos/flapping-network.js';
import { expectRealRunPasses, expectSeedsPass } from './scenario-helpers.js';

describe('flapping-network', () => {
  it('passes on real sockets: no death, every request answered', async () => {
    const { report } = await expectRealRunPasses(scenario);
    expect(report.deaths).toBe(0);
    expect(report.requests.failed).toBe(0);
    expect(report.faults).toHaveLength(6);
    expect(report.faults.every((f) => !f.harmful)).toBe(true);
  });

  it('passes on the simulated network for 20 seeds, with false suspicions but no false death', async () => {
    const results = await expectSeedsPass(scenario, 1, 20);
    let suspicions = 0;
    for (const { report } of results) {
      expect(report.deaths).toBe(0);
      expect(report.requests.ok).toBe(report.requests.issued);
      suspicions += report.falseSuspicions;
    }
    // The flaps are felt (probes time out and are forgiven), not ignored.
    expect(suspicions).toBeGreaterThan(0);
  });
});
