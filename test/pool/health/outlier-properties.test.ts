/**
 * Ejection never exceeds its cap, under any fault mix: calls on any endpoints (each
 * endpoint with its own failure probability, so some are bad and most are not), bursts of
 * calls on every endpoint (the volume success-rate analysis needs), connection and server
 * failures, endpoints joining and leaving, and time passing (sweeps at nextSweepAt, as the
 * pool runs them), for any options. Counters check that the runs reach what the cap is
 * about — ejections, a full cap of two or more, success-rate ejections, readmission when
 * the set shrinks, failed and passed probations — so a generator that stops exploring them
 * fails the test.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  maxEjected, OutlierDetector, type OutlierChange, type OutlierHandle,
} from '../../../src/pool/health/outlier-detector.js';
import { parseOutlierOptions } from '../../../src/pool/health/outlier-options.js';

const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

const op = fc.oneof(
  { weight: 10, arbitrary: fc.record({ op: fc.constant('call' as const), at: fc.nat(), roll: unit, gateway: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('burst' as const), rounds: fc.integer({ min: 1, max: 25 }), seed: fc.integer() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('wait' as const), ms: fc.integer({ min: 1, max: 40_000 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('add' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('remove' as const), at: fc.nat() }) },
);

/**
 * Failure probability of the n-th endpoint (cycled): the first flaky or bad, the others
 * mostly good — uniform faults make every endpoint look alike and nothing an outlier.
 */
const faultiness = fc.tuple(
  fc.constantFrom(0.3, 0.5, 0.95),
  fc.array(
    fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.constantFrom(0.05, 0.3, 0.5) }, { weight: 1, arbitrary: fc.constant(0.95) }),
    { maxLength: 7 },
  ),
).map(([first, rest]) => [first, ...rest]);

const options = fc.record({
  consecutiveFailures: fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.integer({ min: 1, max: 5 }) }),
  consecutiveGatewayFailure: fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.integer({ min: 1, max: 5 }) }),
  intervalMs: fc.integer({ min: 500, max: 20_000 }),
  baseEjectionTimeMs: fc.integer({ min: 1, max: 30_000 }),
  maxEjectionTimeJitterMs: fc.integer({ min: 0, max: 5000 }),
  maxEjectionPercent: fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 9, arbitrary: fc.integer({ min: 1, max: 100 }) }),
  successRateMinimumHosts: fc.integer({ min: 1, max: 5 }),
  successRateRequestVolume: fc.integer({ min: 1, max: 20 }),
  successRateStdevFactor: fc.double({ min: 0, max: 2, noNaN: true }),
  healthyThreshold: fc.integer({ min: 1, max: 3 }),
});

/** A small seeded generator for the outcomes of a burst (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describe('outlier ejection properties', () => {
  it('the ejected count never exceeds maxEjectionPercent of the set (at least one of two, never all), and is exactly the ejected endpoints', () => {
    const seen = { runs: 0, ejected: 0, capReached: 0, capOfTwoOrMoreReached: 0, successRate: 0, capShrunk: 0, probationFailed: 0, probationPassed: 0 };
    fc.assert(fc.property(
      options, fc.integer({ min: 2, max: 12 }), faultiness, fc.array(op, { maxLength: 300, size: 'max' }), unit,
      (input, initial, faults, ops, r) => {
        const o = parseOutlierOptions({ ...input, maxEjectionTimeMs: 300_000 });
        let now = 0;
        const detector = new OutlierDetector(o, () => r, now);
        const handles: OutlierHandle[] = [];
        const failureChance = new Map<OutlierHandle, number>();
        let added = 0;
        const add = () => {
          const h = detector.add(`e${added}`);
          failureChance.set(h, faults[added++ % faults.length]!);
          handles.push(h);
        };
        for (let i = 0; i < initial; i++) add();
        const run = { ejected: false, capReached: false, capOfTwo: false, successRate: false, capShrunk: false, probationFailed: false, probationPassed: false };

        const note = (changes: OutlierChange | OutlierChange[] | undefined) => {
          for (const c of changes === undefined ? [] : [changes].flat()) {
            if (c.type === 'ejected') {
              run.ejected = true;
              if (c.reason === 'success-rate') {
                run.successRate = true;
                expect(c.successRate!).toBeLessThan(c.threshold!);
              }
            } else if (c.type === 'probation' && c.reason === 'cap-shrunk') run.capShrunk = true;
            else if (c.type === 'healthy') run.probationPassed = true;
          }
        };
        const call = (h: OutlierHandle, roll: number, gateway: boolean) => {
          const onProbation = detector.stateOf(h) === 'probation';
          const change = roll < failureChance.get(h)!
            ? detector.recordFailure(h, gateway ? 'connection-failure' : 'server-failure', now)
            : detector.recordSuccess(h, now);
          if (onProbation && change?.type === 'ejected') run.probationFailed = true;
          note(change);
        };
        const check = () => {
          const ejected = handles.filter((h) => detector.isEjected(h)).length;
          const cap = maxEjected(handles.length, o.maxEjectionPercent);
          expect(detector.ejectedCount).toBe(ejected);
          expect(ejected).toBeLessThanOrEqual(cap);
          if (handles.length > 0) expect(ejected).toBeLessThan(handles.length);
          if (handles.length >= 2 && o.maxEjectionPercent > 0) {
            expect(ejected).toBeLessThanOrEqual(Math.max(1, Math.floor((handles.length * o.maxEjectionPercent) / 100)));
          }
          if (cap > 0 && ejected === cap) {
            run.capReached = true;
            if (cap >= 2) run.capOfTwo = true;
          }
        };

        for (const s of ops) {
          if (s.op === 'call' && handles.length > 0) {
            call(handles[s.at % handles.length]!, s.roll, s.gateway);
          } else if (s.op === 'burst') {
            const next = seeded(s.seed);
            for (let i = 0; i < s.rounds; i++) for (const h of handles) call(h, next(), next() < 0.5);
          } else if (s.op === 'wait') {
            const end = now + s.ms;
            for (let at = detector.nextSweepAt(); at <= end; at = detector.nextSweepAt()) {
              now = Math.max(now, at);
              note(detector.sweep(now));
              check();
            }
            now = end;
          } else if (s.op === 'add') {
            add();
          } else if (s.op === 'remove' && handles.length > 0) {
            const [h] = handles.splice(s.at % handles.length, 1);
            note(detector.remove(h!, now));
          }
          check();
        }
        seen.runs++;
        seen.ejected += +run.ejected;
        seen.capReached += +run.capReached;
        seen.capOfTwoOrMoreReached += +run.capOfTwo;
        seen.successRate += +run.successRate;
        seen.capShrunk += +run.capShrunk;
        seen.probationFailed += +run.probationFailed;
        seen.probationPassed += +run.probationPassed;
      },
    ), { numRuns: 300 });
    // Shares of the runs that reached each case (about twice these when this was written;
    // shrinking adds runs, so shares rather than counts).
    const atLeast = {
      ejected: 0.5, capReached: 0.4, capOfTwoOrMoreReached: 0.15, successRate: 0.2, capShrunk: 0.08, probationFailed: 0.4, probationPassed: 0.25,
    };
    for (const [name, share] of Object.entries(atLeast)) {
      const n = seen[name as keyof typeof atLeast];
      expect(n / seen.runs, `${name}: ${n} of ${seen.runs} runs`).toBeGreaterThanOrEqual(share);
    }
  });
});
