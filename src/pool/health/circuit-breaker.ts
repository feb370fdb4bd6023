/**
 * `CircuitBreaker`: one endpoint's breaker, a cheap hot-path facade over `breakerMachine`.
 *
 * The data path stays off the actor's mailbox (DESIGN.md): `tryAcquire()` is a switch on a
 * plain field and `onSuccess`/`onError` update typed-array counters (sliding-window.ts);
 * the machine receives an event only when the counts call for a state change, and its
 * snapshot is then read back once. Its timers (open wait, half-open bound) are deadlines in
 * the machine's context, armed here as one-shot actions on the runtime's RxJS scheduler.
 *
 *   caller ─ tryAcquire() ─▶ permit (or NOT_PERMITTED → fail fast with openError())
 *   caller ─ onSuccess(permit, ms) / onError(permit, ms, err) ─▶ window ─▶ (rarely) machine
 *   scheduler ─ deadline ─▶ machine (open → half-open, half-open → open)
 *   machine state change ─▶ epoch + 1, counters reset, onTransition(…)
 *
 * A permit is a number naming the state it was admitted in: the breaker's epoch (even,
 * + 2 on every state change) while closed, epoch + 1 for a half-open trial. An outcome
 * counts only towards the state it was admitted in, so a slow call started before the
 * breaker opened cannot close it after its trials began. Callers that observe an outcome
 * without having asked (a connection's death) pass `breaker.epoch`: evidence while closed,
 * nothing while open or half-open — only trials judge a half-open breaker, and an open one
 * already knows (a pool whose connections die one by one while it is open must not turn
 * each death into a trial, an event and a re-armed timer).
 *
 * Half-open admits `permittedNumberOfCallsInHalfOpenState` trial calls and decides as soon
 * as the outcome is certain: failed when the failures already seen reach the threshold
 * whatever the rest do, healthy when they can no longer reach it (so five trials at 50 %
 * close after three successes, and reopen after three failures). A trial whose call was
 * never made or was abandoned (`release(permit)`, or an ignored outcome) gives its slot back.
 */
import { createActor, type Actor, type ActorOptions } from 'xstate';
import type { SchedulerLike } from 'rxjs';
import { CircuitOpenError } from '../../errors.js';
import { scheduleOnce } from '../../scheduler.js';
import {
  breakerMachine, exceedsThresholds, type BreakerContext, type BreakerEvent, type BreakerState, type BreakerTrip,
  type WindowCounts,
} from './breaker-machine.js';
import type { BreakerOptions } from './breaker-options.js';
import { classifierWith, type Outcome } from './classify-outcome.js';
import { CountWindow, TimeWindow, type CallWindow } from './sliding-window.js';

/** What `tryAcquire` returns when the breaker lets no call through. */
export const NOT_PERMITTED = -1;

/** A half-open trial's permit is the epoch plus this; epochs are even, so the two never meet. */
const TRIAL = 1;

/** A state change, as the pool turns it into an event. */
export interface BreakerTransition {
  readonly endpoint: string;
  readonly from: BreakerState;
  readonly to: BreakerState;
  /** Scheduler time. */
  readonly at: number;
  /** Opens since the breaker last closed (0 once closed). */
  readonly consecutiveOpens: number;
  /** To `open`: why, and the counts behind it. */
  readonly trip?: BreakerTrip;
  /** To `open`: how long until trial calls (ms). */
  readonly openForMs?: number;
}

/** Plain figures for stats, health and the dashboard. */
export interface BreakerSnapshot extends WindowCounts {
  readonly endpoint: string;
  readonly state: BreakerState;
  readonly since: number;
  readonly consecutiveOpens: number;
  /** Percent of the window's calls; 0 on an empty window. */
  readonly failureRate: number;
  readonly slowCallRate: number;
  readonly openUntil?: number;
  readonly halfOpenUntil?: number;
  readonly lastTrip?: BreakerTrip;
}

