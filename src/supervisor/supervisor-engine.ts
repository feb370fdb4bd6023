/**
 * The policy of one supervisor actor: which children restart together, after which
 * delay, when to give up, and how to end. The mechanics of a single child live in
 * `ChildTable`.
 *
 * Why an engine object instead of a state machine: supervision is mostly per-child
 * bookkeeping (a thousand children, each with timers, a subscription and a backoff
 * counter), which reads better as plain methods than as `assign`/`enqueueActions`. The
 * engine still lives entirely inside the actor: it changes only while the actor processes
 * an event (child done/error, a handle request, its own timer), so XState serialises
 * everything, and the snapshot it renders after each event is plain data, O(1) to build.
 *
 * A restart goes through a restart group (one child for one-for-one, several for the
 * other strategies): stop the running members in reverse start order, wait the trigger's
 * backoff delay, start the members in start order. A newer group absorbs an older one it
 * overlaps, so one outage restarts each child once.
 */
import type { AnyActorScope, EventObject } from 'xstate';
import { ChildExistsError, ChildNotFoundError, RestartIntensityError, RuntimeShutDownError } from '../errors.js';
import { clampDurationMs } from '../options.js';
import { unitInterval } from './backoff.js';
import { exitFromError, exitFromOutput, shouldRestart, type ChildExit } from './child-exit.js';
import { ChildTable, type ChildEntry } from './child-table.js';
import { RequestTable, type PendingRequest } from './child-waiters.js';
import { RestartIntensity } from './restart-intensity.js';
import { stopSequence } from './stop-sequence.js';
import { RestartPacer } from './restart-pacer.js';
import { restartSet } from './strategies.js';
import type { ResolvedChildSpec, ResolvedSupervisorSpec } from './supervisor-spec.js';
import type { ChildCounts, SupervisorOutput, SupervisorPhase, SupervisorSnapshot } from './supervisor-types.js';

/**
 * The attempt number asked of a policy for its slowest delay: far past any cap (an
 * exponential policy saturates at `maxMs` after ~log2(maxMs / initialMs) attempts), small
 * enough that `multiplier ** attempt` stays finite for sane multipliers.
 */
const SLOWEST_ATTEMPT = 64;

const DONE = 'xstate.done.actor.';
const ERROR = 'xstate.error.actor.';

interface RestartGroup {
  members: ChildEntry[];
  cancelStops: (() => void) | undefined;
  cancelDelay: (() => void) | undefined;
}

type Failure = { error: RestartIntensityError; child: string; restarts: number };

export class SupervisorEngine extends ChildTable {
  readonly id: string;
  readonly spec: ResolvedSupervisorSpec;
  #phase: SupervisorPhase = 'running';
  #hardStopped = false;
  /** Spreads a storm of due restarts over event-loop turns (restart-pacer.ts). */
  readonly #pacer = new RestartPacer((delayMs, fn) => this.timers.schedule(this.scheduler!, delayMs, fn));
  #startedAt = 0;
  readonly #pendingStarts = new Map<string, ResolvedChildSpec>();
  readonly #groups = new Set<RestartGroup>();
  readonly #requests = new RequestTable();
  readonly #intensity: RestartIntensity;
  #restartLog: readonly number[] = [];
  #failure: Failure | undefined;
  #output: SupervisorOutput | undefined;
  #snapshot: SupervisorSnapshot | undefined;

  constructor(scope: AnyActorScope, spec: ResolvedSupervisorSpec, path: string) {
    super(scope, path);
    this.spec = spec;
    this.id = spec.id;
    this.#intensity = new RestartIntensity(spec.maxRestarts, spec.withinMs);
  }

  get phase(): SupervisorPhase {
    return this.#phase;
  }

  /** Called from the logic's `start`: services are bound by then. Starts the static children in order. */
  start(): void {
    this.bindServices();
    this.#startedAt = this.now();
    for (const child of this.spec.children) this.spawn(this.addEntry(child));
  }

  /** The actor's transition. A bug here must not orphan children: stop them, then let XState record the error. */
  handle(event: EventObject): void {
    try {
      this.#dispatch(event);
    } catch (err) {
      this.#hardStop();
      throw err;
    }
  }

