/**
 * Outlier ejection (Envoy's model) in virtual time: consecutive failures and success-rate
 * outliers eject; ejections last base × count (capped, jittered); readmission needs the
 * time and a healthy streak; the cap holds.
 */
import { describe, expect, it } from 'vitest';
import { scheduleOnce } from '../../../src/scheduler.js';
import { maxEjected, OutlierDetector, type OutlierChange, type OutlierHandle } from '../../../src/pool/health/outlier-detector.js';
import { outlierDefaults, parseOutlierOptions } from '../../../src/pool/health/outlier-options.js';
import { draws, VirtualTime } from './virtual-time.js';

function setup(input: Record<string, unknown> = {}, n = 4, random = draws(0)) {
  const time = new VirtualTime();
  const detector = new OutlierDetector(parseOutlierOptions({ maxEjectionPercent: 50, maxEjectionTimeJitterMs: 0, ...input }), random, time.now());
  const handles = Array.from({ length: n }, (_, i) => detector.add(`10.0.0.${i + 1}:6379`));
  const changes: OutlierChange[] = [];
  // The pool's part: one timer at nextSweepAt(), re-armed after every sweep.
  let cancel = (): void => {};
  const arm = () => {
    cancel();
    cancel = scheduleOnce(time.scheduler, detector.nextSweepAt() - time.now(), () => {
      changes.push(...detector.sweep(time.now()));
      arm();
    });
  };
  arm();
  const fail = (h: OutlierHandle, times: number, kind: 'connection-failure' | 'server-failure' = 'server-failure') => {
    for (let i = 0; i < times; i++) {
      const c = detector.recordFailure(h, kind, time.now());
      if (c) changes.push(c);
    }
    arm();
  };
  const succeed = (h: OutlierHandle, times: number) => {
    for (let i = 0; i < times; i++) {
      const c = detector.recordSuccess(h, time.now());
      if (c) changes.push(c);
    }
  };
  return { time, detector, handles, changes, fail, succeed, stop: () => cancel() };
}

