/**
 * The circuit breaker's rules in virtual time: when it opens (rates over a sliding window,
 * once enough calls are seen), how long it stays open (growing, jittered, capped), how
 * half-open judges its trials (several, bounded in time), and that the hot path sends the
 * machine nothing until a state change is due.
 */
import { describe, expect, it } from 'vitest';
import type { InspectionEvent } from 'xstate';
import {
  AbortedError, DialRefusedError, HandshakeFailedError, RemoteError, RequestTimeoutError,
} from '../../../src/index.js';
import { parseBreakerOptions, type BreakerOptionsInput } from '../../../src/pool/health/breaker-options.js';
import {
  createCircuitBreaker, NOT_PERMITTED, type BreakerTransition, type CircuitBreaker,
} from '../../../src/pool/health/circuit-breaker.js';
import { draws, VirtualTime } from './virtual-time.js';

const refused = () => new DialRefusedError('connect ECONNREFUSED 127.0.0.1:7000');

function setup(input: BreakerOptionsInput = {}, random = draws(0.5)) {
  const time = new VirtualTime();
  const transitions: BreakerTransition[] = [];
  const events: string[] = [];
  const breaker = createCircuitBreaker({
    endpoint: '127.0.0.1:7000',
    options: parseBreakerOptions({ randomizationFactor: 0, ...input }),
    scheduler: time.scheduler,
    random,
    onTransition: (t) => transitions.push(t),
    actorOptions: {
      inspect: (e: InspectionEvent) => {
        if (e.type === '@xstate.event' && e.event.type.startsWith('breaker.')) events.push(e.event.type);
      },
    },
  });
  return { time, breaker, transitions, events };
}

/** n calls through the breaker, each taking `ms`, failing with `error` if given. */
function calls(b: CircuitBreaker, n: number, error?: unknown, ms = 1): void {
  for (let i = 0; i < n; i++) {
    const permit = b.tryAcquire();
    if (error === undefined) b.onSuccess(permit, ms);
    else b.onError(permit, ms, error);
  }
}

/** Opens the breaker with `minimumNumberOfCalls` refused dials (default 5). */
function trip(b: CircuitBreaker, n = 5): void {
  calls(b, n, refused());
  expect(b.state).toBe('open');
}

describe('circuit breaker: closed → open', () => {
  it('stays closed below minimumNumberOfCalls, then opens on the call that reaches it', () => {
    const { breaker, transitions } = setup({ minimumNumberOfCalls: 5 });
    calls(breaker, 4, refused());
    expect(breaker.state).toBe('closed');
    expect(breaker.tryAcquire()).not.toBe(NOT_PERMITTED);
    calls(breaker, 1, refused());
    expect(breaker.state).toBe('open');
    expect(breaker.tryAcquire()).toBe(NOT_PERMITTED);
    expect(transitions).toEqual([
      expect.objectContaining({
        from: 'closed', to: 'open', at: 0, consecutiveOpens: 1, openForMs: 5000,
        trip: { reason: 'failure-rate', calls: 5, failures: 5, slowCalls: 0, errorCode: 'WW_DIAL_REFUSED' },
      }),
    ]);
  });

  it('opens at a failure rate equal to the threshold, not below it', () => {
    const below = setup({ slidingWindowSize: 10, minimumNumberOfCalls: 10, failureRateThreshold: 50 }).breaker;
    calls(below, 6);
    calls(below, 4, refused());
    expect(below.state).toBe('closed');
    const at = setup({ slidingWindowSize: 10, minimumNumberOfCalls: 10, failureRateThreshold: 50 }).breaker;
    calls(at, 5);
    calls(at, 5, refused());
    expect(at.state).toBe('open');
  });

  it('a count-based window forgets calls older than its size', () => {
    const { breaker } = setup({ slidingWindowSize: 10, minimumNumberOfCalls: 10 });
    calls(breaker, 4, refused());
    calls(breaker, 10); // pushes the four failures out
    calls(breaker, 4, refused());
    expect(breaker.snapshot()).toMatchObject({ calls: 10, failures: 4, failureRate: 40 });
    expect(breaker.state).toBe('closed');
    calls(breaker, 1, refused());
    expect(breaker.state).toBe('open');
  });

  it('a time-based window forgets calls older than slidingWindowSizeMs', () => {
    const { breaker, time } = setup({ slidingWindowType: 'time-based', slidingWindowSizeMs: 10_000, minimumNumberOfCalls: 5 });
    calls(breaker, 4, refused());
    time.advance(10_000);
    calls(breaker, 1, refused());
    expect(breaker.snapshot()).toMatchObject({ calls: 1, failures: 1 });
    expect(breaker.state).toBe('closed');
    time.advance(5000);
    calls(breaker, 4, refused()); // five within the last 10 s
    expect(breaker.state).toBe('open');
  });

  it('opens on the slow-call rate although every call succeeds', () => {
    const { breaker, transitions } = setup({ slowCallDurationThresholdMs: 1000, slowCallRateThreshold: 60, minimumNumberOfCalls: 5 });
    calls(breaker, 2, undefined, 999);
    calls(breaker, 2, undefined, 1000);
    expect(breaker.state).toBe('closed');
    calls(breaker, 1, undefined, 4000);
    expect(breaker.state).toBe('open');
    expect(transitions[0]!.trip).toMatchObject({ reason: 'slow-call-rate', calls: 5, failures: 0, slowCalls: 3 });
  });

  it("counts the server's faults, not the caller's", () => {
    const { breaker } = setup({ minimumNumberOfCalls: 5 });
    calls(breaker, 5, new RemoteError('WRONGTYPE Operation against a key holding the wrong kind of value'));
    calls(breaker, 5, new AbortedError('acquire aborted'));
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', calls: 5, failures: 0 });
    calls(breaker, 3, new RemoteError('LOADING Redis is loading the dataset in memory', { retryable: true }));
    calls(breaker, 1, new RequestTimeoutError('request timed out after 1000 ms'));
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', calls: 9, failures: 4 });
    calls(breaker, 1, new HandshakeFailedError('handshake timed out'));
    expect(breaker.state).toBe('open');
  });

  it('fails fast with WW_CIRCUIT_OPEN naming the endpoint, the rule and the wait, with the last failure as cause', () => {
    const { breaker, time } = setup();
    const last = refused();
    calls(breaker, 4, refused());
    calls(breaker, 1, last);
    time.advance(1200);
    const err = breaker.openError();
    expect(err.code).toBe('WW_CIRCUIT_OPEN');
    expect(err.retryable).toBe(true);
    expect(err.cause).toBe(last);
    expect(err.message).toBe('circuit open for 127.0.0.1:7000: failure rate 100 % over 5 calls >= 50 %; trial calls in 3800 ms');
  });
});

