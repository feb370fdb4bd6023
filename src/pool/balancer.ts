/**
 * Which endpoint (or connection) takes the next shared dispatch: a pure decision over
 * what the pool already counts. The pool builds one balancer from its `balance` option
 * and asks it once per dispatch:
 *
 *   const balancer = createBalancer(options.balance, rt.random);
 *   const i = balancer.pick(candidates, now);   // -1: nothing usable, queue the caller
 *
 * Strategies (the `balance` pool option):
 * - `'p2c-peak-ewma'` (default): power of two choices over in-flight × peak-EWMA latency
 *   ÷ weight (Finagle's `p2cPeakEwma`, Tower's `p2c::Balance` over `PeakEwma`); sends
 *   traffic away from a slow endpoint within one reply. balancer-p2c.ts.
 * - `'least-connections'`: fewest in flight per unit of weight (nginx `least_conn`), ties
 *   in smooth weighted round-robin; load-aware, latency-blind. balancer-least-connections.ts.
 * - `'round-robin'`: smooth weighted round-robin (nginx); blind to load and latency.
 *   balancer-round-robin.ts.
 *
 * What a candidate is. Pass endpoints (their dispatches in flight summed, one latency
 * estimate per endpoint, the endpoint's weight, usable when one of its connections can
 * take another dispatch), then give the dispatch to the least loaded usable connection of
 * the chosen endpoint. Power of two choices compares two *different* endpoints only at
 * that level: over connections, two draws that land on the same slow endpoint send it
 * traffic whatever its score (with 2 of 6 connections there, 1 draw in 15). Connections
 * may be candidates when each endpoint has one.
 *
 * A candidate that is not `usable` is never chosen: the pool sets it false for suspect,
 * refused, draining or leased connections and for those at their in-flight limit. The
 * candidates array is read, never kept or changed, so the pool may reuse one array.
 */
import { duration, fail, oneOf, type Checker } from '../options.js';
import { leastConnections } from './balancer-least-connections.js';
import { p2cPeakEwma } from './balancer-p2c.js';
import { roundRobin } from './balancer-round-robin.js';
import { DEFAULT_LATENCY_DECAY_MS, type PeakEwma } from './peak-ewma.js';

/** The `balance` pool option's values. */
export type BalanceStrategy = 'p2c-peak-ewma' | 'least-connections' | 'round-robin';

export const BALANCE_STRATEGIES: readonly BalanceStrategy[] = Object.freeze(['p2c-peak-ewma', 'least-connections', 'round-robin']);

export const DEFAULT_BALANCE: BalanceStrategy = 'p2c-peak-ewma';

/** What a balancer reads of one endpoint (or connection). */
export interface BalanceCandidate {
  /** False: never chosen (suspect, refused, draining, leased, at its in-flight limit). */
  readonly usable: boolean;
  /** Dispatches outstanding on it now. */
  readonly inFlight: number;
  /** Its share, > 0: the endpoint's `weight` (1..1000). */
  readonly weight: number;
  /** Its response times; absent or not yet `known`: no sample yet. Only p2c reads it. */
  readonly latency?: PeakEwma | undefined;
}

export interface Balancer {
  readonly strategy: BalanceStrategy;
  /**
   * The index of the chosen candidate, or -1 when none is usable. `nowMs` is the pool's
   * clock, for the latency estimates' decay.
   */
  pick(candidates: readonly BalanceCandidate[], nowMs: number): number;
}

/**
 * Builds the balancer for a strategy. `random` (uniform in [0, 1)) is the runtime's, so a
 * seeded runtime replays the same choices. Each pool gets its own: round-robin keeps a
 * position per candidate index.
 *
 * @example
 * const balancer = createBalancer('p2c-peak-ewma', Math.random);
 * const i = balancer.pick(endpointLoads, scheduler.now());
 */
export function createBalancer(strategy: BalanceStrategy = DEFAULT_BALANCE, random: () => number = Math.random): Balancer {
  switch (strategy) {
    case 'p2c-peak-ewma':
      return p2cPeakEwma(random);
    case 'least-connections':
      return leastConnections();
    case 'round-robin':
      return roundRobin();
    default:
      return fail('balance', balanceOption.expected, strategy);
  }
}

/**
 * The pool options' checkers, for the pool's schema (`shape({ …, balance: balanceOption,
 * latencyDecayMs: latencyDecayOption })`): messages name the path, as every pool option's.
 *
 * @example
 * parseOptions('pool', shape({ balance: balanceOption }), { balance: 'fastest' });
 * // throws WW_INVALID_OPTION: pool.balance must be one of "p2c-peak-ewma", "least-connections", "round-robin", got "fastest"
 */
export const balanceOption: Checker<BalanceStrategy> = oneOf(BALANCE_STRATEGIES, { default: DEFAULT_BALANCE });

/** τ of the latency estimates (peak-ewma.ts): how long a slow reply keeps costing an endpoint. */
export const latencyDecayOption: Checker<number> = duration({ min: 1, default: DEFAULT_LATENCY_DECAY_MS });
