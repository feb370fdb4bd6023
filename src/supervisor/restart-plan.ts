/**
 * What a supervisor does when a child exits on its own: a pure decision, no effects.
 *
 *   exit ──shouldRestart? ──no──▶ remove
 *                 │yes
 *                 ▼
 *   retirement? ──no──▶ count in the intensity window ──exceeded──▶ fail (stop all, reverse start order)
 *        │yes                       │within
 *        ▼                          ▼
 *   the child alone        backoff delay (reset if it was healthy) + the strategy's group
 *        └──────────────▶ restart: stop the group's live members in reverse start order,
 *                          wait the delay, start the members in start order
 *
 * Why a function apart from the engine: the rules (OTP's restart types and strategies,
 * temporary siblings, overlapping groups, intensity, backoff reset) are what a reader and a
 * property test care about; the engine only executes a plan (timers, `CLOSE`, spawns).
 * The planner reads children and returns them (their entries, not copies), never writes
 * them, so a one-for-one plan stays O(1) in a supervisor of thousands: it does not iterate
 * `children`. Randomness comes in as `random`: the same input gives the same plan.
 */
import { RestartIntensityError } from '../errors.js';
import type { EscalationEvent, RestartEvent } from '../observe/events.js';
import { clampDurationMs } from '../options.js';
import { unitInterval, type BackoffPolicy } from './backoff.js';
import { shouldRestart, type ChildExit } from './child-exit.js';
import { restartSet } from './strategies.js';
import type { RestartType, Strategy } from './supervisor-spec.js';

/**
 * The attempt number asked of a policy for its slowest delay: far past any cap (an
 * exponential policy saturates at `maxMs` after ~log2(maxMs / initialMs) attempts), small
 * enough that `multiplier ** attempt` stays finite for sane multipliers.
 */
export const SLOWEST_ATTEMPT = 64;

/** A restart group as the planner sees it: the children waiting in it. */
export interface PlanGroup<C> {
  readonly members: readonly C[];
}

/** What the planner reads of one child (a `ChildEntry` is one). */
export interface PlanChild<C> {
  readonly spec: { readonly id: string; readonly restart: RestartType; readonly backoff: BackoffPolicy; readonly resetAfterMs: number };
  readonly path: string;
  /** Start order. */
  readonly seq: number;
  /** The live incarnation, `undefined` when none runs. */
  readonly ref: unknown;
  /** Being terminated or dropped: never joins a group again, but a live one is still stopped. */
  readonly removing: boolean;
  /** The restart group it waits in (stopping or in its delay), if any. */
  readonly group: PlanGroup<C> | undefined;
  readonly attempt: number;
  readonly prevDelayMs: number | undefined;
  readonly phase: number | undefined;
  /** When its last incarnation was spawned (scheduler ms). */
  readonly startedAt: number | undefined;
}

export interface RestartPlanInput<C extends PlanChild<C>> {
  readonly supervisor: { readonly id: string; readonly path: string };
  readonly strategy: Strategy;
  /** The child that exited (its incarnation is over). */
  readonly trigger: C;
  readonly exit: ChildExit;
  /** Every child in start order. Iterated only when the plan needs siblings (not for one-for-one). */
  readonly children: Iterable<C>;
  readonly intensity: {
    readonly maxRestarts: number;
    readonly withinMs: number;
    /** Restarts counted inside the window ending now, before this one. */
    readonly recentRestarts: number;
  };
  readonly nowMs: number;
  readonly random: () => number;
  /** Build the events (someone listens); otherwise `events` is empty and nothing is allocated for them. */
  readonly withEvents: boolean;
}

/** The trigger's backoff bookkeeping after this plan. */
export interface BackoffState {
  readonly attempt: number;
  readonly prevDelayMs: number | undefined;
  readonly phase: number | undefined;
}

/** The child is not restarted (temporary, or transient after a normal exit): forget it. */
export interface RemovePlan {
  readonly kind: 'remove';
}

/** The restart would exceed the intensity: stop every child and fail. */
export interface FailPlan<C> {
  readonly kind: 'fail';
  /** Restarts inside the window, this one included (it is recorded). */
  readonly restarts: number;
  readonly error: RestartIntensityError;
  /** The live children, in the order to stop them (reverse start order). */
  readonly stop: readonly C[];
  readonly events: readonly EscalationEvent[];
}

