/**
 * `defineScenario()`: validates a scenario once, when its file is loaded, so a typo in a
 * timeline fails before any socket opens — with the option's path in the message
 * (`scenario.timeline[1].atMs must be an integer in [0, 4000], got 5000`).
 *
 * The result is frozen and branded with a registry symbol (`Symbol.for`), so the CLI
 * recognises scenarios even when the file imported wirewarden from another copy of the
 * module (a scenario importing `src/` run by the compiled CLI).
 */
import { parseHeartbeat, type ResolvedHeartbeat } from '../actors/connection-input.js';
import type { HeartbeatInput } from '../actors/connection-types.js';
import { InvalidOptionError } from '../errors.js';
import { arrayOf, clampDurationMs, custom, duration, fail, func, integer, isObject, optional, parseOptions, shape, string, boolean } from '../options.js';
import { exponentialBackoff, isBackoffPolicy, type BackoffPolicy } from '../supervisor/backoff.js';
import type { WireSession } from '../transport/wire-session.js';
import type { Invariant, Scenario, ScenarioDefinition, TimelineStep, WorkloadOptions } from './scenario-types.js';
import { parseTarget } from './scenario-target.js';

const SCENARIO = Symbol.for('wirewarden.chaos.scenario');

/** The heartbeat scenarios run with unless they say otherwise: detection within ~2 s, tolerant of 400 ms of added latency. */
export const scenarioHeartbeat = Object.freeze({ intervalMs: 200, minTimeoutMs: 50, maxTimeoutMs: 400, suspectProbes: 3 });

/** Reconnect backoff unless a scenario says otherwise. */
export const scenarioBackoff = Object.freeze({ initialMs: 50, maxMs: 500 });

export const workloadDefaults = Object.freeze({ concurrency: 2, intervalMs: 50, timeoutMs: 1000 });

const requestTimeoutBound = duration({ min: 0 });

/**
 * The longest a heartbeat takes to declare a silent peer dead. An idle connection: up to
 * two intervals before a tick finds no inbound traffic and probes; a connection in use
 * (leased, a request out) is never probed, so its evidence is a request timing out after
 * `requestTimeoutMs`. Then the peer must stay silent for the suspicion window, widened by
 * the event-loop load factor (`1 + eluWeight`). `heartbeat` is a scenario's heartbeat
 * option: merged over the scenario defaults, as `defineScenario` does.
 *
 * The result is at most 2^31 − 1 ms, so it is always a valid `detectedWithin(ms)`: a
 * larger bound would change nothing, since no scenario lasts longer (`durationMs` has
 * the same limit), and a detection can take no longer than the run.
 *
 * @example
 * detectionBoundMs({ intervalMs: 200, maxTimeoutMs: 400, suspectProbes: 3 }); // 400 + 1600 × 1.5 = 2800
 * detectionBoundMs({ intervalMs: 200, maxTimeoutMs: 400, suspectProbes: 3 }, 1000); // 1000 + 2400 = 3400
 */
export function detectionBoundMs(heartbeat: HeartbeatInput = {}, requestTimeoutMs = 0): number {
  requestTimeoutBound.check(requestTimeoutMs, 'detectionBoundMs.requestTimeoutMs');
  return resolvedBoundMs(parseHeartbeat({ ...scenarioHeartbeat, ...heartbeat }, 'detectionBoundMs.heartbeat'), requestTimeoutMs);
}

/** @internal `detectionBoundMs` of a heartbeat already resolved (a scenario's, or a user pool's). */
export function resolvedBoundMs(h: ResolvedHeartbeat, requestTimeoutMs = 0): number {
  return clampDurationMs(Math.max(2 * h.intervalMs, requestTimeoutMs) + Math.ceil(h.suspicionWindowMs * (1 + h.eluWeight)));
}



const stepSchema = shape({
  atMs: duration({ min: 0 }),
  label: string({ nonEmpty: true }),
  action: func<TimelineStep['action']>(),
  harmful: optional(boolean()),
});

const invariantSchema = custom<Invariant>(
  'an invariant ({ name, check(ctx, phase) })',
  (v) => isObject(v) && typeof v.name === 'string' && v.name.length > 0 && typeof v.check === 'function',
);

const workloadSchema = shape({
  concurrency: integer({ min: 1, max: 1000, default: workloadDefaults.concurrency }),
  intervalMs: duration({ min: 0, default: workloadDefaults.intervalMs }),
  timeoutMs: duration({ min: 1, default: workloadDefaults.timeoutMs }),
});