describe('circuit breaker: open → half-open → closed or open', () => {
  it('waits waitDurationInOpenStateMs, then admits exactly permittedNumberOfCallsInHalfOpenState trials', () => {
    const { breaker, time, transitions } = setup({ permittedNumberOfCallsInHalfOpenState: 3 });
    trip(breaker);
    time.advance(4999);
    expect(breaker.state).toBe('open');
    time.advance(1);
    expect(breaker.state).toBe('half-open');
    expect(transitions.at(-1)).toMatchObject({ from: 'open', to: 'half-open', at: 5000 });
    const permits = [breaker.tryAcquire(), breaker.tryAcquire(), breaker.tryAcquire()];
    expect(permits.every((p) => p !== NOT_PERMITTED)).toBe(true);
    expect(breaker.tryAcquire()).toBe(NOT_PERMITTED);
    expect(breaker.openError().message).toContain('3 trial calls already in flight');
  });

  it('closes as soon as the trials cannot fail any more; reopens as soon as they cannot pass', () => {
    const ok = setup({ permittedNumberOfCallsInHalfOpenState: 5, failureRateThreshold: 50 });
    trip(ok.breaker);
    ok.time.advance(5000);
    const p = Array.from({ length: 5 }, () => ok.breaker.tryAcquire());
    ok.breaker.onSuccess(p[0]!, 1);
    ok.breaker.onError(p[1]!, 1, refused());
    ok.breaker.onSuccess(p[2]!, 1);
    expect(ok.breaker.state).toBe('half-open'); // 1 failure + 2 pending could still reach 3 of 5
    ok.breaker.onSuccess(p[3]!, 1);
    expect(ok.breaker.state).toBe('closed');
    expect(ok.transitions.at(-1)).toMatchObject({ from: 'half-open', to: 'closed', consecutiveOpens: 0 });

    const bad = setup({ permittedNumberOfCallsInHalfOpenState: 5, failureRateThreshold: 50 });
    trip(bad.breaker);
    bad.time.advance(5000);
    const q = Array.from({ length: 5 }, () => bad.breaker.tryAcquire());
    bad.breaker.onError(q[0]!, 1, refused());
    bad.breaker.onSuccess(q[1]!, 1);
    bad.breaker.onError(q[2]!, 1, refused());
    expect(bad.breaker.state).toBe('half-open');
    bad.breaker.onError(q[3]!, 1, refused());
    expect(bad.breaker.state).toBe('open');
    expect(bad.transitions.at(-1)).toMatchObject({
      from: 'half-open', to: 'open', consecutiveOpens: 2, openForMs: 10_000, trip: { reason: 'trials-failed', calls: 4, failures: 3 },
    });
  });

  it('each consecutive open waits longer, up to maxWaitDurationInOpenStateMs; closing starts over', () => {
    const { breaker, time, transitions } = setup({
      waitDurationInOpenStateMs: 1000, waitDurationMultiplier: 2, maxWaitDurationInOpenStateMs: 10_000,
      permittedNumberOfCallsInHalfOpenState: 1,
    });
    trip(breaker);
    for (let i = 0; i < 6; i++) {
      time.advance(transitions.at(-1)!.openForMs!);
      expect(breaker.state).toBe('half-open');
      calls(breaker, 1, refused());
    }
    const waits = transitions.filter((t) => t.to === 'open').map((t) => t.openForMs);
    expect(waits).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
    time.advance(10_000);
    calls(breaker, 1);
    expect(breaker.state).toBe('closed');
    trip(breaker);
    expect(transitions.at(-1)!.openForMs).toBe(1000);
  });

  it('jitters the wait by ±randomizationFactor, never past the cap', () => {
    const low = setup({ randomizationFactor: 0.2, waitDurationInOpenStateMs: 5000 }, draws(0));
    trip(low.breaker);
    expect(low.transitions[0]!.openForMs).toBe(4000);
    const high = setup({ randomizationFactor: 0.2, waitDurationInOpenStateMs: 5000 }, draws(0.999_999));
    trip(high.breaker);
    expect(high.transitions[0]!.openForMs).toBe(6000);
    const capped = setup({ randomizationFactor: 0.2, waitDurationInOpenStateMs: 5000, maxWaitDurationInOpenStateMs: 5000 }, draws(0.999_999));
    trip(capped.breaker);
    expect(capped.transitions[0]!.openForMs).toBe(5000);
  });

  it('a half-open without a verdict within maxWaitDurationInHalfOpenStateMs reopens, for the same wait', () => {
    const { breaker, time, transitions } = setup({ maxWaitDurationInHalfOpenStateMs: 2000 });
    trip(breaker);
    time.advance(5000);
    breaker.tryAcquire(); // a trial that never answers
    time.advance(1999);
    expect(breaker.state).toBe('half-open');
    time.advance(1);
    expect(breaker.state).toBe('open');
    expect(transitions.at(-1)).toMatchObject({
      from: 'half-open', to: 'open', at: 7000, consecutiveOpens: 1, openForMs: 5000, trip: { reason: 'half-open-timeout' },
    });
    expect(breaker.openError().message).toContain('no verdict from trial calls within 2000 ms');
    time.advance(5000);
    expect(breaker.state).toBe('half-open'); // and trials start again by themselves
  });

  it('an outcome counts only towards the state it was admitted in', () => {
    const { breaker, time } = setup({ permittedNumberOfCallsInHalfOpenState: 2 });
    const early = breaker.tryAcquire(); // admitted while closed, answers late
    trip(breaker);
    time.advance(5000);
    breaker.onSuccess(early, 1);
    breaker.onSuccess(early, 1);
    expect(breaker.state).toBe('half-open');
    expect(breaker.snapshot().calls).toBe(0);
  });

  it('an ignored outcome gives its trial slot back', () => {
    const { breaker, time } = setup({ permittedNumberOfCallsInHalfOpenState: 1 });
    trip(breaker);
    time.advance(5000);
    const trial = breaker.tryAcquire();
    expect(breaker.tryAcquire()).toBe(NOT_PERMITTED);
    breaker.onError(trial, 1, new AbortedError('aborted by the caller'));
    const next = breaker.tryAcquire();
    expect(next).not.toBe(NOT_PERMITTED);
    breaker.onSuccess(next, 1);
    expect(breaker.state).toBe('closed');
  });

  it('deaths reported while open are no trials: no event, no timer re-armed, no half-open verdict', () => {
    const { breaker, time, events, transitions } = setup({ permittedNumberOfCallsInHalfOpenState: 5 });
    trip(breaker);
    events.length = 0;
    for (let i = 0; i < 100; i++) breaker.recordOutcome(breaker.epoch, 0, 'connection-failure', refused());
    for (let i = 0; i < 100; i++) breaker.recordOutcome(breaker.epoch, 0, 'success');
    expect(events).toEqual([]);
    expect(time.pending).toBe(1);
    expect(breaker.snapshot()).toMatchObject({ state: 'open', calls: 0, failures: 0 });
    time.advance(5000);
    expect(breaker.state).toBe('half-open');
    expect(transitions.map((t) => t.to)).toEqual(['open', 'half-open']);
    expect(Array.from({ length: 6 }, () => breaker.tryAcquire()).filter((p) => p !== NOT_PERMITTED)).toHaveLength(5);
  });

  it('in half-open, outcomes of calls it did not admit (breaker.epoch) are no trials and take no slot', () => {
    const { breaker, time, events } = setup({ permittedNumberOfCallsInHalfOpenState: 2 });
    trip(breaker);
    time.advance(5000);
    events.length = 0;
    const trial = breaker.tryAcquire();
    breaker.recordOutcome(breaker.epoch, 0, 'success'); // a connection opened earlier reports a success
    breaker.recordOutcome(breaker.epoch, 0, 'connection-failure', refused()); // and another one dies
    expect(events).toEqual([]);
    expect(breaker.snapshot()).toMatchObject({ state: 'half-open', calls: 0 });
    breaker.release(trial); // the trial's caller aborts: its slot comes back
    const admitted = [breaker.tryAcquire(), breaker.tryAcquire(), breaker.tryAcquire()];
    expect(admitted.filter((p) => p !== NOT_PERMITTED)).toHaveLength(2);
    breaker.onSuccess(admitted[0]!, 1);
    breaker.onSuccess(admitted[1]!, 1);
    expect(breaker.state).toBe('closed');
    expect(events).toEqual(['breaker.trials-done']);
  });

  it('release() of a permit from an earlier state, or of one already settled, gives no slot back', () => {
    const { breaker, time } = setup({ permittedNumberOfCallsInHalfOpenState: 2 });
    const early = breaker.tryAcquire();
    trip(breaker);
    time.advance(5000);
    const a = breaker.tryAcquire();
    const b = breaker.tryAcquire();
    breaker.release(early);
    breaker.release(breaker.epoch);
    expect(breaker.tryAcquire()).toBe(NOT_PERMITTED);
    breaker.onSuccess(a, 1);
    breaker.release(a); // wrong, but must not free more slots than are in flight
    breaker.release(b);
    breaker.release(b);
    expect([breaker.tryAcquire(), breaker.tryAcquire()].filter((p) => p !== NOT_PERMITTED)).toHaveLength(1);
  });

  it('reset() closes it at once', () => {
    const { breaker, time } = setup();
    trip(breaker);
    breaker.reset();
    expect(breaker.state).toBe('closed');
    expect(time.pending).toBe(0);
  });
});

