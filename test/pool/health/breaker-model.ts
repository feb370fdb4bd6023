/**
 * A reference model of the circuit breaker's rules, written for clarity instead of speed:
 * the window is a list of calls, each permit is an object that knows the state instance it
 * was admitted in and whether it has settled, and time moves deadline by deadline. The
 * property test drives it and the real breaker with the same steps and compares them.
 *
 * The rules it states (docs/endpoint-health.md):
 * - closed: a call counts in the window (the last `slidingWindowSize` calls, or the calls
 *   of the time buckets not yet aged out); once it holds `minimumNumberOfCalls`, a failure
 *   or slow-call rate at or over its threshold opens the breaker;
 * - open: admits nothing, counts nothing; after the wait, half-open;
 * - half-open: admits `permitted` trials (in flight + settled), counts only their outcomes,
 *   an abandoned trial gives its slot back; decides once the rest cannot change the verdict;
 *   no verdict within `maxWaitDurationInHalfOpenStateMs` reopens for the same wait;
 * - a permit's outcome counts only in the state instance that admitted it, and only once;
 * - an outcome nobody was admitted for (`breaker.epoch`) counts only while closed.
 */
import { BUCKETS } from '../../../src/pool/health/sliding-window.js';
import type { BreakerOptions } from '../../../src/pool/health/breaker-options.js';
import type { BreakerState } from '../../../src/pool/health/breaker-machine.js';

export interface ModelTransition {
  readonly from: BreakerState;
  readonly to: BreakerState;
  readonly at: number;
  readonly consecutiveOpens: number;
  readonly openForMs?: number;
}

/** One admitted call, as the model sees it. */
export interface ModelPermit {
  readonly instance: number;
  readonly trial: boolean;
  settled: boolean;
}

interface Call {
  readonly failed: boolean;
  readonly slow: boolean;
  readonly bucket: number;
}

export class BreakerModel {
  state: BreakerState = 'closed';
  readonly transitions: ModelTransition[] = [];
  /** Which state instance this is: bumped on every change. */
  #instance = 0;
  #now = 0;
  #consecutiveOpens = 0;
  #openUntil = 0;
  #halfOpenUntil = 0;
  #window: Call[] = [];
  #trials: ModelPermit[] = [];
  #trialOutcomes: { failed: boolean; slow: boolean }[] = [];

  constructor(
    private readonly o: BreakerOptions,
    private readonly random: () => number,
  ) {}

  /** The permit for a call, or undefined when refused. */
  acquire(): ModelPermit | undefined {
    if (this.state === 'open') return undefined;
    if (this.state === 'closed') return { instance: this.#instance, trial: false, settled: false };
    const taken = this.#trials.filter((t) => !t.settled).length + this.#trialOutcomes.length;
    if (taken >= this.o.permittedNumberOfCallsInHalfOpenState) return undefined;
    const permit = { instance: this.#instance, trial: true, settled: false };
    this.#trials.push(permit);
    return permit;
  }

  /** A permit's outcome: `undefined` for an abandoned call. */
  settle(permit: ModelPermit, outcome: { failed: boolean; durationMs: number } | undefined): void {
    if (permit.settled) return;
    permit.settled = true;
    if (permit.instance !== this.#instance || outcome === undefined) return;
    this.#count(outcome.failed, outcome.durationMs >= this.o.slowCallDurationThresholdMs, permit.trial);
  }

  /** An outcome reported without a permit (a connection's death). */
  report(failed: boolean): void {
    if (this.state === 'closed') this.#count(failed, false, false);
  }

  /** The window's (closed) or the trials' (half-open) counts; zero while open. */
  counts(): { calls: number; failures: number; slowCalls: number } {
    const calls = this.state === 'half-open' ? this.#trialOutcomes : this.state === 'closed' ? this.#liveWindow() : [];
    return {
      calls: calls.length,
      failures: calls.filter((c) => c.failed).length,
      slowCalls: calls.filter((c) => c.slow).length,
    };
  }

  advanceTo(at: number): void {
    for (;;) {
      if (this.state === 'open' && this.#openUntil <= at) {
        this.#now = this.#openUntil;
        this.#move('half-open');
        this.#halfOpenUntil = this.#now + this.o.maxWaitDurationInHalfOpenStateMs;
      } else if (this.state === 'half-open' && this.#halfOpenUntil <= at) {
        this.#now = this.#halfOpenUntil;
        this.#open(Math.max(1, this.#consecutiveOpens));
      } else break;
    }
    this.#now = at;
  }

  reset(): void {
    this.#consecutiveOpens = 0;
    if (this.state !== 'closed') this.#move('closed');
  }

  #count(failed: boolean, slow: boolean, trial: boolean): void {
    if (this.state === 'closed') {
      this.#window.push({ failed, slow, bucket: this.#bucket(this.#now) });
      const c = this.counts();
      if (c.calls >= this.o.minimumNumberOfCalls && this.#over(c)) this.#open(this.#consecutiveOpens + 1);
      return;
    }
    if (this.state !== 'half-open' || !trial) return;
    this.#trialOutcomes.push({ failed, slow });
    const seen = this.counts();
    const remaining = this.o.permittedNumberOfCallsInHalfOpenState - seen.calls;
    const total = seen.calls + remaining;
    const allRestFail = { calls: total, failures: seen.failures + remaining, slowCalls: seen.slowCalls + remaining };
    const allRestPass = { calls: total, failures: seen.failures, slowCalls: seen.slowCalls };
    if (this.#over(allRestPass)) {
      this.#open(this.#consecutiveOpens + 1);
    } else if (!this.#over(allRestFail)) {
      this.random(); // a verdict draws its open wait's jitter either way
      this.#consecutiveOpens = 0;
      this.#move('closed');
    }
  }

  /** Percentages compared as the rules say: at or over the threshold. */
  #over(c: { calls: number; failures: number; slowCalls: number }): boolean {
    return c.calls > 0 && (c.failures / c.calls >= this.o.failureRateThreshold / 100 || c.slowCalls / c.calls >= this.o.slowCallRateThreshold / 100);
  }

  /** Opens for the n-th open in a row; one draw from the random source, as each event that may open takes one. */
  #open(n: number): void {
    const o = this.o;
    const draw = this.random();
    const base = Math.min(o.waitDurationInOpenStateMs * o.waitDurationMultiplier ** (n - 1), o.maxWaitDurationInOpenStateMs);
    const waitMs = Math.max(1, Math.round(Math.min(base * (1 + o.randomizationFactor * (2 * draw - 1)), o.maxWaitDurationInOpenStateMs)));
    this.#consecutiveOpens = n;
    this.#openUntil = this.#now + waitMs;
    this.#move('open', waitMs);
  }

  #move(to: BreakerState, openForMs?: number): void {
    const from = this.state;
    this.state = to;
    this.#instance++;
    this.#window = [];
    this.#trials = [];
    this.#trialOutcomes = [];
    this.transitions.push({
      from, to, at: this.#now, consecutiveOpens: this.#consecutiveOpens, ...(openForMs === undefined ? {} : { openForMs }),
    });
  }

  #bucket(at: number): number {
    return this.o.slidingWindowType === 'time-based' ? Math.floor(at / (this.o.slidingWindowSizeMs / BUCKETS)) : 0;
  }

  #liveWindow(): Call[] {
    if (this.o.slidingWindowType === 'count-based') return this.#window.slice(-this.o.slidingWindowSize);
    const oldest = this.#bucket(this.#now) - BUCKETS + 1;
    return this.#window.filter((c) => c.bucket >= oldest);
  }
}
