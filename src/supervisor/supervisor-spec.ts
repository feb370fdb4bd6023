/**
 * Supervisor and child specs: their types, defaults and validation, in one place so the
 * two recursive shapes (a child may be a supervisor whose input is a supervisor spec)
 * are checked together and every message names the full path —
 * `supervisor.children[2].input.strategy must be one of "one-for-one", …`.
 *
 * Why these defaults (OTP's are 1 restart in 5 s, no backoff):
 * - `maxRestarts: 10` within `withinMs: 60000` — network children restart with backoff,
 *   so a burst of ten in a minute means the backoff is not containing a crash loop. One
 *   restart in 5 s would give up on the first flapping peer. A pool of many connections
 *   to one host should scale `maxRestarts` with its size, or pass `Infinity`.
 * - `restart: 'permanent'` — a connection that closes on its own is usually wanted back.
 * - `shutdownMs: 5000` (OTP's worker default) — enough to drain in-flight calls on a
 *   healthy peer; a supervisor child defaults to `Infinity` because its own children are
 *   already bounded by theirs.
 * - `resetAfterMs: 30000` — a child that stayed up this long proved its peer healthy, so
 *   the next failure backs off from the start again; shorter would let a peer that
 *   accepts and then drops every few seconds keep the delay minimal.
 * - backoff: exponential, full jitter, 100 ms .. 30 s, ×2 (AWS' recommendation).
 */
import type { AnyActorLogic, InputFrom } from 'xstate';
import { type Checker, custom, duration, fail, oneOf, optional, shape, parseOptions } from '../options.js';
import { type BackoffPolicy, defaultBackoff, isBackoffPolicy } from './backoff.js';

export type RestartType = 'permanent' | 'transient' | 'temporary';
export type Strategy = 'one-for-one' | 'one-for-all' | 'rest-for-one';
/** `reverse`: one child at a time, last started first (OTP). `parallel`: all at once. */
export type ShutdownOrder = 'reverse' | 'parallel';

/** One child of a supervisor. */
export interface ChildSpec<TLogic extends AnyActorLogic = AnyActorLogic> {
  /** Unique among its siblings; no `/` (it is a path segment). */
  readonly id: string;
  readonly logic: TLogic;
  /** Given to every incarnation of the child. */
  readonly input?: InputFrom<TLogic>;
  /** Default `'permanent'`. */
  readonly restart?: RestartType;
  /** How long a `CLOSE`d child may take before it is forced. 0 forces at once. Default 5000 (`Infinity` for a supervisor). */
  readonly shutdownMs?: number;
  /** Restart delays. Default: exponential, full jitter, 100 ms .. 30 s. */
  readonly backoff?: BackoffPolicy;
  /** The backoff attempt counter resets once an incarnation stayed up this long. Default 30000. */
  readonly resetAfterMs?: number;
}

/** A supervisor: its children, how they restart together, and when to give up. */
export interface SupervisorSpec {
  readonly id: string;
  /** Default `'one-for-one'`. */
  readonly strategy?: Strategy;
  /** More restarts than this within `withinMs` and the supervisor fails. Default 10. */
  readonly maxRestarts?: number;
  /** The sliding window of `maxRestarts`. Default 60000. */
  readonly withinMs?: number;
  /** Static children, started in order. Default none. */
  readonly children?: readonly ChildSpec[];
  /** Default `'reverse'`. */
  readonly shutdownOrder?: ShutdownOrder;
}

export interface ResolvedChildSpec {
  readonly id: string;
  readonly logic: AnyActorLogic;
  readonly input: unknown;
  readonly restart: RestartType;
  readonly shutdownMs: number;
  readonly backoff: BackoffPolicy;
  readonly resetAfterMs: number;
  /** The child is itself a supervisor (its input is a resolved supervisor spec). */
  readonly supervisor: boolean;
}

export interface ResolvedSupervisorSpec {
  readonly id: string;
  readonly strategy: Strategy;
  readonly maxRestarts: number;
  readonly withinMs: number;
  readonly children: readonly ResolvedChildSpec[];
  readonly shutdownOrder: ShutdownOrder;
}

const sharedDefaultBackoff = defaultBackoff();

/** Every supervisor and child default, frozen. */
export const supervisorDefaults = Object.freeze({
  strategy: 'one-for-one' as Strategy,
  maxRestarts: 10,
  withinMs: 60_000,
  shutdownOrder: 'reverse' as ShutdownOrder,
  restart: 'permanent' as RestartType,
  shutdownMs: 5000,
  supervisorShutdownMs: Number.POSITIVE_INFINITY,
  resetAfterMs: 30_000,
  backoff: sharedDefaultBackoff,
});

/** Marks the supervisor's actor logic, so a child spec knows to validate its input. */
export const SUPERVISOR_LOGIC: unique symbol = Symbol.for('wirewarden.supervisorLogic');

export function isSupervisorLogic(logic: unknown): boolean {
  return typeof logic === 'object' && logic !== null && (logic as Record<symbol, unknown>)[SUPERVISOR_LOGIC] === true;
}

function isActorLogic(v: unknown): v is AnyActorLogic {
  return (
    typeof v === 'object' && v !== null &&
    typeof (v as AnyActorLogic).transition === 'function' &&
    typeof (v as AnyActorLogic).getInitialSnapshot === 'function'
  );
}

const isCount = (v: unknown) => v === Number.POSITIVE_INFINITY || (typeof v === 'number' && Number.isInteger(v) && v >= 0);

