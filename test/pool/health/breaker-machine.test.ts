/**
 * The statechart on its own, as the inspector and Stately's editor see it: its guards hold
 * the rules even when an event asks for a change the counts do not justify, and its open
 * wait is a pure function of the open count and the draw.
 */
import { describe, expect, it } from 'vitest';
import { createActor, getNextSnapshot } from 'xstate';
import { breakerMachine, openWaitMs, type BreakerRules } from '../../../src/pool/health/breaker-machine.js';

const rules: BreakerRules = {
  failureRateThreshold: 50, slowCallRateThreshold: 100, minimumNumberOfCalls: 5, waitDurationInOpenStateMs: 1000,
  waitDurationMultiplier: 2, maxWaitDurationInOpenStateMs: 6000, randomizationFactor: 0.5, maxWaitDurationInHalfOpenStateMs: 2000,
};

describe('breakerMachine', () => {
  it('names its states and guards for the inspector', () => {
    expect(Object.keys(breakerMachine.states)).toEqual(['closed', 'open', 'half-open']);
    const guards = breakerMachine.root.states.closed!.on['breaker.trip']!.map((t) => t.guard);
    expect(guards).toEqual(['windowOverThreshold']);
  });

  it('refuses a trip the counts do not justify, and an early wake-up', () => {
    const actor = createActor(breakerMachine, { input: { endpoint: 'e:1', rules, at: 0 } }).start();
    actor.send({ type: 'breaker.trip', at: 1, draw: 0.5, calls: 4, failures: 4, slowCalls: 0 });
    expect(actor.getSnapshot().value).toBe('closed');
    actor.send({ type: 'breaker.trip', at: 1, draw: 0.5, calls: 10, failures: 4, slowCalls: 9 });
    expect(actor.getSnapshot().value).toBe('closed');
    actor.send({ type: 'breaker.trip', at: 1, draw: 0.5, calls: 10, failures: 5, slowCalls: 0 });
    expect(actor.getSnapshot()).toMatchObject({ value: 'open', context: { openUntil: 1001, consecutiveOpens: 1 } });
    actor.send({ type: 'breaker.open-elapsed', at: 1000 });
    expect(actor.getSnapshot().value).toBe('open');
    actor.send({ type: 'breaker.open-elapsed', at: 1001 });
    expect(actor.getSnapshot()).toMatchObject({ value: 'half-open', context: { halfOpenUntil: 3001 } });
  });

  it('is a pure function of its events (replayable)', () => {
    const events = [
      { type: 'breaker.trip', at: 0, draw: 0.1, calls: 5, failures: 5, slowCalls: 0 },
      { type: 'breaker.open-elapsed', at: 5000 },
      { type: 'breaker.trials-done', at: 5100, draw: 0.9, calls: 3, failures: 2, slowCalls: 0 },
    ] as const;
    const run = () => events.reduce((s, e) => getNextSnapshot(breakerMachine, s, e),
      breakerMachine.resolveState({ value: 'closed', context: { endpoint: 'e:1', rules, consecutiveOpens: 0, since: 0 } }));
    expect(run().context).toEqual(run().context);
    expect(run()).toMatchObject({ value: 'open', context: { consecutiveOpens: 2, lastTrip: { reason: 'trials-failed' } } });
  });

  it('openWaitMs grows, jitters within ±randomizationFactor and never passes the cap', () => {
    expect([1, 2, 3].map((n) => openWaitMs(rules, n, 0.5))).toEqual([1000, 2000, 4000]);
    expect(openWaitMs(rules, 1, 0)).toBe(500);
    expect(openWaitMs(rules, 1, 0.999_999)).toBe(1500);
    expect(openWaitMs(rules, 3, 0.999_999)).toBe(6000);
    expect(openWaitMs(rules, 30, 0)).toBe(3000);
  });
});
