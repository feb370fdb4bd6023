/**
 * One supervisor actor's executor: it runs what restart-plan.ts decides (which children
 * restart together, after which delay, when to give up) and ends the supervisor. The
 * mechanics of a single child live in the `ChildTable` it has.
 *
 * Why an engine object instead of a state machine: supervision is mostly per-child
 * bookkeeping (a thousand children, each with timers, a subscription and a backoff
 * counter), which reads better as plain methods than as `assign`/`enqueueActions`. The
 * engine still lives entirely inside the actor: it changes only while the actor processes
 * an event (child done/error, a handle request, its own timer), so XState serialises
 * everything, and the snapshot it renders after each event is plain data, O(1) to build.
 * Its phases are drawn as a statechart for the inspector (supervisor-chart.ts).
 *
 * A restart goes through a restart group (one child for one-for-one, several for the
 * other strategies): stop the running members in reverse start order, wait the trigger's
 * backoff delay, start the members in start order. A newer group absorbs an older one it
 * overlaps, so one outage restarts each child once.
 */
import type { AnyActorRef, AnyActorScope, EventObject } from 'xstate';
import { ChildExistsError, ChildNotFoundError, RestartIntensityError, RuntimeShutDownError } from '../errors.js';
import { exitFromError, exitFromOutput, type ChildExit } from './child-exit.js';
import { ChildTable, type ChildEntry } from './child-table.js';
import { RequestTable, type PendingRequest } from './child-waiters.js';
import { RestartIntensity } from './restart-intensity.js';
import { planExit, shutdownOrder, type FailPlan, type RestartPlan } from './restart-plan.js';
import { stopSequence } from './stop-sequence.js';
import { RestartPacer } from './restart-pacer.js';
import { finiteOrInfinity, type ResolvedChildSpec, type ResolvedSupervisorSpec } from './supervisor-spec.js';
import type { ChildCounts, ChildInfo, SupervisorOutput, SupervisorPhase, SupervisorSnapshot } from './supervisor-types.js';

const DONE = 'xstate.done.actor.';
const ERROR = 'xstate.error.actor.';

interface RestartGroup {
  members: ChildEntry[];
  cancelStops: (() => void) | undefined;
  cancelDelay: (() => void) | undefined;
}

type Failure = { error: RestartIntensityError; child: string; restarts: number };

export class SupervisorEngine {
  readonly id: string;
  readonly path: string;
  readonly spec: ResolvedSupervisorSpec;
  readonly #scope: AnyActorScope;
  /** The children's mechanics (spawn, watch, stop, force): the engine has one, it is not one. */
  readonly #table: ChildTable;
  #phase: SupervisorPhase = 'running';
  #hardStopped = false;
  /** Spreads a storm of due restarts over event-loop turns (restart-pacer.ts). */
  readonly #pacer: RestartPacer;
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
    this.#scope = scope;
    this.spec = spec;
    this.id = spec.id;
    this.path = path;
    const table = (this.#table = new ChildTable(scope, path));
    this.#pacer = new RestartPacer((delayMs, fn) => table.timers.schedule(table.scheduler!, delayMs, fn));
    this.#intensity = new RestartIntensity(spec.maxRestarts, spec.withinMs);
  }

  get phase(): SupervisorPhase {
    return this.#phase;
  }