describe('outlier ejection', () => {
  it('ejects after consecutiveFailures in a row; a success in between starts over', () => {
    const { detector, handles: [a], fail, succeed, changes } = setup({ consecutiveFailures: 5 });
    fail(a!, 4);
    succeed(a!, 1);
    fail(a!, 4);
    expect(detector.isEjected(a!)).toBe(false);
    fail(a!, 1);
    expect(detector.isEjected(a!)).toBe(true);
    expect(changes).toEqual([{ type: 'ejected', endpoint: '10.0.0.1:6379', at: 0, reason: 'consecutive-failures', ejections: 1, ejectedForMs: 30_000 }]);
  });

  it('ejects after consecutiveGatewayFailure connection failures; an error reply breaks that streak', () => {
    const { detector, handles: [a, b], fail, changes } = setup({ consecutiveGatewayFailure: 3, consecutiveFailures: 10 });
    fail(a!, 2, 'connection-failure');
    fail(a!, 1, 'server-failure');
    fail(a!, 2, 'connection-failure');
    expect(detector.isEjected(a!)).toBe(false);
    fail(b!, 3, 'connection-failure');
    expect(detector.isEjected(b!)).toBe(true);
    expect(changes[0]).toMatchObject({ endpoint: '10.0.0.2:6379', reason: 'consecutive-gateway-failure' });
  });

  it('serves base × count, capped, plus jitter; then probation; healthyThreshold successes readmit fully', () => {
    const { detector, handles: [a], fail, succeed, changes, time } = setup(
      { consecutiveFailures: 1, baseEjectionTimeMs: 10_000, maxEjectionTimeMs: 25_000, maxEjectionTimeJitterMs: 1000, intervalMs: 1_000_000, healthyThreshold: 3 },
      4, draws(0.5),
    );
    fail(a!, 1);
    expect(changes.at(-1)).toMatchObject({ type: 'ejected', ejections: 1, ejectedForMs: 10_500 });
    time.advance(10_499);
    expect(detector.stateOf(a!)).toBe('ejected');
    time.advance(1);
    expect(detector.stateOf(a!)).toBe('probation');
    expect(changes.at(-1)).toEqual({ type: 'probation', endpoint: '10.0.0.1:6379', at: 10_500, reason: 'time-served' });
    succeed(a!, 2);
    fail(a!, 1); // a failure on probation: ejected again, for longer
    expect(changes.at(-1)).toMatchObject({ type: 'ejected', ejections: 2, ejectedForMs: 20_500 });
    time.advance(20_500);
    fail(a!, 0);
    succeed(a!, 2);
    fail(a!, 1);
    expect(changes.at(-1)).toMatchObject({ type: 'ejected', ejections: 3, ejectedForMs: 25_500 }); // capped at 25 s + jitter
    time.advance(25_500);
    succeed(a!, 3);
    expect(detector.stateOf(a!)).toBe('healthy');
    expect(changes.at(-1)).toEqual({ type: 'healthy', endpoint: '10.0.0.1:6379', at: 56_500 });
  });

  it('forgives one ejection per interval that finds the endpoint healthy', () => {
    const { detector, handles: [a], fail, succeed, changes, time } = setup({ consecutiveFailures: 1, baseEjectionTimeMs: 1000, intervalMs: 10_000, healthyThreshold: 1 });
    fail(a!, 1);
    time.advance(1000);
    succeed(a!, 1);
    fail(a!, 1);
    expect(changes.at(-1)).toMatchObject({ ejections: 2, ejectedForMs: 2000 });
    time.advance(2000);
    succeed(a!, 1);
    time.advance(20_000); // two analyses with a healthy endpoint
    fail(a!, 1);
    expect(changes.at(-1)).toMatchObject({ ejections: 1, ejectedForMs: 1000 });
    expect(detector.ejectedCount).toBe(1);
  });

  it('ejects success-rate outliers among endpoints with enough volume, when enough endpoints have it', () => {
    const { detector, handles, succeed, fail, changes, time } = setup({ consecutiveFailures: 0, consecutiveGatewayFailure: 0, successRateMinimumHosts: 5 }, 6);
    const serve = (h: OutlierHandle, ok: number, bad: number) => { for (let i = 0; i < ok; i++) succeed(h, 1); fail(h, bad); };
    // five endpoints with volume: four near 99 %, one at 60 %; the sixth has too few calls.
    for (const h of handles.slice(0, 4)) serve(h, 99, 1);
    serve(handles[4]!, 60, 40);
    serve(handles[5]!, 0, 50);
    time.advance(10_000);
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ type: 'ejected', endpoint: '10.0.0.5:6379', reason: 'success-rate', successRate: 60 });
    expect((changes[0] as { threshold: number }).threshold).toBeCloseTo(91.2 - 1.9 * 15.6, 6);
    expect(detector.isEjected(handles[5]!)).toBe(false);
    // the next interval: only four endpoints with volume are left, so no analysis
    for (const h of handles.slice(0, 3)) serve(h, 99, 1);
    serve(handles[3]!, 10, 90);
    time.advance(10_000);
    expect(detector.ejectedCount).toBe(1);
  });

  it('never ejects past the cap: one of two endpoints at 10 %, none of one, none at 0 %', () => {
    expect([1, 2, 9, 10, 19, 20].map((n) => maxEjected(n, 10))).toEqual([0, 1, 1, 1, 1, 2]);
    expect(maxEjected(3, 100)).toBe(2);
    expect(maxEjected(5, 0)).toBe(0);
    const { detector, handles, fail } = setup({ consecutiveFailures: 1, maxEjectionPercent: 10 }, 2);
    fail(handles[0]!, 1);
    fail(handles[1]!, 5);
    expect(handles.map((h) => detector.stateOf(h))).toEqual(['ejected', 'healthy']);
    const single = setup({ consecutiveFailures: 1, maxEjectionPercent: 100 }, 1);
    single.fail(single.handles[0]!, 10);
    expect(single.detector.ejectedCount).toBe(0);
  });

  it('removing endpoints readmits the ejected ones closest to their time until the cap holds', () => {
    const { detector, handles, fail, time } = setup({ consecutiveFailures: 1, maxEjectionPercent: 50, baseEjectionTimeMs: 10_000 }, 4);
    fail(handles[0]!, 1);
    time.advance(1000);
    fail(handles[1]!, 1);
    expect(detector.ejectedCount).toBe(2);
    const changes = detector.remove(handles[3]!, time.now());
    expect(changes).toEqual([{ type: 'probation', endpoint: '10.0.0.1:6379', at: 1000, reason: 'cap-shrunk' }]);
    expect(detector.ejectedCount).toBe(1);
    detector.remove(handles[1]!, time.now());
    expect(detector.ejectedCount).toBe(0);
    expect(detector.recordFailure(handles[1]!, 'server-failure', time.now())).toBeUndefined();
  });

  it('validates its options', () => {
    expect(parseOutlierOptions(undefined)).toEqual(outlierDefaults);
    expect(() => parseOutlierOptions({ maxEjectionPercent: 101 }, 'pool.outlierDetection')).toThrow('pool.outlierDetection.maxEjectionPercent must be a finite number in [0, 100], got 101');
    expect(() => parseOutlierOptions({ baseEjectionTimeMs: 10_000, maxEjectionTimeMs: 5000 }, 'pool.outlierDetection'))
      .toThrow('pool.outlierDetection.maxEjectionTimeMs must be >= pool.outlierDetection.baseEjectionTimeMs (10000), got 5000');
    expect(() => parseOutlierOptions({ consecutive_5xx: 5 }, 'pool.outlierDetection')).toThrow(/consecutive_5xx is not a known option/);
  });
});