export interface CreateCircuitBreakerOptions {
  /** The endpoint's key (`host:port` or the socket path): how snapshots and errors name it. */
  readonly endpoint: string;
  /** Validated options (`parseBreakerOptions`). */
  readonly options: BreakerOptions;
  readonly scheduler: SchedulerLike;
  /** Uniform in [0, 1): jitter of the open wait. */
  readonly random: () => number;
  /** The time for the time-based window; may be coarse (the pool's clock). Default: the scheduler's. */
  readonly now?: () => number;
  /** Called after every state change, once the breaker is consistent (it may be used from inside). */
  readonly onTransition?: (transition: BreakerTransition) => void;
  /** Passed to the machine's actor: `inspect` to show it in the Stately inspector, `id`, `systemId`. */
  readonly actorOptions?: Pick<ActorOptions<typeof breakerMachine>, 'inspect' | 'id' | 'systemId'>;
}

export class CircuitBreaker {
  readonly endpoint: string;
  /** The statechart's actor, for the inspector and tests; send it nothing directly. */
  readonly actor: Actor<typeof breakerMachine>;
  readonly #options: BreakerOptions;
  readonly #scheduler: SchedulerLike;
  readonly #random: () => number;
  readonly #now: (() => number) | undefined;
  readonly #onTransition: ((t: BreakerTransition) => void) | undefined;
  readonly #classify: (error: unknown) => Outcome;
  readonly #window: CallWindow;
  #state: BreakerState = 'closed';
  #epoch = 0;
  /** Half-open: trial permits handed out and not yet settled (outcome or release). */
  #trialsInFlight = 0;
  /** Half-open: trial outcomes counted. In flight + counted ≤ permitted. */
  #trialCalls = 0;
  #trialFailures = 0;
  #trialSlow = 0;
  #lastError: unknown = undefined;
  #lastErrorCode: string | undefined = undefined;
  #cancelTimer: (() => void) | undefined = undefined;
  #disposed = false;

  constructor(o: CreateCircuitBreakerOptions) {
    this.endpoint = o.endpoint;
    this.#options = o.options;
    this.#scheduler = o.scheduler;
    this.#random = o.random;
    this.#onTransition = o.onTransition;
    this.#classify = classifierWith(o.options.recordFailurePredicate);
    const timeBased = o.options.slidingWindowType === 'time-based';
    this.#window = timeBased ? new TimeWindow(o.options.slidingWindowSizeMs) : new CountWindow(o.options.slidingWindowSize);
    this.#now = timeBased ? (o.now ?? (() => o.scheduler.now())) : undefined;
    this.actor = createActor(breakerMachine, {
      ...o.actorOptions,
      input: { endpoint: o.endpoint, rules: o.options, at: o.scheduler.now() },
    });
    this.actor.start();
  }

  get state(): BreakerState {
    return this.#state;
  }

  /**
   * Bumped (by 2) on every state change; the permit to report an outcome the breaker did not
   * admit itself (a ready connection's death): counted while closed, ignored otherwise.
   */
  get epoch(): number {
    return this.#epoch;
  }

  /** The last failure recorded (an `onError` that counted), for `openError()`'s cause. */
  get lastError(): unknown {
    return this.#lastError;
  }

  /**
   * Asks to make a call. Returns its permit (settle it exactly once: `onSuccess`, `onError`,
   * `recordOutcome` or `release`), or `NOT_PERMITTED` while open, or while half-open with
   * every trial slot taken.
   */
  tryAcquire(): number {
    const state = this.#state;
    if (state === 'closed') return this.#epoch;
    if (state === 'open' || this.#trialsInFlight + this.#trialCalls >= this.#options.permittedNumberOfCallsInHalfOpenState) {
      return NOT_PERMITTED;
    }
    this.#trialsInFlight++;
    return this.#epoch + TRIAL;
  }