const definitionSchema = shape({
  name: string({ nonEmpty: true }),
  description: optional(string()),
  durationMs: duration({ min: 1 }),
  connections: integer({ min: 1, max: 1000, default: 4 }),
  heartbeat: custom<object>('an object', isObject, { default: () => scenarioHeartbeat }),
  backoff: custom<object>('exponentialBackoff options or a backoff policy', isObject, { default: () => scenarioBackoff }),
  workload: custom<WorkloadOptions | false>('workload options or false', (v) => v === false || isObject(v), { default: () => ({}) }),
  target: optional(custom<object>('an object (see ScenarioTarget)', isObject)),
  setup: optional(func<NonNullable<ScenarioDefinition['setup']>>()),
  timeline: arrayOf(stepSchema, { default: () => [] }),
  invariants: arrayOf(invariantSchema, { default: () => [] }),
  warmupTimeoutMs: duration({ min: 1, default: 5000 }),
  checkEveryMs: duration({ min: 1, default: 50 }),
  faultGraceMs: optional(duration({ min: 0 })),
});

/**
 * Declares a chaos scenario: a timeline of faults against a pool of wire connections
 * and invariants checked while it runs. A scenario file default-exports one (or an
 * array); `wirewarden chaos run <file>` runs it. Throws `InvalidOptionError`.
 *
 * @example
 * export default defineScenario({
 *   name: 'blackholed-server',
 *   durationMs: 4000,
 *   timeline: [
 *     { atMs: 500, label: 'blackhole', action: (ctx) => void ctx.link.addToxic({ type: 'timeout', stream: 'upstream' }) },
 *     { atMs: 2500, label: 'heal', action: (ctx) => ctx.link.removeToxic('timeout_upstream') },
 *   ],
 *   invariants: [noLostOrDuplicatedRequests(), allReadyWithin(1000), nothingLeftRunning()],
 * });
 */
export function defineScenario<D = undefined, S = WireSession>(definition: ScenarioDefinition<D, S>): Scenario<D, S> {
  const d = parseOptions('scenario', definitionSchema, definition);
  const heartbeat = parseHeartbeat({ ...scenarioHeartbeat, ...d.heartbeat }, 'scenario.heartbeat');
  const backoff: BackoffPolicy = isBackoffPolicy(d.backoff) ? d.backoff : exponentialBackoffAt('scenario.backoff', d.backoff);
  const workload = d.workload === false ? false : parseOptions('scenario.workload', workloadSchema, d.workload);
  d.timeline.forEach((step, i) => {
    if (step.atMs > d.durationMs) fail(`scenario.timeline[${i}].atMs`, `an integer in [0, ${d.durationMs}] (scenario.durationMs)`, step.atMs);
  });
  const target = parseTarget<S>(d.target, workload !== false);
  const names = new Set<string>();
  d.invariants.forEach((inv, i) => {
    if (names.has(inv.name)) throw new InvalidOptionError(`scenario.invariants[${i}].name ${JSON.stringify(inv.name)} is used twice`);
    names.add(inv.name);
  });
  const boundMs = resolvedBoundMs(heartbeat, workload === false ? 0 : workload.timeoutMs);
  const scenario: Scenario<D, S> = {
    name: d.name,
    description: d.description,
    durationMs: d.durationMs,
    connections: d.connections,
    heartbeat,
    backoff,
    workload: workload === false ? false : Object.freeze({ ...workload }),
    target,
    setup: d.setup as Scenario<D, S>['setup'],
    // Stable order: steps at the same instant run in the order written.
    timeline: Object.freeze(d.timeline.map((s, i) => ({ s, i })).sort((a, b) => a.s.atMs - b.s.atMs || a.i - b.i).map((x) => x.s)) as unknown as readonly TimelineStep<D, S>[],
    invariants: d.invariants as readonly Scenario<D, S>['invariants'][number][],
    warmupTimeoutMs: d.warmupTimeoutMs,
    checkEveryMs: d.checkEveryMs,
    faultGraceMs: d.faultGraceMs ?? boundMs,
    detectionBoundMs: boundMs,
  };
  Object.defineProperty(scenario, SCENARIO, { value: true });
  return Object.freeze(scenario);
}

function exponentialBackoffAt(path: string, options: object): BackoffPolicy {
  try {
    return exponentialBackoff(options);
  } catch (err) {
    if (err instanceof InvalidOptionError) throw new InvalidOptionError(err.message.replace(/^[\w.]+?\./, `${path}.`));
    throw err;
  }
}

/** Whether `value` was made by `defineScenario` (from any copy of this module). */
export function isScenario(value: unknown): value is Scenario {
  return isObject(value) && (value as Record<symbol, unknown>)[SCENARIO] === true;
}