const childId = custom<string>('a non-empty string without "/"', (v) => typeof v === 'string' && v.length > 0 && !v.includes('/'));

const childShape = shape({
  id: childId,
  logic: custom<AnyActorLogic>('an actor logic (with transition and getInitialSnapshot)', isActorLogic),
  input: optional(custom<unknown>('any value', () => true)),
  restart: oneOf(['permanent', 'transient', 'temporary'] as const, { default: supervisorDefaults.restart }),
  shutdownMs: optional(duration({ min: 0, infinity: true })),
  backoff: custom<BackoffPolicy>('a backoff policy (an object with delayMs(attempt, prevMs, random))', isBackoffPolicy, {
    default: sharedDefaultBackoff,
  }),
  resetAfterMs: duration({ min: 0, default: supervisorDefaults.resetAfterMs }),
});

const resolved = new WeakSet<object>();

const childChecker: Checker<ResolvedChildSpec> = {
  expected: 'a child spec',
  optional: false,
  check(value, path) {
    if (typeof value === 'object' && value !== null && resolved.has(value)) return value as ResolvedChildSpec;
    const c = childShape.check(value, path);
    const supervisor = isSupervisorLogic(c.logic);
    let input = c.input;
    if (supervisor) {
      const raw = (typeof c.input === 'object' && c.input !== null ? c.input : {}) as Record<string, unknown>;
      const spec = supervisorChecker.check({ id: c.id, ...raw }, `${path}.input`);
      if (spec.id !== c.id) fail(`${path}.input.id`, `the child id ${JSON.stringify(c.id)}`, spec.id);
      input = spec;
    }
    const shutdownMs = c.shutdownMs ?? (supervisor ? supervisorDefaults.supervisorShutdownMs : supervisorDefaults.shutdownMs);
    const out: ResolvedChildSpec = Object.freeze(withJson({ ...c, input, shutdownMs, supervisor }, childSpecJson));
    resolved.add(out);
    return out;
  },
};

const supervisorShape = shape({
  id: childId,
  strategy: oneOf(['one-for-one', 'one-for-all', 'rest-for-one'] as const, { default: supervisorDefaults.strategy }),
  maxRestarts: custom<number>('an integer >= 0 or Infinity', isCount, { default: supervisorDefaults.maxRestarts }),
  withinMs: duration({ min: 1, default: supervisorDefaults.withinMs }),
  children: custom<unknown[]>('an array of child specs', Array.isArray, { default: () => [] }),
  shutdownOrder: oneOf(['reverse', 'parallel'] as const, { default: supervisorDefaults.shutdownOrder }),
});

const supervisorChecker: Checker<ResolvedSupervisorSpec> = {
  expected: 'a supervisor spec',
  optional: false,
  check(value, path) {
    if (typeof value === 'object' && value !== null && resolved.has(value)) return value as ResolvedSupervisorSpec;
    const s = supervisorShape.check(value, path);
    const seen = new Set<string>();
    const children = s.children.map((raw, i) => {
      const child = childChecker.check(raw, `${path}.children[${i}]`);
      if (seen.has(child.id)) fail(`${path}.children[${i}].id`, 'unique among siblings', child.id);
      seen.add(child.id);
      return child;
    });
    const out: ResolvedSupervisorSpec = Object.freeze(withJson({ ...s, children: Object.freeze(children) }, supervisorSpecJson));
    resolved.add(out);
    return out;
  },
};

/** Validates a supervisor spec (recursively); throws `InvalidOptionError` naming the path. */
export function parseSupervisorSpec(path: string, value: unknown): ResolvedSupervisorSpec {
  return parseOptions(path, supervisorChecker, value);
}

/** Validates one child spec; throws `InvalidOptionError` naming the path. */
export function parseChildSpec(path: string, value: unknown): ResolvedChildSpec {
  return parseOptions(path, childChecker, value);
}

// ── as JSON: what the inspector shows of a spec (a supervisor's input, in its `xstate.init` event) ──

/** A count or duration as JSON can carry it: `Infinity` as the string `'Infinity'` (JSON would write `null`). */
export function finiteOrInfinity(n: number): number | 'Infinity' {
  return n === Number.POSITIVE_INFINITY ? 'Infinity' : n;
}

/** Adds a non-enumerable `toJSON` (spreading the spec does not copy it). */
function withJson<T extends object>(spec: T, toJSON: (this: T) => unknown): T {
  return Object.defineProperty(spec, 'toJSON', { value: toJSON, enumerable: false });
}

function supervisorSpecJson(this: ResolvedSupervisorSpec): unknown {
  const { id, strategy, withinMs, shutdownOrder, children } = this;
  return { id, strategy, maxRestarts: finiteOrInfinity(this.maxRestarts), withinMs, shutdownOrder, children };
}

/**
 * A child spec without its `logic` (an object graph, drawn as the child's own actor) and,
 * unless it is a supervisor spec, without its `input`: a user's input may hold credentials,
 * and the child's own actor decides what of it to show.
 */
function childSpecJson(this: ResolvedChildSpec): unknown {
  const { id, restart, resetAfterMs, backoff, supervisor } = this;
  const json = { id, restart, shutdownMs: finiteOrInfinity(this.shutdownMs), resetAfterMs, backoff: { name: backoff.name, options: backoff.options }, supervisor };
  return supervisor ? { ...json, input: this.input } : json;
}