describe('circuit breaker: cost and cleanup', () => {
  it('sends the machine no event per call: only the state changes', () => {
    const { breaker, events, time } = setup({ slidingWindowSize: 100, minimumNumberOfCalls: 100 });
    calls(breaker, 10_000);
    for (let i = 0; i < 1000; i++) {
      calls(breaker, 1, refused());
      calls(breaker, 2);
    }
    expect(breaker.state).toBe('closed');
    expect(events).toEqual([]);
    calls(breaker, 60, refused());
    time.advance(5000);
    calls(breaker, 5);
    expect(events).toEqual(['breaker.trip', 'breaker.open-elapsed', 'breaker.trials-done']);
  });

  it('the machine and the facade agree on the state after every change', () => {
    const { breaker, time, transitions } = setup({ permittedNumberOfCallsInHalfOpenState: 2, maxWaitDurationInHalfOpenStateMs: 500 });
    const seen: string[] = [];
    breaker.actor.subscribe((s) => seen.push(String(s.value)));
    trip(breaker);
    time.advance(5000);
    time.advance(500);
    time.advance(5000);
    calls(breaker, 2);
    expect(transitions.map((t) => t.to)).toEqual(['open', 'half-open', 'open', 'half-open', 'closed']);
    expect(seen).toEqual(transitions.map((t) => t.to));
    expect(breaker.actor.getSnapshot().value).toBe(breaker.state);
  });

  it('dispose() leaves no timer and stops the actor; later outcomes are ignored', () => {
    const { breaker, time } = setup();
    trip(breaker);
    expect(time.pending).toBe(1);
    breaker.dispose();
    expect(time.pending).toBe(0);
    expect(breaker.actor.getSnapshot().status).toBe('stopped');
    calls(breaker, 10, refused());
    time.advance(60_000);
    expect(breaker.state).toBe('open');
  });
});
