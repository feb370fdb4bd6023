/**
 * RFC 6298 estimator and timeout policies as pure functions, then the machine tracking
 * a rising RTT with exactly the estimator's timeouts.
 */
import { describe, expect, it } from 'vitest';
import {
  loadScaledTimeoutMs, retransmitTimeoutMs, suspectTimeoutMs, updateRttEstimate, type RttEstimate,
} from '../../src/actors/rtt-estimator.js';
import { virtualConnection } from './helpers/virtual-connection.js';

const bounds = { minTimeoutMs: 100, maxTimeoutMs: 2000 };

describe('updateRttEstimate (RFC 6298 §2)', () => {
  it('first sample: SRTT = R, RTTVAR = R/2', () => {
    expect(updateRttEstimate(undefined, 40)).toEqual({ srttMs: 40, rttvarMs: 20 });
  });

  it('later samples: RTTVAR with the old SRTT, then SRTT', () => {
    const e = updateRttEstimate({ srttMs: 40, rttvarMs: 20 }, 60);
    expect(e.rttvarMs).toBeCloseTo(0.75 * 20 + 0.25 * 20);
    expect(e.srttMs).toBeCloseTo(0.875 * 40 + 0.125 * 60);
  });

  it('treats a negative or non-finite sample as 0 (clock went backwards)', () => {
    expect(updateRttEstimate(undefined, -3)).toEqual({ srttMs: 0, rttvarMs: 0 });
    expect(updateRttEstimate(undefined, Number.NaN)).toEqual({ srttMs: 0, rttvarMs: 0 });
  });
});

describe('retransmitTimeoutMs', () => {
  it('is maxTimeoutMs before any sample', () => {
    expect(retransmitTimeoutMs(undefined, bounds)).toBe(2000);
  });

  it('is SRTT + 4·RTTVAR rounded up, clamped to the bounds', () => {
    expect(retransmitTimeoutMs({ srttMs: 42.5, rttvarMs: 20 }, bounds)).toBe(123);
    expect(retransmitTimeoutMs({ srttMs: 1, rttvarMs: 0.5 }, bounds)).toBe(100);
    expect(retransmitTimeoutMs({ srttMs: 900, rttvarMs: 400 }, bounds)).toBe(2000);
  });

  it('tracks an RTT rising from 1 ms to 200 ms, staying clamped', () => {
    let est: RttEstimate | undefined;
    const rtos: number[] = [];
    for (let i = 0; i < 10; i++) rtos.push(retransmitTimeoutMs((est = updateRttEstimate(est, 1)), bounds));
    expect(new Set(rtos)).toEqual(new Set([100])); // 1 ms RTT: pinned to the floor
    const tight = { minTimeoutMs: 100, maxTimeoutMs: 250 };
    const rising: number[] = [];
    const clamped: number[] = [];
    for (let i = 0; i < 60; i++) {
      est = updateRttEstimate(est, 200);
      rising.push(retransmitTimeoutMs(est, bounds));
      clamped.push(retransmitTimeoutMs(est, tight));
    }
    expect(rising[0]).toBeGreaterThan(200); // the jump inflates RTTVAR at once
    expect(Math.max(...rising)).toBeLessThanOrEqual(2000);
    expect(rising.at(-1)).toBeGreaterThanOrEqual(200);
    expect(rising.at(-1)).toBeLessThan(205); // converged: SRTT → 200, RTTVAR → 0
    expect(Math.max(...clamped)).toBe(250);
    expect(Math.min(...clamped)).toBeGreaterThanOrEqual(200);
  });
});

describe('loadScaledTimeoutMs / suspectTimeoutMs', () => {
  it('scales by 1 + weight·elu with elu clamped to [0, 1]', () => {
    expect(loadScaledTimeoutMs(2000, 0.5, 0)).toBe(2000);
    expect(loadScaledTimeoutMs(2000, 0.5, 1)).toBe(3000);
    expect(loadScaledTimeoutMs(2000, 0.5, 0.2)).toBe(2200);
    expect(loadScaledTimeoutMs(2000, 0.5, 5)).toBe(3000);
    expect(loadScaledTimeoutMs(2000, 0.5, -1)).toBe(2000);
    expect(loadScaledTimeoutMs(2000, 0.5, Number.NaN)).toBe(2000);
  });

  it('grows suspect timeouts by the multiplier up to maxTimeoutMs', () => {
    expect(suspectTimeoutMs(100, 2, 2000)).toBe(200);
    expect(suspectTimeoutMs(1500, 2, 2000)).toBe(2000);
    expect(suspectTimeoutMs(100, 1.5, 2000)).toBe(150);
  });
});

describe('the machine follows the estimator', () => {
  it('probe timeouts track an RTT rising from 1 ms to 200 ms', async () => {
    const samples = Array.from({ length: 41 }, (_, i) => Math.max(1, i * 5));
    const c = virtualConnection({ heartbeat: { intervalMs: 1000 } });
    c.protocol.probeBehaviour.push(...samples.map((replyMs) => ({ replyMs })));
    let est: RttEstimate | undefined;
    for (const r of samples) {
      const before = c.actor.getSnapshot().context.probesSent;
      // Run until this probe is answered and the connection is back in ready.
      while (c.actor.getSnapshot().context.probesSent === before || c.state() !== 'ready') {
        await c.step();
      }
      est = updateRttEstimate(est, r);
      const ctx = c.actor.getSnapshot().context;
      expect(ctx.rttMs).toBe(r);
      expect(ctx.srttMs).toBeCloseTo(est.srttMs);
      expect(ctx.probeTimeoutMs).toBe(retransmitTimeoutMs(est, bounds));
    }
    const ctx = c.actor.getSnapshot().context;
    expect(ctx).toMatchObject({ probesSent: 41, probesFailed: 0, falseSuspicions: 0 });
    expect(ctx.probeTimeoutMs).toBeGreaterThan(200);
    expect(ctx.probeTimeoutMs).toBeLessThanOrEqual(2000);
  });
});
