/**
 * `FailoverPolicy`: which priority group carries a pool's traffic, and when it moves.
 *
 *   failover  the active group cannot serve (every endpoint in it open, ejected, refused
 *             or down) → at once to the most preferred group that can serve;
 *   failback  a more preferred group has been able to serve for `failbackAfterMs` without a
 *             break → back to it.
 *
 * Hysteresis, so that a flapping primary cannot bounce traffic: each failover away from a
 * group raises the stable time it needs before traffic returns to it — `failbackAfterMs`,
 * then ×2 for each further failover away from it, capped at `maxFailbackAfterMs` — and a
 * group that carried traffic for `maxFailbackAfterMs` without failing is forgiven. So a
 * primary that fails more often than `failbackAfterMs` never gets traffic back while it
 * flaps, and one that fails every few minutes gets it back less and less often (route flap
 * damping, as BGP does it). Any break in a group's health starts its stable time over.
 *
 *   group 0  ▇▇▇▇▇▇▇▇▇▇▁▇▇▇▇▁▇▇▇▇▁▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇   (▁ cannot serve)
 *   traffic  0000000000111111111111111111111111111100000000000
 *                      ↑ failover                   ↑ failback: stable for failbackAfterMs
 *
 * Pure: the pool tells it, on every change of a group's health and at
 * `nextEvaluationAt()`, whether each group can serve now; it answers with the move to make,
 * as a plain event description, or nothing.
 *
 * @example
 * const policy = new FailoverPolicy(parseFailoverOptions({}), [0, 1], now);
 * const move = policy.evaluate(now, (priority) => groupCanServe(priority));
 * if (move) emit(move); // { type: 'failover', from: 0, to: 1, at, reason: 'unavailable' }
 */
import { InvalidOptionError } from '../../errors.js';
import { duration, parseOptions, shape } from '../../options.js';

export const failoverDefaults = Object.freeze({
  /** Stable time before traffic returns to a preferred group: longer than a restart's flaps and a breaker's first open wait. */
  failbackAfterMs: 30_000,
  /** The longest stable time asked of a flapping group, and how long a group must carry traffic to be forgiven. */
  maxFailbackAfterMs: 300_000,
});

export const failoverOptionsSchema = shape({
  failbackAfterMs: duration({ min: 0, default: failoverDefaults.failbackAfterMs }),
  maxFailbackAfterMs: duration({ min: 0, default: failoverDefaults.maxFailbackAfterMs }),
});

export interface FailoverOptions {
  readonly failbackAfterMs: number;
  readonly maxFailbackAfterMs: number;
}

/** Validates failover options at `path` (`pool.failover`); the cap cannot be below the start. */
export function parseFailoverOptions(input: unknown, path = 'failover'): FailoverOptions {
  const o = parseOptions(path, failoverOptionsSchema, input);
  if (o.maxFailbackAfterMs < o.failbackAfterMs) {
    throw new InvalidOptionError(`${path}.maxFailbackAfterMs must be >= ${path}.failbackAfterMs (${o.failbackAfterMs}), got ${o.maxFailbackAfterMs}`);
  }
  return o;
}

/** A move of the pool's traffic between priority groups. */
export type PriorityMove =
  | { readonly type: 'failover'; readonly from: number; readonly to: number; readonly at: number; readonly reason: 'unavailable' }
  | {
    readonly type: 'failback'; readonly from: number; readonly to: number; readonly at: number; readonly reason: 'stable';
    /** How long `to` had been able to serve, and how long it had to. */
    readonly stableForMs: number; readonly requiredStableMs: number;
  };

interface Group {
  readonly priority: number;
  /** Since when it has been able to serve without a break; undefined while it cannot. */
  healthySince: number | undefined;
  /** Failovers away from it since it was last forgiven. */
  flaps: number;
}

export class FailoverPolicy {
  readonly #o: FailoverOptions;
  readonly #groups: Group[];
  #active: Group;
  /** Since when the active group has carried traffic. */
  #activeSince: number;

  /** `priorities`: the pool's priority groups (any order, duplicates ignored); traffic starts on the lowest. */
  constructor(options: FailoverOptions, priorities: readonly number[], now: number) {
    if (priorities.length === 0) throw new InvalidOptionError('failover needs at least one priority group, got none');
    this.#o = options;
    this.#groups = [...new Set(priorities)].sort((a, b) => a - b).map((priority) => ({ priority, healthySince: undefined, flaps: 0 }));
    this.#active = this.#groups[0]!;
    this.#activeSince = now;
  }

  /** The priority group carrying traffic. */
  get active(): number {
    return this.#active.priority;
  }

  /** The stable time traffic needs before it returns to `priority` now. */
  requiredStableMs(priority: number): number {
    const g = this.#groups.find((x) => x.priority === priority);
    return g === undefined ? Number.POSITIVE_INFINITY : this.#required(g);
  }

  /**
   * Updates each group's health from `canServe` at `now` and returns the move to make, if
   * any (the policy has made it: `active` is already the new group). Call it whenever a
   * group's ability to serve may have changed, and at `nextEvaluationAt()`.
   */
  evaluate(now: number, canServe: (priority: number) => boolean): PriorityMove | undefined {
    for (const g of this.#groups) {
      if (!canServe(g.priority)) g.healthySince = undefined;
      else if (g.healthySince === undefined) g.healthySince = now;
    }
    const active = this.#active;
    if (active.healthySince === undefined) {
      const to = this.#groups.find((g) => g.healthySince !== undefined);
      if (to === undefined) return undefined; // nowhere to go: stay, and let the breakers fail calls fast
      // Forgiven if it carried traffic long enough; either way this departure counts.
      if (now - this.#activeSince >= this.#o.maxFailbackAfterMs) active.flaps = 0;
      active.flaps++;
      this.#moveTo(to, now);
      return { type: 'failover', from: active.priority, to: to.priority, at: now, reason: 'unavailable' };
    }
    if (now - this.#activeSince >= this.#o.maxFailbackAfterMs) active.flaps = 0;
    for (const g of this.#groups) {
      if (g === active) break; // only more preferred groups
      if (g.healthySince === undefined) continue;
      const required = this.#required(g);
      const stableForMs = now - g.healthySince;
      if (stableForMs < required) continue;
      this.#moveTo(g, now);
      return { type: 'failback', from: active.priority, to: g.priority, at: now, reason: 'stable', stableForMs, requiredStableMs: required };
    }
    return undefined;
  }

  /** When a failback becomes due if no group's health changes; undefined when none is pending. */
  nextEvaluationAt(): number | undefined {
    let at: number | undefined;
    for (const g of this.#groups) {
      if (g === this.#active) break;
      if (g.healthySince === undefined) continue;
      const due = g.healthySince + this.#required(g);
      if (at === undefined || due < at) at = due;
    }
    return at;
  }

  /** Plain figures for health and the dashboard. */
  snapshot(): { active: number; groups: { priority: number; healthySince?: number; flaps: number; requiredStableMs: number }[] } {
    return {
      active: this.#active.priority,
      groups: this.#groups.map((g) => ({
        priority: g.priority, flaps: g.flaps, requiredStableMs: this.#required(g),
        ...(g.healthySince === undefined ? {} : { healthySince: g.healthySince }),
      })),
    };
  }

  #required(g: Group): number {
    const o = this.#o;
    return Math.min(o.failbackAfterMs * 2 ** Math.max(0, g.flaps - 1), o.maxFailbackAfterMs);
  }

  #moveTo(g: Group, now: number): void {
    this.#active = g;
    this.#activeSince = now;
  }
}
