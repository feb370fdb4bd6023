/**
 * Ejection never exceeds its cap, under any fault mix: any sequence of successes,
 * connection and server failures on any endpoints, endpoints joining and leaving, and time
 * passing (sweeps at nextSweepAt, as the pool runs them), for any options.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maxEjected, OutlierDetector, type OutlierHandle } from '../../../src/pool/health/outlier-detector.js';
import { parseOutlierOptions } from '../../../src/pool/health/outlier-options.js';

const op = fc.oneof(
  { weight: 10, arbitrary: fc.record({ op: fc.constant('call' as const), at: fc.nat(), outcome: fc.constantFrom('success', 'connection-failure', 'server-failure') }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('wait' as const), ms: fc.integer({ min: 1, max: 60_000 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('add' as const) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('remove' as const), at: fc.nat() }) },
);

const options = fc.record({
  consecutiveFailures: fc.integer({ min: 0, max: 5 }),
  consecutiveGatewayFailure: fc.integer({ min: 0, max: 5 }),
  intervalMs: fc.integer({ min: 500, max: 20_000 }),
  baseEjectionTimeMs: fc.integer({ min: 1, max: 30_000 }),
  maxEjectionTimeJitterMs: fc.integer({ min: 0, max: 5000 }),
  maxEjectionPercent: fc.integer({ min: 0, max: 100 }),
  successRateMinimumHosts: fc.integer({ min: 1, max: 5 }),
  successRateRequestVolume: fc.integer({ min: 1, max: 20 }),
  successRateStdevFactor: fc.double({ min: 0, max: 3, noNaN: true }),
  healthyThreshold: fc.integer({ min: 1, max: 3 }),
});

describe('outlier ejection properties', () => {
  it('the ejected count never exceeds maxEjectionPercent of the set (at least one of two, never all), and is exactly the ejected endpoints', () => {
    fc.assert(fc.property(options, fc.integer({ min: 1, max: 12 }), fc.array(op, { maxLength: 300 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (input, initial, ops, r) => {
        const o = parseOutlierOptions({ ...input, maxEjectionTimeMs: 300_000 });
        let now = 0;
        const detector = new OutlierDetector(o, () => r, now);
        const handles: OutlierHandle[] = Array.from({ length: initial }, (_, i) => detector.add(`e${i}`));
        let added = initial;
        const check = () => {
          const ejected = handles.filter((h) => detector.isEjected(h)).length;
          expect(detector.ejectedCount).toBe(ejected);
          expect(ejected).toBeLessThanOrEqual(maxEjected(handles.length, o.maxEjectionPercent));
          if (handles.length > 0) expect(ejected).toBeLessThan(handles.length);
          if (handles.length >= 2 && o.maxEjectionPercent > 0) expect(ejected).toBeLessThanOrEqual(Math.max(1, Math.floor((handles.length * o.maxEjectionPercent) / 100)));
        };
        for (const s of ops) {
          if (s.op === 'call' && handles.length > 0) {
            const h = handles[s.at % handles.length]!;
            if (s.outcome === 'success') detector.recordSuccess(h, now);
            else detector.recordFailure(h, s.outcome, now);
          } else if (s.op === 'wait') {
            const end = now + s.ms;
            for (let at = detector.nextSweepAt(); at <= end; at = detector.nextSweepAt()) {
              now = Math.max(now, at);
              detector.sweep(now);
              check();
            }
            now = end;
          } else if (s.op === 'add') {
            handles.push(detector.add(`e${added++}`));
          } else if (s.op === 'remove' && handles.length > 0) {
            const [h] = handles.splice(s.at % handles.length, 1);
            detector.remove(h!, now);
          }
          check();
        }
      }), { numRuns: 300 });
  });
});
