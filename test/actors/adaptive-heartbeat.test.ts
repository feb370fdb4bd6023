/**
 * The opt-in adaptive interval: ×1.5 per stable probe (RTTVAR ≤ SRTT/4) up to
 * maxIntervalMs, halved after a false suspicion down to minIntervalMs; off by default.
 */
import { describe, expect, it } from 'vitest';
import { isStableRtt, lengthenIntervalMs, shortenIntervalMs } from '../../src/actors/adaptive-interval.js';
import { virtualConnection, type VirtualConnection } from './helpers/virtual-connection.js';

describe('policy', () => {
  it('stable means RTTVAR ≤ SRTT / 4', () => {
    expect(isStableRtt(undefined)).toBe(false);
    expect(isStableRtt({ srttMs: 10, rttvarMs: 5 })).toBe(false);
    expect(isStableRtt({ srttMs: 10, rttvarMs: 2.5 })).toBe(true);
  });

  it('lengthens ×1.5 while stable, capped; halves, floored', () => {
    expect(lengthenIntervalMs(1000, { srttMs: 10, rttvarMs: 1 }, 3000)).toBe(1500);
    expect(lengthenIntervalMs(2500, { srttMs: 10, rttvarMs: 1 }, 3000)).toBe(3000);
    expect(lengthenIntervalMs(1000, { srttMs: 10, rttvarMs: 4 }, 3000)).toBe(1000);
    expect(shortenIntervalMs(3000, 250)).toBe(1500);
    expect(shortenIntervalMs(300, 250)).toBe(250);
  });
});

/** Runs until `n` more probes were sent and answered (or failed) and the actor is back in ready. */
async function probeCycle(c: VirtualConnection, n = 1): Promise<void> {
  const target = c.actor.getSnapshot().context.probesSent + n;
  while (c.actor.getSnapshot().context.probesSent < target || c.state() !== 'ready') {
    await c.step();
  }
}

describe('adaptive interval in the machine', () => {
  const heartbeat = { intervalMs: 1000, adaptive: true, minIntervalMs: 250, maxIntervalMs: 3000 };

  it('lengthens while probes succeed with low variance, then halves after a suspicion', async () => {
    const c = virtualConnection({ heartbeat, protocol: { probe: { replyMs: 10 } } });
    const intervals: number[] = [];
    for (let i = 0; i < 7; i++) {
      await probeCycle(c);
      intervals.push(c.actor.getSnapshot().context.intervalMs);
    }
    // RTTVAR: 5, 3.75, 2.81 (not stable), 2.11 (stable) … → ×1.5 from the 4th probe, capped.
    expect(intervals).toEqual([1000, 1000, 1000, 1500, 2250, 3000, 3000]);
    // The probes really are spaced by the current interval.
    const at = c.protocol.probes.map((p) => p.at);
    expect(at[6]! - at[5]!).toBe(3000 + 10);

    c.protocol.probeBehaviour.push('hang', { replyMs: 10 });
    await probeCycle(c, 2);
    expect(c.actor.getSnapshot().context).toMatchObject({ falseSuspicions: 1, intervalMs: 1500 });
    for (let i = 0; i < 3; i++) {
      c.protocol.probeBehaviour.push('hang', { replyMs: 10 });
      await probeCycle(c, 2);
    }
    expect(c.actor.getSnapshot().context).toMatchObject({ falseSuspicions: 4, intervalMs: 250 });
  });

  it('is off by default: the interval never changes', async () => {
    const c = virtualConnection({ heartbeat: { intervalMs: 1000 }, protocol: { probe: { replyMs: 10 } } });
    for (let i = 0; i < 8; i++) await probeCycle(c);
    c.protocol.probeBehaviour.push('hang', { replyMs: 10 });
    await probeCycle(c, 2);
    expect(c.actor.getSnapshot().context).toMatchObject({ intervalMs: 1000, falseSuspicions: 1 });
  });
});
