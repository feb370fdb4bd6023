/**
 * examples/chaos/server-restart-storm.ts: the server killed and restarted four times.
 * Every connection dies with each crash and comes back after each restart; no
 * acknowledged request is lost or executed twice — on real sockets and on the simulated
 * network for many seeds.
 */
import { describe, expect, it } from 'vitest';
import scenario from '../../examples/chaos/server-restart-storm.js';
import { expectRealRunPasses, expectSeedsPass } from './scenario-helpers.js';

describe('server-restart-storm', () => {
  it('passes on real sockets', async () => {
    const { report } = await expectRealRunPasses(scenario);
    expect(report.faults.map((f) => f.label)).toEqual(Array(4).fill('server killed'));
    expect(report.deaths).toBeGreaterThanOrEqual(4 * scenario.connections);
    expect(report.recovery.episodes.every((e) => e.recoveredAt !== undefined)).toBe(true);
    expect(report.requests).toMatchObject({ lost: 0, duplicated: 0 });
  });

  it('passes on the simulated network for 20 seeds, each crash killing every connection at once', async () => {
    for (const { report } of await expectSeedsPass(scenario, 1, 20)) {
      expect(report.deaths).toBe(4 * scenario.connections);
      expect(report.detection.maxMs).toBe(0);
      expect(report.recovery.samples).toBe(4);
      expect(report.recovery.maxMs).toBeLessThanOrEqual(1500);
    }
  });
});
