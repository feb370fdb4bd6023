/**
 * The breaker under any sequence of outcomes, waits and random draws: the facade and the
 * statechart never disagree, an open breaker admits nothing, half-open never admits more
 * than its trials, every open wait lies within its bounds, and at most one timer is armed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DialRefusedError } from '../../../src/index.js';
import { parseBreakerOptions } from '../../../src/pool/health/breaker-options.js';
import { createCircuitBreaker, NOT_PERMITTED, type BreakerTransition } from '../../../src/pool/health/circuit-breaker.js';
import { VirtualTime } from './virtual-time.js';

const step = fc.oneof(
  fc.record({ kind: fc.constant('call' as const), failed: fc.boolean(), durationMs: fc.integer({ min: 0, max: 3000 }) }),
  fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 20_000 }) }),
);

describe('circuit breaker properties', () => {
  it('state, admissions, waits and timers stay within the rules', () => {
    fc.assert(fc.property(
      fc.array(step, { maxLength: 150 }),
      fc.integer({ min: 1, max: 4 }),
      fc.constantFrom<'count-based' | 'time-based'>('count-based', 'time-based'),
      fc.infiniteStream(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })),
      (steps, permitted, slidingWindowType, randoms) => {
        const time = new VirtualTime();
        const options = parseBreakerOptions({
          slidingWindowType, minimumNumberOfCalls: 3, permittedNumberOfCallsInHalfOpenState: permitted,
          slowCallDurationThresholdMs: 2000, slowCallRateThreshold: 80, waitDurationInOpenStateMs: 1000,
          maxWaitDurationInOpenStateMs: 8000, maxWaitDurationInHalfOpenStateMs: 3000, randomizationFactor: 0.3,
        });
        const transitions: BreakerTransition[] = [];
        const breaker = createCircuitBreaker({
          endpoint: 'e:1', options, scheduler: time.scheduler, random: () => randoms.next().value as number,
          onTransition: (t) => transitions.push(t),
        });
        let admittedInHalfOpen = 0;
        let epoch = breaker.epoch;
        for (const s of steps) {
          if (s.kind === 'wait') time.advance(s.ms);
          else {
            const permit = breaker.tryAcquire();
            if (breaker.state === 'open') expect(permit).toBe(NOT_PERMITTED);
            if (breaker.epoch !== epoch) { epoch = breaker.epoch; admittedInHalfOpen = 0; }
            if (breaker.state === 'half-open' && permit !== NOT_PERMITTED) admittedInHalfOpen++;
            expect(admittedInHalfOpen).toBeLessThanOrEqual(permitted);
            if (s.failed) breaker.onError(permit, s.durationMs, new DialRefusedError('x'));
            else breaker.onSuccess(permit, s.durationMs);
          }
          if (breaker.epoch !== epoch) { epoch = breaker.epoch; admittedInHalfOpen = 0; }
          expect(breaker.actor.getSnapshot().value).toBe(breaker.state);
          expect(time.pending).toBe(breaker.state === 'closed' ? 0 : 1);
        }
        for (const t of transitions) {
          if (t.to !== 'open') continue;
          expect(t.openForMs!).toBeGreaterThanOrEqual(700);
          expect(t.openForMs!).toBeLessThanOrEqual(8000);
        }
        breaker.dispose();
        expect(time.pending).toBe(0);
      },
    ), { numRuns: 300 });
  });
});