export interface RestartPlan<C> {
  readonly kind: 'restart';
  /** Counted in the intensity window (a retirement is not). */
  readonly counted: boolean;
  /** Restarts inside the window with this one, when counted. */
  readonly restarts: number | undefined;
  readonly delayMs: number;
  readonly backoff: BackoffState;
  /** Children restarted together after `delayMs`, in start order (the trigger among them). */
  readonly members: readonly C[];
  /** Older groups this one absorbs: their stops and delays are cancelled, their members are in `members`. */
  readonly absorbed: readonly PlanGroup<C>[];
  /** Temporary siblings: stopped with the group and removed, never restarted (OTP). */
  readonly drop: readonly C[];
  /** Every live child to stop before the delay, in that order (reverse start order). */
  readonly stop: readonly C[];
  readonly events: readonly RestartEvent[];
}

export type ExitPlan<C> = RemovePlan | FailPlan<C> | RestartPlan<C>;

const REMOVE: RemovePlan = Object.freeze({ kind: 'remove' });
const NO_EVENTS: readonly never[] = Object.freeze([]);

/**
 * Decides what an exit of `trigger` leads to.
 *
 * @example
 * const plan = planExit({ supervisor, strategy: 'rest-for-one', trigger: b, exit, children: [a, b, c],
 *   intensity: { maxRestarts: 10, withinMs: 60_000, recentRestarts: 0 }, nowMs, random, withEvents: false });
 * // plan.kind === 'restart', plan.stop = [c], plan.members = [b, c]
 */
export function planExit<C extends PlanChild<C>>(input: RestartPlanInput<C>): ExitPlan<C> {
  const { trigger, exit } = input;
  if (!shouldRestart(trigger.spec.restart, exit)) return REMOVE;
  // A retirement (its owner replaced it on purpose) is no failure: no intensity, no backoff growth.
  const retired = exit.restartPace === 'immediate';
  let restarts: number | undefined;
  if (!retired) {
    const { maxRestarts, recentRestarts } = input.intensity;
    restarts = recentRestarts + 1;
    if (restarts > maxRestarts) return planFailure(input, restarts);
  }
  const { delayMs, backoff } = retired ? retiredDelay(input) : nextDelay(input);
  const group = restartGroup(input, retired);
  return {
    kind: 'restart', counted: !retired, restarts, delayMs, backoff, ...group,
    events: input.withEvents ? restartEvents(input, group.members, backoff.attempt, delayMs) : NO_EVENTS,
  };
}

/** The live children in the order a supervisor stops them all: last started first. */
export function shutdownOrder<C extends { readonly ref: unknown }>(children: Iterable<C>): C[] {
  const live: C[] = [];
  for (const c of children) if (c.ref) live.push(c);
  return live.reverse();
}

function planFailure<C extends PlanChild<C>>(input: RestartPlanInput<C>, restarts: number): FailPlan<C> {
  const { supervisor, trigger, exit, nowMs } = input;
  const { maxRestarts, withinMs } = input.intensity;
  const error = new RestartIntensityError(
    `supervisor ${supervisor.path} gave up: child ${JSON.stringify(trigger.spec.id)} exited (${exit.reason}) and ` +
      `${restarts} restart${restarts === 1 ? '' : 's'} within ${withinMs} ms exceed maxRestarts ${maxRestarts}`,
    exit.error === undefined ? undefined : { cause: exit.error },
  );
  const events: readonly EscalationEvent[] = input.withEvents
    ? [{
        type: 'escalation', id: supervisor.id, path: supervisor.path, reason: 'restart-intensity', child: trigger.spec.id,
        restarts, at: nowMs, error,
      }]
    : NO_EVENTS;
  return { kind: 'fail', restarts, error, stop: shutdownOrder(input.children), events };
}

/**
 * Who restarts with the trigger. A retirement replaces the child alone: its siblings did
 * not fail with it. An overlapping group still stopping or waiting is absorbed: one
 * outage restarts each child once.
 */
function restartGroup<C extends PlanChild<C>>(
  input: RestartPlanInput<C>, retired: boolean,
): Pick<RestartPlan<C>, 'members' | 'absorbed' | 'drop' | 'stop'> {
  const { trigger } = input;
  const members = new Set<C>();
  const absorbed = new Set<PlanGroup<C>>();
  const drop: C[] = [];
  const stop: C[] = [];
  for (const m of retired ? [trigger] : restartSet(input.strategy, input.children, trigger)) {
    if (m.removing) {
      // Already leaving (terminated, or dropped by a group this one may absorb): still stop it.
      if (m.ref) stop.push(m);
      continue;
    }
    if (m !== trigger && m.spec.restart === 'temporary') {
      drop.push(m);
      if (m.ref) stop.push(m);
      continue;
    }
    members.add(m);
    const old = m.group;
    if (old && !absorbed.has(old)) {
      absorbed.add(old);
      // Never a temporary sibling: temporaries are dropped, not grouped.
      for (const o of old.members) if (!o.removing) members.add(o);
    }
  }
  const ordered = [...members].sort(byStartOrder);
  for (const m of ordered) if (m.ref) stop.push(m);
  return { members: ordered, absorbed: [...absorbed], drop, stop: stop.sort(byReverseStartOrder) };
}