  /**
   * The call admitted under `permit` was not made, or was abandoned before its outcome said
   * anything about the endpoint (the caller aborted): no evidence. A half-open trial gives
   * its slot back; any other permit is a no-op.
   */
  release(permit: number): void {
    if (permit === this.#epoch + TRIAL && this.#state === 'half-open' && this.#trialsInFlight > 0) this.#trialsInFlight--;
  }

  /** A call admitted under `permit` succeeded after `durationMs` (slow when ≥ the slow-call threshold). */
  onSuccess(permit: number, durationMs: number): void {
    this.#record(permit, durationMs, false);
  }

  /**
   * `count` calls admitted under the closed-state `permit` succeeded, none of them slow: what
   * `count` × `onSuccess(permit, 0)` would do, in one step (the pool counts the successes of
   * its lease and dispatch paths in a field and hands them over in bulk). Successes never
   * raise a rate, so this never trips the breaker; ignored unless closed under that permit.
   */
  recordSuccesses(permit: number, count: number): void {
    if (this.#disposed || this.#state !== 'closed' || permit !== this.#epoch || count <= 0) return;
    this.#window.recordSuccesses(count, this.#now === undefined ? 0 : this.#now());
  }

  /** A call admitted under `permit` failed; the classifier decides whether it counts. */
  onError(permit: number, durationMs: number, error: unknown): void {
    this.recordOutcome(permit, durationMs, this.#classify(error), error);
  }

  /** As `onError`, with the outcome already classified (a death reported by the pool). */
  recordOutcome(permit: number, durationMs: number, outcome: Outcome, error?: unknown): void {
    if (outcome === 'ignored') {
      this.release(permit);
      return;
    }
    const failed = outcome !== 'success';
    if (failed) {
      this.#lastError = error;
      const code = (error as { code?: unknown } | null | undefined)?.code;
      this.#lastErrorCode = typeof code === 'string' ? code : undefined;
    }
    this.#record(permit, durationMs, failed);
  }

  /** `WW_CIRCUIT_OPEN` naming the endpoint, why it opened and when trials start; `cause`: the last failure. */
  openError(): CircuitOpenError {
    const c = this.actor.getSnapshot().context;
    const now = this.#scheduler.now();
    const why = c.lastTrip === undefined ? 'opened' : describeTrip(c.lastTrip, this.#options);
    const when = this.#state === 'open'
      ? `trial calls in ${Math.max(0, (c.openUntil ?? now) - now)} ms`
      : `${this.#options.permittedNumberOfCallsInHalfOpenState} trial calls already in flight`;
    return new CircuitOpenError(`circuit ${this.#state} for ${this.endpoint}: ${why}; ${when}`, { cause: this.#lastError });
  }

  snapshot(): BreakerSnapshot {
    const c = this.actor.getSnapshot().context;
    const w = this.#window;
    if (this.#now !== undefined) w.advance(this.#now());
    const counts = this.#state === 'half-open'
      ? { calls: this.#trialCalls, failures: this.#trialFailures, slowCalls: this.#trialSlow }
      : { calls: w.calls, failures: w.failures, slowCalls: w.slowCalls };
    return {
      endpoint: this.endpoint,
      state: this.#state,
      since: c.since,
      consecutiveOpens: c.consecutiveOpens,
      ...counts,
      failureRate: counts.calls === 0 ? 0 : (counts.failures * 100) / counts.calls,
      slowCallRate: counts.calls === 0 ? 0 : (counts.slowCalls * 100) / counts.calls,
      ...(c.openUntil === undefined ? {} : { openUntil: c.openUntil }),
      ...(c.halfOpenUntil === undefined ? {} : { halfOpenUntil: c.halfOpenUntil }),
      ...(c.lastTrip === undefined ? {} : { lastTrip: c.lastTrip }),
    };
  }

  /** Closes the breaker by hand (an endpoint replaced, an operator's decision). */
  reset(): void {
    this.#send({ type: 'breaker.reset', at: this.#scheduler.now() });
  }

  /** Cancels its timer and stops the actor; outcomes recorded afterwards are ignored. */
  dispose(): void {
    this.#disposed = true;
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    this.#epoch = NOT_PERMITTED - 3; // even, and its trial permit is not NOT_PERMITTED either
    this.actor.stop();
  }

  #record(permit: number, durationMs: number, failed: boolean): void {
    if (this.#disposed) return;
    const slow = durationMs >= this.#options.slowCallDurationThresholdMs;
    if (this.#state === 'closed') {
      if (permit !== this.#epoch) return; // admitted under an earlier state
      const w = this.#window;
      w.record(failed, slow, this.#now === undefined ? 0 : this.#now());
      if (w.calls >= this.#options.minimumNumberOfCalls && exceedsThresholds(this.#options, w)) {
        this.#send({ type: 'breaker.trip', ...this.#counted(w) });
      }
      return;
    }
    // Open: nothing counts. Half-open: only this half-open's trials, each once.
    if (this.#state !== 'half-open' || permit !== this.#epoch + TRIAL || this.#trialsInFlight === 0) return;
    this.#trialsInFlight--;
    this.#trialCalls++;
    if (failed) this.#trialFailures++;
    if (slow) this.#trialSlow++;
    if (this.#trialVerdict() !== undefined) {
      // Once certain either way, the counts seen already say the same (a ratio only moves
      // towards 1 as equal amounts are added to both sides), so the machine agrees.
      this.#send({
        type: 'breaker.trials-done',
        ...this.#counted({ calls: this.#trialCalls, failures: this.#trialFailures, slowCalls: this.#trialSlow }),
      });
    }
  }

  /** true: healthy whatever the remaining trials do; false: failed whatever they do; undefined: wait. */
  #trialVerdict(): boolean | undefined {
    const o = this.#options;
    const remaining = Math.max(0, o.permittedNumberOfCallsInHalfOpenState - this.#trialCalls);
    const total = this.#trialCalls + remaining;
    const best = { calls: total, failures: this.#trialFailures, slowCalls: this.#trialSlow };
    if (exceedsThresholds(o, best)) return false;
    const worst = { calls: total, failures: this.#trialFailures + remaining, slowCalls: this.#trialSlow + remaining };
    if (!exceedsThresholds(o, worst)) return true;
    return undefined;
  }

  #counted(c: WindowCounts) {
    return {
      at: this.#scheduler.now(),
      draw: this.#random(),
      calls: c.calls,
      failures: c.failures,
      slowCalls: c.slowCalls,
      ...(this.#lastErrorCode === undefined ? {} : { errorCode: this.#lastErrorCode }),
    };
  }

  #send(event: BreakerEvent): void {
    if (this.#disposed) return;
    const from = this.#state;
    this.actor.send(event);
    const context = this.actor.getSnapshot().context;
    const to = this.actor.getSnapshot().value as BreakerState;
    if (to !== from) {
      this.#state = to;
      this.#epoch += 2;
      this.#window.reset();
      this.#trialsInFlight = 0;
      this.#trialCalls = 0;
      this.#trialFailures = 0;
      this.#trialSlow = 0;
    }
    this.#arm(context);
    if (to !== from) this.#onTransition?.(transitionOf(this.endpoint, from, to, context));
  }

  /** One timer at most: the open wait, or the half-open bound. Re-armed after every event. */
  #arm(context: BreakerContext): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    const now = this.#scheduler.now();
    if (this.#state === 'open' && context.openUntil !== undefined) {
      this.#cancelTimer = scheduleOnce(this.#scheduler, context.openUntil - now, () => {
        this.#cancelTimer = undefined;
        this.#send({ type: 'breaker.open-elapsed', at: this.#scheduler.now() });
      });
    } else if (this.#state === 'half-open' && context.halfOpenUntil !== undefined) {
      this.#cancelTimer = scheduleOnce(this.#scheduler, context.halfOpenUntil - now, () => {
        this.#cancelTimer = undefined;
        this.#send({ type: 'breaker.half-open-expired', at: this.#scheduler.now(), draw: this.#random() });
      });
    }
  }
}

function transitionOf(endpoint: string, from: BreakerState, to: BreakerState, c: BreakerContext): BreakerTransition {
  const base = { endpoint, from, to, at: c.since, consecutiveOpens: c.consecutiveOpens };
  if (to !== 'open' || c.openUntil === undefined || c.lastTrip === undefined) return base;
  return { ...base, trip: c.lastTrip, openForMs: c.openUntil - c.since };
}

const pct = (part: number, whole: number): string => `${Math.round((part * 100) / Math.max(1, whole))} %`;

function describeTrip(t: BreakerTrip, o: BreakerOptions): string {
  switch (t.reason) {
    case 'failure-rate':
      return `failure rate ${pct(t.failures, t.calls)} over ${t.calls} calls >= ${o.failureRateThreshold} %`;
    case 'slow-call-rate':
      return `slow-call rate ${pct(t.slowCalls, t.calls)} (calls >= ${o.slowCallDurationThresholdMs} ms) over ${t.calls} calls >= ${o.slowCallRateThreshold} %`;
    case 'trials-failed':
      return `trial calls failed (${t.failures} failed, ${t.slowCalls} slow of ${t.calls})`;
    case 'half-open-timeout':
      return `no verdict from trial calls within ${o.maxWaitDurationInHalfOpenStateMs} ms`;
  }
}

/** Creates an endpoint's breaker; see {@link CircuitBreaker}. */
export function createCircuitBreaker(options: CreateCircuitBreakerOptions): CircuitBreaker {
  return new CircuitBreaker(options);
}
