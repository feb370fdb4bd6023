/**
 * examples/chaos/your-service.ts: the walk-through of docs/chaos-scenarios.md ("Testing
 * your own system") — a user's service hosted by the runner, with its token, handler,
 * protocol options and requests — passes on real sockets and on many simulated seeds,
 * and reports what callers saw in each phase.
 */
import { describe, expect, it } from 'vitest';
import scenario from '../../examples/chaos/your-service.js';
import { expectRealRunPasses, expectSeedsPass } from './scenario-helpers.js';

const PHASES = ['before the first step', 'blackhole the service', 'heal the network', 'crash and restart', 'steady again'];

describe('your-service', () => {
  it('passes on real sockets', async () => {
    const { report } = await expectRealRunPasses(scenario);
    expect(report.phases.map((p) => p.label)).toEqual(PHASES);
    expect(report.requests.executionsObserved).toBe(true);
  });

  it('passes on the simulated network for 10 seeds: every connection detected in the blackhole, nothing failing once steady', async () => {
    for (const { report } of await expectSeedsPass(scenario, 1, 10)) {
      expect(report.phases.map((p) => p.label)).toEqual(PHASES);
      const [before, blackhole, , , steady] = report.phases;
      expect(before!.failed).toBe(0);
      expect(blackhole!.ok).toBeLessThan(blackhole!.issued);
      expect(steady).toMatchObject({ failed: 0, inFlight: 0 });
      expect(report.detection.samples).toBeGreaterThanOrEqual(3);
    }
  });
});