  // ── requests from SupervisorHandle (outside the actor: they only validate and enqueue) ──

  requestStart(spec: ResolvedChildSpec): void {
    if (this.#phase !== 'running' || this.#hardStopped) throw this.#shutDown(`start child ${JSON.stringify(spec.id)}`);
    if (this.entries.has(spec.id) || this.#pendingStarts.has(spec.id)) {
      throw new ChildExistsError(`supervisor ${this.path} already has a child ${JSON.stringify(spec.id)}`);
    }
    this.#pendingStarts.set(spec.id, spec);
    this.scope.self.send({ type: 'START_CHILD', id: spec.id });
  }

  requestTerminate(id: string): Promise<void> {
    return this.#request('TERMINATE_CHILD', id);
  }

  requestRestart(id: string): Promise<void> {
    return this.#request('RESTART_CHILD', id);
  }

  childSpec(id: string): ResolvedChildSpec | undefined {
    return this.entries.get(id)?.spec ?? this.#pendingStarts.get(id);
  }

  whenChildState(id: string, test: (state: string) => boolean, signal?: AbortSignal): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry && !this.#pendingStarts.has(id)) return Promise.reject(this.#notFound(id));
    if (entry && test(entry.state) && !signal?.aborted) return Promise.resolve();
    return this.stateWaiters.wait(id, test, signal, `waiting for ${this.path}/${id}`);
  }