  /** Called from the logic's `start`: services are bound by then. Starts the static children in order. */
  start(): void {
    const t = this.#table;
    t.bindServices();
    this.#startedAt = t.now();
    for (const child of this.spec.children) t.spawn(t.addEntry(child));
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

  // ── reads (the handle, the runtime, a pool's supervisor source) ──

  children(): ChildInfo[] {
    return this.#table.children();
  }

  childRef(id: string): AnyActorRef | undefined {
    return this.#table.childRef(id);
  }

  /** The live incarnations, in start order. */
  childRefs(): AnyActorRef[] {
    return this.#table.childRefs();
  }

  /** See `ChildTable.trackSpawns`. */
  trackSpawns(on: boolean): void {
    this.#table.trackSpawns(on);
  }

  takeSpawned(): readonly string[] {
    return this.#table.takeSpawned();
  }

  // ── requests from SupervisorHandle (outside the actor: they only validate and enqueue) ──

  requestStart(spec: ResolvedChildSpec): void {
    if (this.#phase !== 'running' || this.#hardStopped) throw this.#shutDown(`start child ${JSON.stringify(spec.id)}`);
    if (this.#table.entries.has(spec.id) || this.#pendingStarts.has(spec.id)) {
      throw new ChildExistsError(`supervisor ${this.path} already has a child ${JSON.stringify(spec.id)}`);
    }
    this.#pendingStarts.set(spec.id, spec);
    this.#scope.self.send({ type: 'START_CHILD', id: spec.id });
  }

  requestTerminate(id: string): Promise<void> {
    return this.#request('TERMINATE_CHILD', id);
  }

  requestRestart(id: string): Promise<void> {
    return this.#request('RESTART_CHILD', id);
  }

  childSpec(id: string): ResolvedChildSpec | undefined {
    return this.#table.entries.get(id)?.spec ?? this.#pendingStarts.get(id);
  }

  whenChildState(id: string, test: (state: string) => boolean, signal?: AbortSignal): Promise<void> {
    const entry = this.#table.entries.get(id);
    if (!entry && !this.#pendingStarts.has(id)) return Promise.reject(this.#notFound(id));
    if (entry && test(entry.state) && !signal?.aborted) return Promise.resolve();
    return this.#table.stateWaiters.wait(id, test, signal, `waiting for ${this.path}/${id}`);
  }

  snapshot(): SupervisorSnapshot {
    const t = this.#table;
    if (this.#snapshot && !t.dirty) return this.#snapshot;
    t.dirty = false;
    const { id, path } = this;
    const { strategy, withinMs, shutdownOrder } = this.spec;
    const maxRestarts = finiteOrInfinity(this.spec.maxRestarts);
    const childCounts: ChildCounts = Object.freeze({ ...t.counts });
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
        return this.#table.timers.fire(e.token!);
    }
    if (e.type.startsWith(DONE)) this.#onExit(e.type.slice(DONE.length), exitFromOutput(e.output));
    else if (e.type.startsWith(ERROR)) this.#onExit(e.type.slice(ERROR.length), exitFromError(e.error));
  }

  #onStart(id: string): void {
    const spec = this.#pendingStarts.get(id);
    this.#pendingStarts.delete(id);
    if (!spec || this.#phase !== 'running' || this.#table.entries.has(id)) return;
    this.#table.spawn(this.#table.addEntry(spec));
  }

  #onTerminate(id: string, request: PendingRequest | undefined): void {
    const entry = this.#table.entries.get(id);
    if (!entry) return request?.reject(this.#notFound(id));
    entry.removing = true;
    this.#detach(entry);
    this.#table.stopEntry(entry, () => {
      // Terminated between incarnations (waiting out its restart delay) or while its actor
      // had not reached a final state of its own (a dial aborted): the child's last state
      // says it is gone on purpose, as a normal exit would.
      if (entry.state !== 'closed') this.#table.setState(entry, 'closed', 'terminated');
      this.#remove(entry);
      request?.resolve();
    });
  }

  #onRestartRequest(id: string, request: PendingRequest | undefined): void {
    const entry = this.#table.entries.get(id);
    if (!entry || entry.removing) return request?.reject(this.#notFound(id));
    if (this.#phase !== 'running') return request?.reject(this.#shutDown(`restart child ${JSON.stringify(id)}`));
    this.#detach(entry);
    this.#table.stopEntry(entry, () => {
      if (this.#phase !== 'running') return request?.reject(this.#shutDown(`restart child ${JSON.stringify(id)}`));
      if (this.#table.entries.get(id) !== entry || entry.removing || entry.ref) return request?.reject(this.#notFound(id));
      // An explicit restart is not a failure: no intensity, no backoff, a fresh attempt counter.
      entry.attempt = 0;
      entry.prevDelayMs = undefined;
      entry.phase = undefined;
      entry.restarts += 1;
      this.#table.spawn(entry);
      request?.resolve();
    });
  }

  #onExit(id: string, exit: ChildExit): void {
    const entry = this.#table.entries.get(id);
    const ref = entry?.ref;
    // A stale event from an earlier incarnation: the current one is still running.
    if (!entry || !ref || ref.getSnapshot().status === 'active') return;
    const expected = entry.status === 'stopping' || entry.group !== undefined || this.#phase !== 'running';
    this.#table.endIncarnation(entry, exit);
    if (expected) return;
    this.#onUnexpectedExit(entry, exit);
  }

  #remove(entry: ChildEntry): void {
    if (this.#table.entries.get(entry.spec.id) !== entry) return;
    this.#detach(entry);
    this.#table.forget(entry);
    this.#table.stateWaiters.rejectId(entry.spec.id, this.#notFound(entry.spec.id));
  }

  // ── restarts: restart-plan.ts decides, these methods execute ──

  #onUnexpectedExit(trigger: ChildEntry, exit: ChildExit): void {
    const t = this.#table;
    const now = t.now();
    const plan = planExit({
      supervisor: this, strategy: this.spec.strategy, trigger, exit, children: t.entries.values(),
      intensity: { maxRestarts: this.spec.maxRestarts, withinMs: this.spec.withinMs, recentRestarts: this.#intensity.count(now) },
      nowMs: now, random: t.random, withEvents: t.sink.active,
    });
    if (plan.kind === 'remove') return this.#remove(trigger);
    t.dirty = true;
    if (plan.kind === 'fail' || plan.counted) {
      this.#intensity.record(now);
      this.#restartLog = this.#intensity.window(now);
    }
    if (plan.kind === 'fail') return this.#fail(trigger, plan);
    this.#restart(trigger, exit, plan);
  }

  #restart(trigger: ChildEntry, exit: ChildExit, plan: RestartPlan<ChildEntry>): void {
    const t = this.#table;
    ({ attempt: trigger.attempt, prevDelayMs: trigger.prevDelayMs, phase: trigger.phase } = plan.backoff);
    for (const old of plan.absorbed) this.#dissolve(old as RestartGroup);
    for (const m of plan.drop) {
      // OTP: a temporary sibling is stopped with the group, never restarted.
      m.removing = true;
      m.stopWaiters.push(() => this.#remove(m));
    }
    const group: RestartGroup = { members: [...plan.members], cancelStops: undefined, cancelDelay: undefined };
    for (const m of group.members) {
      m.group = group;
      if (!m.ref) t.setStatus(m, 'restarting');
      m.restarts += 1;
    }
    this.#groups.add(group);
    for (const e of plan.events) t.sink.emit(e);
    t.setState(trigger, 'restarting', exit.reason);

    const { delayMs } = plan;
    group.cancelStops = stopSequence(plan.stop, this.spec.shutdownOrder === 'parallel', (m, done) => t.stopEntry(m, done), () => {
      group.cancelStops = undefined;
      group.cancelDelay = t.timers.schedule(t.scheduler!, delayMs, () => {
        group.cancelDelay = undefined;
        this.#pacer.run(() => this.#runGroup(group));
      });
    });
  }

  #runGroup(group: RestartGroup): void {
    group.cancelDelay = undefined;
    this.#groups.delete(group);
    for (const m of group.members) {
      if (m.group !== group || this.#table.entries.get(m.spec.id) !== m) continue;
      m.group = undefined;
      if (!m.ref) this.#table.spawn(m);
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
    if (!entry.ref) this.#table.setStatus(entry, 'stopped');
    if (group.members.length === 0) this.#dissolve(group);
  }

  #fail(trigger: ChildEntry, plan: FailPlan<ChildEntry>): void {
    this.#failure = { error: plan.error, child: trigger.spec.id, restarts: plan.restarts };
    for (const e of plan.events) this.#table.sink.emit(e);
    this.#beginShutdown(this.#failure, plan.stop);
  }

  // ── the supervisor's own end ──

  /** @param stop the live children in the order to stop them (default: reverse start order) */
  #beginShutdown(failure: Failure | undefined, stop?: readonly ChildEntry[]): void {
    if (this.#phase !== 'running') return;
    const t = this.#table;
    this.#phase = failure ? 'failing' : 'stopping';
    t.dirty = true;
    const running = stop ?? shutdownOrder(t.entries.values());
    for (const group of [...this.#groups]) this.#dissolve(group);
    for (const e of t.entries.values()) if (!e.ref) t.setStatus(e, 'stopped');
    stopSequence(running, this.spec.shutdownOrder === 'parallel', (e, done) => t.stopEntry(e, done), () => this.#finish());
  }

  #finish(): void {
    const failure = this.#failure;
    this.#phase = failure ? 'failed' : 'stopped';
    const uptimeMs = this.#table.now() - this.#startedAt;
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
    this.#table.stopAllNow();
    this.#release();
  }

  /** Cancels every timer and settles everyone still waiting: nothing outlives the supervisor. */
  #release(): void {
    const reason = this.#shutDown('wait for it');
    this.#table.timers.cancelAll();
    this.#pacer.clear();
    this.#table.clear();
    this.#pendingStarts.clear();
    this.#requests.rejectAll(reason);
    this.#table.stateWaiters.rejectAll(reason);
  }

  // ── small helpers ──

  #request(type: 'TERMINATE_CHILD' | 'RESTART_CHILD', id: string): Promise<void> {
    const verb = type === 'TERMINATE_CHILD' ? 'terminate' : 'restart';
    if (this.#phase === 'stopped' || this.#phase === 'failed' || this.#hardStopped) {
      return Promise.reject(this.#shutDown(`${verb} child ${JSON.stringify(id)}`));
    }
    if (!this.#table.entries.has(id) && !this.#pendingStarts.has(id)) return Promise.reject(this.#notFound(id));
    const { requestId, promise } = this.#requests.create();
    this.#scope.self.send({ type, id, requestId });
    return promise;
  }

  #shutDown(what: string): RuntimeShutDownError {
    return new RuntimeShutDownError(`supervisor ${this.path} is ${this.#phase}; cannot ${what}`);
  }

  #notFound(id: string): ChildNotFoundError {
    return new ChildNotFoundError(`supervisor ${this.path} has no child ${JSON.stringify(id)}`);
  }
}
