/**
 * The breaker against a reference model (breaker-model.ts), step by step, under any
 * interleaving a pool produces: several permits taken before any settles, settled out of
 * order, some abandoned (aborted, released), some answering after the state that admitted
 * them is gone, deaths reported without a permit, time jumping across several state changes,
 * resets. After every step the two agree on the state, on whether a call is admitted, on the
 * window's or the trials' counts and on every transition (time, opens in a row, open wait);
 * the statechart agrees with the facade; exactly one timer is armed unless closed. Counters
 * check that the runs do reach the cases that matter (a test that stops exploring them fails).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AbortedError, DialRefusedError } from '../../../src/index.js';
import { parseBreakerOptions } from '../../../src/pool/health/breaker-options.js';
import { createCircuitBreaker, NOT_PERMITTED, type BreakerTransition } from '../../../src/pool/health/circuit-breaker.js';
import { BreakerModel, type ModelPermit } from './breaker-model.js';
import { VirtualTime } from './virtual-time.js';

type Settle = 'success' | 'failure' | 'abort' | 'release' | 'ignored';

const step = fc.oneof(
  { weight: 12, arbitrary: fc.record({ kind: fc.constant('acquire' as const) }) },
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant('settle' as const),
      pick: fc.nat(),
      outcome: fc.oneof(
        { weight: 4, arbitrary: fc.constant<Settle>('failure') },
        { weight: 4, arbitrary: fc.constant<Settle>('success') },
        { weight: 1, arbitrary: fc.constantFrom<Settle>('abort', 'release', 'ignored') },
      ),
      durationMs: fc.integer({ min: 0, max: 3000 }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('report' as const), failed: fc.boolean() }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 12_000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reset' as const) }) },
);

const rules = fc.record({
  slidingWindowType: fc.constantFrom<'count-based' | 'time-based'>('count-based', 'time-based'),
  slidingWindowSize: fc.integer({ min: 3, max: 8 }),
  slidingWindowSizeMs: fc.constantFrom(1000, 5000),
  minimumNumberOfCalls: fc.integer({ min: 1, max: 3 }),
  failureRateThreshold: fc.constantFrom(20, 50, 60, 100),
  slowCallRateThreshold: fc.constantFrom(50, 80, 100),
  permittedNumberOfCallsInHalfOpenState: fc.integer({ min: 1, max: 4 }),
});

const draw = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const cycle = (values: readonly number[]) => {
  let i = 0;
  return () => values[i++ % values.length]!;
};

describe('circuit breaker properties', () => {
  it('agrees with the reference model under interleaved, abandoned and late outcomes', () => {
    const seen = {
      runs: 0, halfOpen: 0, closedByTrials: 0, reopenedByTrials: 0, halfOpenTimeout: 0, trialsOverlapping: 0,
      trialReleased: 0, lateOutcome: 0, reportWhileNotClosed: 0, multipleChangesInOneWait: 0,
    };
    fc.assert(fc.property(
      fc.array(step, { maxLength: 200, size: 'max' }),
      rules,
      fc.array(draw, { minLength: 1, maxLength: 8 }),
      (steps, r, draws) => {
        const time = new VirtualTime();
        const { slidingWindowSize, slidingWindowSizeMs, ...shared } = r;
        const options = parseBreakerOptions({
          ...shared,
          ...(r.slidingWindowType === 'count-based' ? { slidingWindowSize } : { slidingWindowSizeMs }),
          slowCallDurationThresholdMs: 2000, waitDurationInOpenStateMs: 1000, waitDurationMultiplier: 2,
          maxWaitDurationInOpenStateMs: 8000, maxWaitDurationInHalfOpenStateMs: 3000, randomizationFactor: 0.3,
        });
        const transitions: BreakerTransition[] = [];
        const breaker = createCircuitBreaker({
          endpoint: 'e:1', options, scheduler: time.scheduler, random: cycle(draws), onTransition: (t) => transitions.push(t),
        });
        const model = new BreakerModel(options, cycle(draws));
        let compared = 0; // transitions already checked against the model's
        const outstanding: { permit: number; model: ModelPermit; epoch: number }[] = [];
        const run = { halfOpen: false, closedByTrials: false, reopenedByTrials: false, timeout: false, overlap: false, released: false, late: false, report: false, multi: false };

        for (const s of steps) {
          switch (s.kind) {
            case 'acquire': {
              const permit = breaker.tryAcquire();
              const m = model.acquire();
              expect(permit !== NOT_PERMITTED, `admitted while ${model.state}`).toBe(m !== undefined);
              if (m !== undefined) outstanding.push({ permit, model: m, epoch: breaker.epoch });
              if (breaker.state === 'half-open' && outstanding.filter((o) => o.epoch === breaker.epoch).length >= 2) run.overlap = true;
              break;
            }
            case 'settle': {
              if (outstanding.length === 0) break;
              const [o] = outstanding.splice(s.pick % outstanding.length, 1);
              const { permit, model: m } = o!;
              if (o!.epoch !== breaker.epoch) run.late = true;
              else if (breaker.state === 'half-open' && ['abort', 'release', 'ignored'].includes(s.outcome)) run.released = true;
              switch (s.outcome) {
                case 'success': breaker.onSuccess(permit, s.durationMs); break;
                case 'failure': breaker.onError(permit, s.durationMs, new DialRefusedError('connect ECONNREFUSED')); break;
                case 'abort': breaker.onError(permit, s.durationMs, new AbortedError('aborted')); break;
                case 'release': breaker.release(permit); break;
                case 'ignored': breaker.recordOutcome(permit, s.durationMs, 'ignored'); break;
              }
              const counted = s.outcome === 'success' || s.outcome === 'failure';
              model.settle(m, counted ? { failed: s.outcome === 'failure', durationMs: s.durationMs } : undefined);
              break;
            }
            case 'report':
              if (breaker.state !== 'closed') run.report = true;
              breaker.recordOutcome(breaker.epoch, 0, s.failed ? 'connection-failure' : 'success', new DialRefusedError('died'));
              model.report(s.failed);
              break;
            case 'wait': {
              const before = transitions.length;
              time.advance(s.ms);
              model.advanceTo(time.now());
              if (transitions.length - before >= 2) run.multi = true;
              break;
            }
            case 'reset':
              breaker.reset();
              model.reset();
              break;
          }
          expect(breaker.state).toBe(model.state);
          expect(breaker.actor.getSnapshot().value).toBe(breaker.state);
          const snap = breaker.snapshot();
          expect({ calls: snap.calls, failures: snap.failures, slowCalls: snap.slowCalls }).toEqual(model.counts());
          expect(transitions.slice(compared).map(({ from, to, at, consecutiveOpens, openForMs }) => ({
            from, to, at, consecutiveOpens, ...(openForMs === undefined ? {} : { openForMs }),
          }))).toEqual(model.transitions.slice(compared));
          compared = transitions.length;
          expect(time.pending).toBe(breaker.state === 'closed' ? 0 : 1);
        }
        breaker.dispose();
        expect(time.pending).toBe(0);

        for (const t of transitions) {
          if (t.to === 'half-open') run.halfOpen = true;
          if (t.from === 'half-open' && t.to === 'closed') run.closedByTrials = true;
          if (t.trip?.reason === 'trials-failed') run.reopenedByTrials = true;
          if (t.trip?.reason === 'half-open-timeout') run.timeout = true;
        }
        seen.runs++;
        seen.halfOpen += +run.halfOpen;
        seen.closedByTrials += +run.closedByTrials;
        seen.reopenedByTrials += +run.reopenedByTrials;
        seen.halfOpenTimeout += +run.timeout;
        seen.trialsOverlapping += +run.overlap;
        seen.trialReleased += +run.released;
        seen.lateOutcome += +run.late;
        seen.reportWhileNotClosed += +run.report;
        seen.multipleChangesInOneWait += +run.multi;
      },
    ), { numRuns: 300 });
    // The interleavings above must actually happen, in a good share of the runs (shrinking
    // adds runs, so count shares of what ran).
    const share = (n: number) => n / seen.runs;
    for (const [name, n] of Object.entries(seen)) {
      if (name !== 'runs') expect(share(n), `${name}: ${n} of ${seen.runs} runs`).toBeGreaterThanOrEqual(0.1);
    }
  });
});