  snapshot(): SupervisorSnapshot {
    if (this.#snapshot && !this.dirty) return this.#snapshot;
    this.dirty = false;
    const { id, path } = this;
    const { strategy, maxRestarts, withinMs, shutdownOrder } = this.spec;
    const childCounts: ChildCounts = Object.freeze({ ...this.counts });
    const context = Object.freeze({ id, path, strategy, maxRestarts, withinMs, shutdownOrder, restartLog: this.#restartLog, childCounts });
    const value = this.#phase;
    this.#snapshot = (
      this.#hardStopped
        ? { status: 'stopped', output: undefined, error: undefined, value, context }
        : this.#output
          ? { status: 'done', output: this.#output, error: undefined, value, context }
          : { status: 'active', output: undefined, error: undefined, value, context }
    ) as SupervisorSnapshot;
    return this.#snapshot;
  }

  // ── events ──

  #dispatch(event: EventObject): void {
    const e = event as EventObject & { id?: string; requestId?: number; token?: number; output?: unknown; error?: unknown };
    switch (e.type) {
      case 'xstate.stop':
        return this.#hardStop();
      case 'CLOSE':
        return this.#beginShutdown(undefined);
      case 'START_CHILD':
        return this.#onStart(e.id!);
      case 'TERMINATE_CHILD':
        return this.#onTerminate(e.id!, this.#requests.take(e.requestId!));
      case 'RESTART_CHILD':
        return this.#onRestartRequest(e.id!, this.#requests.take(e.requestId!));
      case 'TIMER':
        return this.timers.fire(e.token!);
    }
    if (e.type.startsWith(DONE)) this.#onExit(e.type.slice(DONE.length), exitFromOutput(e.output));
    else if (e.type.startsWith(ERROR)) this.#onExit(e.type.slice(ERROR.length), exitFromError(e.error));
  }

  #onStart(id: string): void {
    const spec = this.#pendingStarts.get(id);
    this.#pendingStarts.delete(id);
    if (!spec || this.#phase !== 'running' || this.entries.has(id)) return;
    this.spawn(this.addEntry(spec));
  }

  #onTerminate(id: string, request: PendingRequest | undefined): void {
    const entry = this.entries.get(id);
    if (!entry) return request?.reject(this.#notFound(id));
    entry.removing = true;
    this.#detach(entry);
    this.stopEntry(entry, () => {
      this.#remove(entry);
      request?.resolve();
    });
  }

  #onRestartRequest(id: string, request: PendingRequest | undefined): void {
    const entry = this.entries.get(id);
    if (!entry || entry.removing) return request?.reject(this.#notFound(id));
    if (this.#phase !== 'running') return request?.reject(this.#shutDown(`restart child ${JSON.stringify(id)}`));
    this.#detach(entry);
    this.stopEntry(entry, () => {
      if (this.#phase !== 'running') return request?.reject(this.#shutDown(`restart child ${JSON.stringify(id)}`));
      if (this.entries.get(id) !== entry || entry.removing || entry.ref) return request?.reject(this.#notFound(id));
      // An explicit restart is not a failure: no intensity, no backoff, a fresh attempt counter.
      entry.attempt = 0;
      entry.prevDelayMs = undefined;
      entry.phase = undefined;
      entry.restarts += 1;
      this.spawn(entry);
      request?.resolve();
    });
  }

  #onExit(id: string, exit: ChildExit): void {
    const entry = this.entries.get(id);
    const ref = entry?.ref;
    // A stale event from an earlier incarnation: the current one is still running.
    if (!entry || !ref || ref.getSnapshot().status === 'active') return;
    const expected = entry.status === 'stopping' || entry.group !== undefined || this.#phase !== 'running';
    this.endIncarnation(entry, exit);
    if (expected) return;
    if (!shouldRestart(entry.spec.restart, exit)) this.#remove(entry);
    else this.#restart(entry, exit);
  }

  #remove(entry: ChildEntry): void {
    if (this.entries.get(entry.spec.id) !== entry) return;
    this.#detach(entry);
    this.forget(entry);
    this.stateWaiters.rejectId(entry.spec.id, this.#notFound(entry.spec.id));
  }

  // ── restarts ──

  #restart(trigger: ChildEntry, exit: ChildExit): void {
    const now = this.now();
    // A retirement (its owner replaced it on purpose) is no failure: no intensity, no backoff.
    const retired = exit.restartPace === 'immediate';
    this.dirty = true;
    if (!retired) {
      const count = this.#intensity.record(now);
      this.#restartLog = this.#intensity.window(now);
      if (this.#intensity.exceeds(count)) return this.#escalate(trigger, exit, count);
    }
    const delayMs = retired ? this.#retiredDelay(trigger, exit, now) : this.#nextDelay(trigger, exit, now);

    const group: RestartGroup = { members: [], cancelStops: undefined, cancelDelay: undefined };
    const members = new Set<ChildEntry>();
    const dropped: ChildEntry[] = [];
    // A retirement replaces the child alone: its siblings did not fail with it.
    for (const m of retired ? [trigger] : restartSet(this.spec.strategy, this.entries.values(), trigger)) {
      if (m.removing) {
        // Already leaving (terminated, or dropped by a group this one may absorb): still stop it.
        if (m.ref) dropped.push(m);
        continue;
      }
      if (m !== trigger && m.spec.restart === 'temporary') {
        // OTP: a temporary sibling is stopped with the group, never restarted.
        m.removing = true;
        m.stopWaiters.push(() => this.#remove(m));
        dropped.push(m);
        continue;
      }
      members.add(m);
      // An overlapping group still stopping or waiting is absorbed: one outage, one restart.
      if (m.group) for (const old of this.#dissolve(m.group as RestartGroup)) if (!old.removing) members.add(old);
    }
    group.members = [...members].sort((a, b) => a.seq - b.seq);
    for (const m of group.members) {
      m.group = group;
      if (!m.ref) this.setStatus(m, 'restarting');
      m.restarts += 1;
    }
    this.#groups.add(group);

    if (this.sink.active) {
      const { attempt } = trigger;
      for (const m of group.members) {
        const base = { type: 'restart', id: m.spec.id, path: m.path, attempt, delayMs, at: now, reason: exit.reason } as const;
        this.sink.emit(m === trigger ? base : { ...base, trigger: trigger.spec.id });
      }
    }
    this.setState(trigger, 'restarting', exit.reason);

    const toStop = [...group.members, ...dropped].filter((m) => m.ref).sort((a, b) => b.seq - a.seq);
    group.cancelStops = stopSequence(toStop, this.spec.shutdownOrder === 'parallel', (m, done) => this.stopEntry(m, done), () => {
      group.cancelStops = undefined;
      group.cancelDelay = this.timers.schedule(this.scheduler!, delayMs, () => {
        group.cancelDelay = undefined;
        this.#pacer.run(() => this.#runGroup(group));
      });
    });
  }

  /**
   * The backoff delay of the trigger's next attempt. The attempt counter starts over once
   * the incarnation was healthy for `resetAfterMs` (its output's `uptimeMs`, else the time
   * since it was spawned): repeated short outages each recover from the first delay, while
   * a peer that accepts and drops at once is still paced by growing delays. A `slowest`
   * exit (a refused handshake) waits the policy's longest delay.
   */
  #nextDelay(trigger: ChildEntry, exit: ChildExit, now: number): number {
    this.#resetIfHealthy(trigger, exit, now);
    trigger.attempt += 1;
    // One phase per child and attempt series, drawn whatever the policy (the engine cannot
    // tell whether a custom policy reads it): `jitter: 'phased'` places every attempt of
    // this child at the same point of its window.
    trigger.phase ??= unitInterval(this.random());
    const slowest = exit.restartPace === 'slowest';
    const attempt = slowest ? Math.max(trigger.attempt, SLOWEST_ATTEMPT) : trigger.attempt;
    // The slowest pace draws from the upper half of the policy's range: full jitter at its
    // cap would otherwise retry a refused handshake anywhere in [0, maxMs].
    const random = slowest ? this.#upperHalf : this.random;
    const raw = trigger.spec.backoff.delayMs(attempt, trigger.prevDelayMs, random, trigger.phase);
    const delayMs = restartDelayMs(raw);
    trigger.prevDelayMs = delayMs;
    return delayMs;
  }

  readonly #upperHalf = (): number => 0.5 + 0.5 * this.random();

  /**
   * A retirement never grows the backoff, but it does not skip it either: restarted at once
   * when the incarnation was healthy (or the child never failed), else after the delay of
   * the attempt it is at, so an owner that destroys every connection at once (a `catch {
   * lease.destroy() }` against a server that fails every command) cannot spin a dial loop.
   */
  #retiredDelay(trigger: ChildEntry, exit: ChildExit, now: number): number {
    this.#resetIfHealthy(trigger, exit, now);
    if (trigger.attempt === 0) return 0;
    const raw = trigger.spec.backoff.delayMs(trigger.attempt, trigger.prevDelayMs, this.random, trigger.phase);
    return restartDelayMs(raw);
  }

  /** The attempt counter starts over once the incarnation was healthy for `resetAfterMs`. */
  #resetIfHealthy(trigger: ChildEntry, exit: ChildExit, now: number): void {
    const upMs = exit.uptimeMs ?? (trigger.startedAt === undefined ? 0 : now - trigger.startedAt);
    if (upMs >= trigger.spec.resetAfterMs) {
      trigger.attempt = 0;
      trigger.prevDelayMs = undefined;
      trigger.phase = undefined;
    }
  }

  #runGroup(group: RestartGroup): void {
    group.cancelDelay = undefined;
    this.#groups.delete(group);
    for (const m of group.members) {
      if (m.group !== group || this.entries.get(m.spec.id) !== m) continue;
      m.group = undefined;
      if (!m.ref) this.spawn(m);
    }
  }

  /** Cancels a group's pending stops and delay; returns its members, now group-less. */
  #dissolve(group: RestartGroup): ChildEntry[] {
    group.cancelStops?.();
    group.cancelDelay?.();
    this.#groups.delete(group);
    for (const m of group.members) if (m.group === group) m.group = undefined;
    return group.members;
  }

  /** Takes one child out of its restart group (terminate, explicit restart). */
  #detach(entry: ChildEntry): void {
    const group = entry.group as RestartGroup | undefined;
    if (!group) return;
    entry.group = undefined;
    group.members = group.members.filter((m) => m !== entry);
    if (!entry.ref) this.setStatus(entry, 'stopped');
    if (group.members.length === 0) this.#dissolve(group);
  }

