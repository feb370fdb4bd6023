import { describe, expect, it } from 'vitest';
import { PeakEwma } from '../../src/pool/peak-ewma.js';

describe('PeakEwma', () => {
  it('is unknown until the first sample, which it then takes as is', () => {
    const e = new PeakEwma(1000);
    expect(e.known).toBe(false);
    expect(e.estimateMs(0)).toBeUndefined();
    e.observe(12, 100);
    expect(e.known).toBe(true);
    expect(e.estimateMs(100)).toBe(12);
  });

  it('jumps to a slower sample at once', () => {
    const e = new PeakEwma(10_000);
    for (let t = 0; t < 100; t++) e.observe(1, t);
    e.observe(80, 100);
    expect(e.estimateMs(100)).toBe(80);
  });

  it('moves toward faster samples with the time constant, never below them', () => {
    const decayMs = 1000;
    const e = new PeakEwma(decayMs);
    e.observe(100, 0);
    // faster replies every 10 ms for one time constant
    for (let t = 10; t <= decayMs; t += 10) e.observe(10, t);
    const after = e.estimateMs(decayMs)!;
    expect(after).toBeGreaterThanOrEqual(10);
    // the distance to the new level shrinks at least by e (blend + idle decay between samples)
    expect(after - 10).toBeLessThan((100 - 10) / Math.E);
    // and not in one step: one faster sample 10 ms later moves it by about 1 %
    const f = new PeakEwma(decayMs);
    f.observe(100, 0);
    f.observe(10, 10);
    expect(f.estimateMs(10)!).toBeGreaterThan(97);
  });

  it('decays toward 0 without samples, by e per time constant, so an avoided endpoint looks cheap again', () => {
    const e = new PeakEwma(1000);
    e.observe(50, 0);
    expect(e.estimateMs(1000)).toBeCloseTo(50 / Math.E, 9);
    expect(e.estimateMs(5000)).toBeCloseTo(50 * Math.exp(-5), 9);
    // reading changes nothing
    expect(e.estimateMs(1000)).toBeCloseTo(50 / Math.E, 9);
  });

  it('ignores samples that cannot be response times', () => {
    const e = new PeakEwma(1000);
    e.observe(5, 0);
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) e.observe(bad, 0);
    expect(e.estimateMs(0)).toBe(5);
    const fresh = new PeakEwma(1000);
    fresh.observe(-3, 0);
    expect(fresh.known).toBe(false);
  });

  it('refuses a time constant that is not a positive finite number, naming it', () => {
    for (const bad of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new PeakEwma(bad)).toThrow(expect.objectContaining({ code: 'WW_INVALID_OPTION', message: expect.stringContaining('decayMs') }));
    }
  });
});
