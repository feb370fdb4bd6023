/**
 * `breakerMachine`: one endpoint's circuit breaker as an XState v5 statechart, so that the
 * inspector and Stately's editor show it (closed / open / half-open, with the guards named).
 *
 *            window over a threshold                 wait over
 *   closed ─────────────────────────────▶ open ───────────────────▶ half-open
 *     ▲      (≥ minimumNumberOfCalls;        ▲  (grows with each          │
 *     │       failure or slow-call rate)     │   consecutive open,        │
 *     │                                      │   jittered, capped)        │
 *     │                                      ├── trials over a threshold ─┤
 *     │                                      └── no verdict in time ──────┤ (same wait again)
 *     └──────────────────── trials healthy ───────────────────────────────┘
 *   RESET (any state) → closed
 *
 * The machine decides and remembers; it does not count calls or run timers. Its owner
 * (circuit-breaker.ts) keeps the sliding window in plain arrays and sends an event only
 * when the window says a state change is due — never one per call: an interpreted XState
 * transition costs ~10 µs, a recorded call here a few integer operations. Deadlines live in
 * context (`openUntil`, `halfOpenUntil`) and the owner arms them on the runtime's scheduler
 * (no `after`: restoring a snapshot drops `after` timers, statelyai/xstate#5331). Events
 * carry their time (`at`) and, where a wait is drawn, the random draw, so the machine is a
 * pure function of its events and a test can replay it.
 *
 * Context is plain data (the endpoint's key, counts, deadlines, an error code): no error
 * object, no message that could carry a secret.
 */
import { assign, setup } from 'xstate';