  #escalate(trigger: ChildEntry, exit: ChildExit, count: number): void {
    const { maxRestarts, withinMs } = this.spec;
    const error = new RestartIntensityError(
      `supervisor ${this.path} gave up: child ${JSON.stringify(trigger.spec.id)} exited (${exit.reason}) and ` +
        `${count} restart${count === 1 ? '' : 's'} within ${withinMs} ms exceed maxRestarts ${maxRestarts}`,
      exit.error === undefined ? undefined : { cause: exit.error },
    );
    this.#failure = { error, child: trigger.spec.id, restarts: count };
    if (this.sink.active) {
      this.sink.emit({
        type: 'escalation', id: this.id, path: this.path, reason: 'restart-intensity', child: trigger.spec.id,
        restarts: count, at: this.now(), error,
      });
    }
    this.#beginShutdown(this.#failure);
  }

  // ── the supervisor's own end ──

  #beginShutdown(failure: Failure | undefined): void {
    if (this.#phase !== 'running') return;
    this.#phase = failure ? 'failing' : 'stopping';
    this.dirty = true;
    for (const group of [...this.#groups]) this.#dissolve(group);
    for (const e of this.entries.values()) if (!e.ref) this.setStatus(e, 'stopped');
    const running = [...this.entries.values()].filter((e) => e.ref).reverse();
    stopSequence(running, this.spec.shutdownOrder === 'parallel', (e, done) => this.stopEntry(e, done), () => this.#finish());
  }

  #finish(): void {
    const failure = this.#failure;
    this.#phase = failure ? 'failed' : 'stopped';
    const uptimeMs = this.now() - this.#startedAt;
    this.#output = failure ? { reason: 'restart-intensity', ...failure, uptimeMs } : { reason: 'shutdown', uptimeMs };
    this.#release();
  }

  /** `xstate.stop` (the parent forced us, or a root `stop()`): no grace, stop every child now. */
  #hardStop(): void {
    if (this.#hardStopped) return;
    this.#hardStopped = true;
    // The phase first: `stopAllNow` settles pending terminate/restart requests, and a
    // restart request must see that nothing may be spawned any more.
    if (this.#phase !== 'stopped' && this.#phase !== 'failed') this.#phase = this.#failure ? 'failed' : 'stopped';
    for (const group of [...this.#groups]) this.#dissolve(group);
    this.stopAllNow();
    this.#release();
  }

  /** Cancels every timer and settles everyone still waiting: nothing outlives the supervisor. */
  #release(): void {
    const reason = this.#shutDown('wait for it');
    this.timers.cancelAll();
    this.#pacer.clear();
    this.clear();
    this.#pendingStarts.clear();
    this.#requests.rejectAll(reason);
    this.stateWaiters.rejectAll(reason);
  }

  // ── small helpers ──

  #request(type: 'TERMINATE_CHILD' | 'RESTART_CHILD', id: string): Promise<void> {
    const verb = type === 'TERMINATE_CHILD' ? 'terminate' : 'restart';
    if (this.#phase === 'stopped' || this.#phase === 'failed' || this.#hardStopped) {
      return Promise.reject(this.#shutDown(`${verb} child ${JSON.stringify(id)}`));
    }
    if (!this.entries.has(id) && !this.#pendingStarts.has(id)) return Promise.reject(this.#notFound(id));
    const { requestId, promise } = this.#requests.create();
    this.scope.self.send({ type, id, requestId });
    return promise;
  }

  #shutDown(what: string): RuntimeShutDownError {
    return new RuntimeShutDownError(`supervisor ${this.path} is ${this.#phase}; cannot ${what}`);
  }

  #notFound(id: string): ChildNotFoundError {
    return new ChildNotFoundError(`supervisor ${this.path} has no child ${JSON.stringify(id)}`);
  }
}

/**
 * A policy's delay as the timer will wait it: 0 for nonsense (NaN, negative), at most
 * `MAX_DURATION_MS` (a custom policy may return more; the timer could not wait it and the
 * restart event must say what really happens).
 */
function restartDelayMs(raw: number): number {
  return Number.isFinite(raw) && raw > 0 ? clampDurationMs(raw) : 0;
}