/**
 * The backoff delay of the trigger's next attempt. The attempt counter starts over once
 * the incarnation was healthy for `resetAfterMs` (its output's `uptimeMs`, else the time
 * since it was spawned): repeated short outages each recover from the first delay, while
 * a peer that accepts and drops at once is still paced by growing delays. A `slowest`
 * exit (a refused handshake) waits the policy's longest delay.
 */
function nextDelay<C extends PlanChild<C>>(input: RestartPlanInput<C>): { delayMs: number; backoff: BackoffState } {
  const { trigger, exit, random } = input;
  const start = afterReset(input);
  const attempt = start.attempt + 1;
  // One phase per child and attempt series, drawn whatever the policy (the planner cannot
  // tell whether a custom policy reads it): `jitter: 'phased'` places every attempt of
  // this child at the same point of its window.
  const phase = start.phase ?? unitInterval(random());
  const slowest = exit.restartPace === 'slowest';
  // The slowest pace draws from the upper half of the policy's range: full jitter at its
  // cap would otherwise retry a refused handshake anywhere in [0, maxMs].
  const raw = trigger.spec.backoff.delayMs(
    slowest ? Math.max(attempt, SLOWEST_ATTEMPT) : attempt,
    start.prevDelayMs,
    slowest ? () => 0.5 + 0.5 * random() : random,
    phase,
  );
  const delayMs = restartDelayMs(raw);
  return { delayMs, backoff: { attempt, prevDelayMs: delayMs, phase } };
}

/**
 * A retirement never grows the backoff, but it does not skip it either: restarted at once
 * when the incarnation was healthy (or the child never failed), else after the delay of
 * the attempt it is at, so an owner that destroys every connection at once (a `catch {
 * lease.destroy() }` against a server that fails every command) cannot spin a dial loop.
 */
function retiredDelay<C extends PlanChild<C>>(input: RestartPlanInput<C>): { delayMs: number; backoff: BackoffState } {
  const backoff = afterReset(input);
  if (backoff.attempt === 0) return { delayMs: 0, backoff };
  const raw = input.trigger.spec.backoff.delayMs(backoff.attempt, backoff.prevDelayMs, input.random, backoff.phase);
  return { delayMs: restartDelayMs(raw), backoff };
}

/** The trigger's backoff state, started over once the incarnation was healthy for `resetAfterMs`. */
function afterReset<C extends PlanChild<C>>({ trigger, exit, nowMs }: RestartPlanInput<C>): BackoffState {
  const upMs = exit.uptimeMs ?? (trigger.startedAt === undefined ? 0 : nowMs - trigger.startedAt);
  if (upMs >= trigger.spec.resetAfterMs) return { attempt: 0, prevDelayMs: undefined, phase: undefined };
  return { attempt: trigger.attempt, prevDelayMs: trigger.prevDelayMs, phase: trigger.phase };
}

function restartEvents<C extends PlanChild<C>>(
  input: RestartPlanInput<C>, members: readonly C[], attempt: number, delayMs: number,
): RestartEvent[] {
  const { trigger, exit, nowMs } = input;
  return members.map((m) => {
    const base = { type: 'restart', id: m.spec.id, path: m.path, attempt, delayMs, at: nowMs, reason: exit.reason } as const;
    return m === trigger ? base : { ...base, trigger: trigger.spec.id };
  });
}

/**
 * A policy's delay as the timer will wait it: 0 for nonsense (NaN, negative), at most
 * `MAX_DURATION_MS` (a custom policy may return more; the timer could not wait it and the
 * restart event must say what really happens).
 */
export function restartDelayMs(raw: number): number {
  return Number.isFinite(raw) && raw > 0 ? clampDurationMs(raw) : 0;
}

function byStartOrder(a: { seq: number }, b: { seq: number }): number {
  return a.seq - b.seq;
}

function byReverseStartOrder(a: { seq: number }, b: { seq: number }): number {
  return b.seq - a.seq;
}