/** The rules the machine applies: the numeric part of `BreakerOptions`. */
export interface BreakerRules {
  readonly failureRateThreshold: number;
  readonly slowCallRateThreshold: number;
  readonly minimumNumberOfCalls: number;
  readonly waitDurationInOpenStateMs: number;
  readonly waitDurationMultiplier: number;
  readonly maxWaitDurationInOpenStateMs: number;
  readonly randomizationFactor: number;
  readonly maxWaitDurationInHalfOpenStateMs: number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

/** Why the breaker opened. */
export type TripReason = 'failure-rate' | 'slow-call-rate' | 'trials-failed' | 'half-open-timeout';

/** The window (or the trials) as counted when a state change was asked for. */
export interface WindowCounts {
  readonly calls: number;
  readonly failures: number;
  readonly slowCalls: number;
}

export interface BreakerTrip extends WindowCounts {
  readonly reason: TripReason;
  /** The last failure's code, when it was a wirewarden error. */
  readonly errorCode?: string;
}

export interface BreakerContext {
  readonly endpoint: string;
  readonly rules: BreakerRules;
  /** Opens since the breaker was last closed: the open wait's exponent. */
  readonly consecutiveOpens: number;
  /** When the current state began (scheduler ms). */
  readonly since: number;
  /** Open: when trials may start. */
  readonly openUntil?: number;
  /** Half-open: when a half-open without a verdict reopens. */
  readonly halfOpenUntil?: number;
  /** The last time it opened, and why. */
  readonly lastTrip?: BreakerTrip;
}

export interface BreakerMachineInput {
  readonly endpoint: string;
  readonly rules: BreakerRules;
  /** Scheduler time at creation. */
  readonly at: number;
}

interface Counted extends WindowCounts {
  readonly at: number;
  /** Uniform in [0, 1): the jitter of the open wait this event may start. */
  readonly draw: number;
  readonly errorCode?: string;
}

export type BreakerEvent =
  | ({ type: 'breaker.trip' } & Counted)
  | { type: 'breaker.open-elapsed'; at: number }
  | ({ type: 'breaker.trials-done' } & Counted)
  | { type: 'breaker.half-open-expired'; at: number; draw: number }
  | { type: 'breaker.reset'; at: number };

/**
 * True when the counts break a rule: failure rate or slow-call rate at or above its
 * threshold (resilience4j: "equal or greater"), in percent. No division: the hot path
 * calls this after every recorded call.
 */
export function exceedsThresholds(rules: Pick<BreakerRules, 'failureRateThreshold' | 'slowCallRateThreshold'>, c: WindowCounts): boolean {
  return c.calls > 0 && (c.failures * 100 >= rules.failureRateThreshold * c.calls || c.slowCalls * 100 >= rules.slowCallRateThreshold * c.calls);
}

/**
 * How long the `n`th consecutive open lasts: `waitDurationInOpenStateMs × multiplier^(n−1)`,
 * jittered by ±`randomizationFactor`, capped at `maxWaitDurationInOpenStateMs`; at least 1 ms.
 */
export function openWaitMs(rules: BreakerRules, n: number, draw: number): number {
  const grown = rules.waitDurationInOpenStateMs * rules.waitDurationMultiplier ** Math.max(0, n - 1);
  const base = Math.min(grown, rules.maxWaitDurationInOpenStateMs);
  const jittered = base * (1 + rules.randomizationFactor * (2 * draw - 1));
  return Math.max(1, Math.round(Math.min(jittered, rules.maxWaitDurationInOpenStateMs)));
}

function tripReason(event: BreakerEvent, rules: BreakerRules): TripReason {
  if (event.type === 'breaker.half-open-expired') return 'half-open-timeout';
  if (event.type === 'breaker.trials-done') return 'trials-failed';
  const e = event as Counted;
  return e.failures * 100 >= rules.failureRateThreshold * e.calls ? 'failure-rate' : 'slow-call-rate';
}

export const breakerMachine = setup({
  types: {
    context: {} as BreakerContext,
    events: {} as BreakerEvent,
    input: {} as BreakerMachineInput,
  },
  guards: {
    /** Enough calls, and a rate at or over its threshold. */
    windowOverThreshold: ({ context, event }) =>
      event.type === 'breaker.trip' && event.calls >= context.rules.minimumNumberOfCalls && exceedsThresholds(context.rules, event),
    openWaitOver: ({ context, event }) => event.at >= (context.openUntil ?? 0),
    trialsHealthy: ({ context, event }) => event.type === 'breaker.trials-done' && !exceedsThresholds(context.rules, event),
    halfOpenWaitOver: ({ context, event }) => event.at >= (context.halfOpenUntil ?? 0),
  },
  actions: {
    /** Open for the next wait; `grow: false` repeats the current one (no verdict is no evidence). */
    open: assign(({ context, event }, params: { grow: boolean }) => {
      const n = params.grow ? context.consecutiveOpens + 1 : Math.max(1, context.consecutiveOpens);
      const draw = 'draw' in event ? event.draw : 0.5;
      const counted = 'calls' in event ? (event as Counted) : undefined;
      const errorCode = counted?.errorCode ?? context.lastTrip?.errorCode;
      const lastTrip: BreakerTrip = {
        reason: tripReason(event, context.rules),
        calls: counted?.calls ?? 0,
        failures: counted?.failures ?? 0,
        slowCalls: counted?.slowCalls ?? 0,
        ...(errorCode === undefined ? {} : { errorCode }),
      };
      return {
        consecutiveOpens: n,
        since: event.at,
        openUntil: event.at + openWaitMs(context.rules, n, draw),
        halfOpenUntil: undefined,
        lastTrip,
      };
    }),
    startTrials: assign(({ context, event }) => ({
      since: event.at,
      openUntil: undefined,
      halfOpenUntil: event.at + context.rules.maxWaitDurationInHalfOpenStateMs,
    })),
    close: assign(({ event }) => ({
      consecutiveOpens: 0,
      since: event.at,
      openUntil: undefined,
      halfOpenUntil: undefined,
    })),
  },
}).createMachine({
  id: 'breaker',
  context: ({ input }) => ({ endpoint: input.endpoint, rules: input.rules, consecutiveOpens: 0, since: input.at }),
  initial: 'closed',
  on: {
    'breaker.reset': { target: '.closed', actions: 'close' },
  },
  states: {
    closed: {
      on: {
        'breaker.trip': { guard: 'windowOverThreshold', target: 'open', actions: { type: 'open', params: { grow: true } } },
      },
    },
    open: {
      on: {
        'breaker.open-elapsed': { guard: 'openWaitOver', target: 'half-open', actions: 'startTrials' },
      },
    },
    'half-open': {
      on: {
        'breaker.trials-done': [
          { guard: 'trialsHealthy', target: 'closed', actions: 'close' },
          { target: 'open', actions: { type: 'open', params: { grow: true } } },
        ],
        'breaker.half-open-expired': {
          guard: 'halfOpenWaitOver', target: 'open', actions: { type: 'open', params: { grow: false } },
        },
      },
    },
  },
});
