/**
 * examples/chaos/blackholed-server.ts: a link that drops every byte both ways. On real
 * sockets (one short run through the chaos proxy) and on the simulated network for many
 * seeds, every connection is declared dead within the heartbeat's bound and all are back
 * after the link heals, with no acknowledged request lost.
 */
import { describe, expect, it } from 'vitest';
import scenario from '../../examples/chaos/blackholed-server.js';
import { expectRealRunPasses, expectSeedsPass } from './scenario-helpers.js';

describe('blackholed-server', () => {
  it('passes on real sockets, detecting every connection and recovering', async () => {
    const { report } = await expectRealRunPasses(scenario);
    expect(report.detection.samples).toBeGreaterThanOrEqual(scenario.connections);
    expect(report.recovery.episodes).toHaveLength(1);
    expect(report.recovery.episodes[0]!.recoveredAt).toBeDefined();
    expect(report.requests.ok).toBeGreaterThan(0);
    expect(report.requests).toMatchObject({ lost: 0, duplicated: 0, mismatched: 0 });
  });

  it('passes on the simulated network for 20 seeds, every connection dying within the bound', async () => {
    const results = await expectSeedsPass(scenario, 1, 20);
    for (const { report } of results) {
      expect(report.mode).toBe('simulated');
      expect(report.detection.samples).toBeGreaterThanOrEqual(scenario.connections);
      expect(report.detection.maxMs).toBeLessThanOrEqual(2200);
      expect(report.falseDeaths).toBe(0);
      expect(report.faults.map((f) => [f.startedAt, f.endedAt, f.harmful])).toEqual([[500, 3000, true], [500, 3000, true]]);
    }
  });
});
