/**
 * The bookkeeping behind one supervisor actor: which children run, which wait for a
 * restart, which are being stopped, and when to give up.
 *
 * Why an engine object instead of a state machine: supervision is mostly per-child
 * bookkeeping (a thousand children, each with timers, a subscription and a backoff
 * counter), which reads better as plain methods than as `assign`/`enqueueActions`. The
 * engine still lives entirely inside the actor: it changes only while the actor processes
 * an event (child done/error, a handle request, its own timer), so XState serialises
 * everything, and the snapshot it renders after each event is plain data. Children are
 * real XState children (`parent: self`), so `_parent`, the system and the inspector tree
 * are exactly those of `spawnChild`.
 *
 * Timers run on the runtime scheduler and come back as `TIMER` events carrying a token:
 * a stale timer (its child already stopped or restarted) finds no token and does nothing.
 * Children's own state changes are watched with `actor.subscribe` — a string comparison
 * per child snapshot, never an event in the supervisor's mailbox.
 *
 * A restart goes through a "restart group" (one child for one-for-one, several for the
 * other strategies): stop the running members in reverse start order, wait the trigger's
 * backoff delay, start the members in start order. A newer group absorbs an older one it
 * overlaps, so one-for-all never restarts the same child twice for one outage.
 */
import { createActor, type AnyActorRef, type AnyActorScope, type EventObject } from 'xstate';
import type { SchedulerLike } from 'rxjs';
import { addAbortListener } from 'node:events';
import { abortedError, ChildExistsError, ChildNotFoundError, RestartIntensityError, RuntimeShutDownError } from '../errors.js';
import { eventSinkOf, type EventSink } from '../observe/events.js';
import { servicesOf } from '../services.js';
import { exitFromError, exitFromOutput, KILLED, shouldRestart, type ChildExit } from './child-exit.js';
import { topLevelState } from './child-state.js';
import { RestartIntensity } from './restart-intensity.js';
import { stopSequence } from './stop-sequence.js';
import { restartSet } from './strategies.js';
import type { ResolvedChildSpec, ResolvedSupervisorSpec } from './supervisor-spec.js';
import type {
  ChildInfo, ChildStatus, SupervisorChildRecord, SupervisorOutput, SupervisorPhase, SupervisorSnapshot,
} from './supervisor-types.js';

const DONE = 'xstate.done.actor.';
const ERROR = 'xstate.error.actor.';
/** setTimeout's ceiling; a longer delay would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface ChildEntry {
  readonly spec: ResolvedChildSpec;
  readonly path: string;
  /** Start order (Map order), used to sort merged restart groups. */
  readonly seq: number;
  ref: AnyActorRef | undefined;
  sub: { unsubscribe(): void } | undefined;
  status: ChildStatus;
  state: string;
  since: number;
  startedAt: number | undefined;
  restarts: number;
  attempt: number;
  prevDelayMs: number | undefined;
  cancelKill: (() => void) | undefined;
  stopWaiters: Array<() => void>;
  group: RestartGroup | undefined;
  /** Being terminated or dropped: never joins a restart group again. */
  removing: boolean;
  record: SupervisorChildRecord | undefined;
}

interface RestartGroup {
  members: ChildEntry[];
  cancelStops: (() => void) | undefined;
  cancelDelay: (() => void) | undefined;
}

interface StateWaiter {
  readonly test: (state: string) => boolean;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export class SupervisorEngine {
  readonly id: string;
  readonly path: string;
  readonly spec: ResolvedSupervisorSpec;
  readonly #scope: AnyActorScope;
  #scheduler: SchedulerLike | undefined;
  #random: () => number = Math.random;
  #sink: EventSink | undefined;
  #phase: SupervisorPhase = 'running';
  #hardStopped = false;
  #startedAt = 0;
  #seq = 0;
  readonly #entries = new Map<string, ChildEntry>();
  readonly #pendingStarts = new Map<string, ResolvedChildSpec>();
  readonly #groups = new Set<RestartGroup>();
  readonly #timers = new Map<number, { sub: { unsubscribe(): void }; fn: () => void }>();
  readonly #requests = new Map<number, { resolve: () => void; reject: (err: unknown) => void }>();
  readonly #stateWaiters = new Map<string, Set<StateWaiter>>();
  readonly #intensity: RestartIntensity;
  #failure: Failure | undefined;
  #output: SupervisorOutput | undefined;
  #dirty = true;
  #snapshot: SupervisorSnapshot | undefined;

  constructor(scope: AnyActorScope, spec: ResolvedSupervisorSpec, path: string) {
    this.#scope = scope;
    this.spec = spec;
    this.id = spec.id;
    this.path = path;
    this.#intensity = new RestartIntensity(spec.maxRestarts, spec.withinMs);
  }

  get phase(): SupervisorPhase {
    return this.#phase;
  }

  /** Resolves the runtime services (bound after the root actor was created) and starts the static children. */
  start(): void {
    const services = servicesOf(this.#scope.system);
    this.#scheduler = services.scheduler;
    this.#random = services.random;
    this.#sink = eventSinkOf(this.#scope.system);
    this.#startedAt = this.#now();
    for (const child of this.spec.children) this.#spawn(this.#addEntry(child));
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
    this.#assertRunning(`start child ${JSON.stringify(spec.id)}`);
    if (this.#entries.has(spec.id) || this.#pendingStarts.has(spec.id)) {
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

  children(): ChildInfo[] {
    const out: ChildInfo[] = [];
    for (const e of this.#entries.values()) out.push({ id: e.spec.id, state: e.state, restarts: e.restarts, since: e.since });
    return out;
  }

  childRef(id: string): AnyActorRef | undefined {
    return this.#entries.get(id)?.ref;
  }

  childSpec(id: string): ResolvedChildSpec | undefined {
    return this.#entries.get(id)?.spec ?? this.#pendingStarts.get(id);
  }

  whenChildState(id: string, test: (state: string) => boolean, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(abortedError(signal, `waiting for ${this.path}/${id}`));
      const entry = this.#entries.get(id);
      if (!entry && !this.#pendingStarts.has(id)) return reject(this.#notFound(id));
      if (entry && test(entry.state)) return resolve();
      let set = this.#stateWaiters.get(id);
      if (!set) this.#stateWaiters.set(id, (set = new Set()));
      const waiters = set;
      let disposeAbort: Disposable | undefined;
      const settle = (fn: () => void) => {
        waiters.delete(waiter);
        if (waiters.size === 0 && this.#stateWaiters.get(id) === waiters) this.#stateWaiters.delete(id);
        disposeAbort?.[Symbol.dispose]();
        fn();
      };
      const waiter: StateWaiter = {
        test,
        resolve: () => settle(resolve),
        reject: (err) => settle(() => reject(err)),
      };
      waiters.add(waiter);
      if (signal) disposeAbort = addAbortListener(signal, () => waiter.reject(abortedError(signal, `waiting for ${this.path}/${id}`)));
    });
  }

  // ── the snapshot ──

  snapshot(): SupervisorSnapshot {
    if (this.#snapshot && !this.#dirty) return this.#snapshot;
    this.#dirty = false;
    const children = Object.create(null) as Record<string, SupervisorChildRecord>;
    for (const e of this.#entries.values()) {
      e.record ??= Object.freeze({
        status: e.status, restart: e.spec.restart, restarts: e.restarts, attempt: e.attempt,
        lastDelayMs: e.prevDelayMs, startedAt: e.startedAt,
      });
      children[e.spec.id] = e.record;
    }
    const { id, path } = this;
    const { strategy, maxRestarts, withinMs, shutdownOrder } = this.spec;
    const restartLog = this.#scheduler ? this.#intensity.window(this.#now()) : [];
    const context = Object.freeze({ id, path, strategy, maxRestarts, withinMs, shutdownOrder, restartLog, children: Object.freeze(children) });
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

  // ── event dispatch ──

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
        return this.#onTerminate(e.id!, this.#takeRequest(e.requestId!));
      case 'RESTART_CHILD':
        return this.#onRestartRequest(e.id!, this.#takeRequest(e.requestId!));
      case 'TIMER': {
        const timer = this.#timers.get(e.token!);
        if (!timer) return;
        this.#timers.delete(e.token!);
        return timer.fn();
      }
    }
    if (e.type.startsWith(DONE)) this.#onExit(e.type.slice(DONE.length), exitFromOutput(e.output));
    else if (e.type.startsWith(ERROR)) this.#onExit(e.type.slice(ERROR.length), exitFromError(e.error));
  }

  #onStart(id: string): void {
    const spec = this.#pendingStarts.get(id);
    this.#pendingStarts.delete(id);
    if (!spec || this.#phase !== 'running' || this.#entries.has(id)) return;
    this.#spawn(this.#addEntry(spec));
  }

  #onTerminate(id: string, request: Request | undefined): void {
    const entry = this.#entries.get(id);
    if (!entry) {
      request?.reject(this.#notFound(id));
      return;
    }
    entry.removing = true;
    this.#detach(entry);
    this.#stopEntry(entry, () => {
      this.#remove(entry);
      request?.resolve();
    });
  }

  #onRestartRequest(id: string, request: Request | undefined): void {
    const entry = this.#entries.get(id);
    if (!entry || entry.removing) {
      request?.reject(this.#notFound(id));
      return;
    }
    if (this.#phase !== 'running') {
      request?.reject(this.#shutDown(`restart child ${JSON.stringify(id)}`));
      return;
    }
    this.#detach(entry);
    this.#stopEntry(entry, () => {
      if (this.#phase !== 'running' || this.#entries.get(id) !== entry || entry.removing || entry.ref) {
        request?.reject(this.#phase !== 'running' ? this.#shutDown(`restart child ${JSON.stringify(id)}`) : this.#notFound(id));
        return;
      }
      // An explicit restart is not a failure: no intensity, no backoff, a fresh attempt counter.
      entry.attempt = 0;
      entry.prevDelayMs = undefined;
      entry.restarts += 1;
      this.#spawn(entry);
      request?.resolve();
    });
  }

  // ── child lifecycle ──

  #addEntry(spec: ResolvedChildSpec): ChildEntry {
    const entry: ChildEntry = {
      spec, path: `${this.path}/${spec.id}`, seq: this.#seq++,
      ref: undefined, sub: undefined, status: 'stopped', state: 'starting', since: this.#now(), startedAt: undefined,
      restarts: 0, attempt: 0, prevDelayMs: undefined, cancelKill: undefined, stopWaiters: [], group: undefined,
      removing: false, record: undefined,
    };
    this.#entries.set(spec.id, entry);
    this.#touch(entry);
    return entry;
  }

  #spawn(entry: ChildEntry): void {
    const { spec } = entry;
    const ref = createActor(spec.logic, { id: spec.id, parent: this.#scope.self, input: spec.input });
    entry.ref = ref;
    entry.status = 'running';
    entry.startedAt = this.#now();
    this.#touch(entry);
    // The error callback matters: an errored actor whose observers lack one reports an uncaught error.
    entry.sub = ref.subscribe({
      next: (snapshot: unknown) => this.#onChildSnapshot(entry, ref, snapshot),
      error: () => {},
    });
    this.#setState(entry, topLevelState(ref.getSnapshot()));
    ref.start();
  }

  #onChildSnapshot(entry: ChildEntry, ref: AnyActorRef, snapshot: unknown): void {
    if (entry.ref !== ref) return;
    const state = topLevelState(snapshot);
    if (state === entry.state) return;
    const s = snapshot as { status?: string; output?: unknown };
    this.#setState(entry, state, s.status === 'done' ? exitFromOutput(s.output).reason : undefined);
  }

  #setState(entry: ChildEntry, to: string, reason?: string): void {
    const from = entry.state;
    entry.state = to;
    entry.since = this.#now();
    const sink = this.#sink;
    if (sink?.active) {
      sink.emit(reason === undefined
        ? { type: 'state', id: entry.spec.id, path: entry.path, from, to, at: entry.since }
        : { type: 'state', id: entry.spec.id, path: entry.path, from, to, at: entry.since, reason });
    }
    const waiters = this.#stateWaiters.get(entry.spec.id);
    if (waiters) for (const w of [...waiters]) if (w.test(to)) w.resolve();
  }

  #onExit(id: string, exit: ChildExit): void {
    const entry = this.#entries.get(id);
    const ref = entry?.ref;
    // A stale event from an earlier incarnation: the current one is still running.
    if (!entry || !ref || ref.getSnapshot().status === 'active') return;
    const expected = entry.status === 'stopping' || entry.group !== undefined || this.#phase !== 'running';
    this.#endIncarnation(entry, exit);
    if (expected) return;
    if (!shouldRestart(entry.spec.restart, exit)) this.#remove(entry);
    else this.#restart(entry, exit);
  }

  /** The current incarnation is gone (exited, crashed or forced): release it and wake whoever waited. */
  #endIncarnation(entry: ChildEntry, exit: ChildExit): void {
    entry.sub?.unsubscribe();
    entry.sub = undefined;
    entry.cancelKill?.();
    entry.cancelKill = undefined;
    entry.ref = undefined;
    entry.status = entry.group ? 'restarting' : 'stopped';
    this.#touch(entry);
    const sink = this.#sink;
    if (sink?.active) {
      const at = this.#now();
      sink.emit(exit.error === undefined
        ? { type: 'child-exit', id: entry.spec.id, path: entry.path, reason: exit.reason, normal: exit.normal, at }
        : { type: 'child-exit', id: entry.spec.id, path: entry.path, reason: exit.reason, normal: exit.normal, at, error: exit.error });
    }
    if (entry.group) this.#setState(entry, 'restarting', exit.reason);
    const waiters = entry.stopWaiters;
    entry.stopWaiters = [];
    for (const w of waiters) w();
  }

  /** Asks a child to `CLOSE`, forcing it after `shutdownMs`; `done` runs once it is down. */
  #stopEntry(entry: ChildEntry, done: () => void): void {
    if (!entry.ref) return done();
    entry.stopWaiters.push(done);
    if (entry.status === 'stopping') return;
    entry.status = 'stopping';
    this.#touch(entry);
    const { shutdownMs } = entry.spec;
    if (shutdownMs === 0) return this.#kill(entry);
    const ref = entry.ref;
    if (Number.isFinite(shutdownMs)) {
      entry.cancelKill = this.#schedule(shutdownMs, () => {
        entry.cancelKill = undefined;
        if (entry.ref === ref) this.#kill(entry);
      });
    }
    ref.send({ type: 'CLOSE' });
  }

  #kill(entry: ChildEntry): void {
    const ref = entry.ref;
    // Already final: its done/error event is in our mailbox and will end the incarnation.
    if (!ref || ref.getSnapshot().status !== 'active') return;
    entry.sub?.unsubscribe();
    entry.sub = undefined;
    this.#scope.stopChild(ref);
    this.#setState(entry, 'killed', KILLED.reason);
    this.#endIncarnation(entry, KILLED);
  }

  #remove(entry: ChildEntry): void {
    if (this.#entries.get(entry.spec.id) !== entry) return;
    this.#entries.delete(entry.spec.id);
    this.#detach(entry);
    this.#dirty = true;
    const waiters = this.#stateWaiters.get(entry.spec.id);
    if (waiters) for (const w of [...waiters]) w.reject(this.#notFound(entry.spec.id));
  }

  // ── restarts ──

  #restart(trigger: ChildEntry, exit: ChildExit): void {
    const now = this.#now();
    const count = this.#intensity.record(now);
    this.#dirty = true;
    if (this.#intensity.exceeds(count)) return this.#escalate(trigger, exit, count);

    if (trigger.startedAt !== undefined && now - trigger.startedAt >= trigger.spec.resetAfterMs) {
      trigger.attempt = 0;
      trigger.prevDelayMs = undefined;
    }
    trigger.attempt += 1;
    const raw = trigger.spec.backoff.delayMs(trigger.attempt, trigger.prevDelayMs, this.#random);
    const delayMs = Number.isFinite(raw) && raw > 0 ? raw : 0;
    trigger.prevDelayMs = delayMs;

    const group: RestartGroup = { members: [], cancelStops: undefined, cancelDelay: undefined };
    const members = new Set<ChildEntry>();
    const dropped: ChildEntry[] = [];
    for (const m of restartSet(this.spec.strategy, this.#entries.values(), trigger)) {
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
      if (m.group) for (const old of this.#dissolve(m.group)) if (!old.removing) members.add(old);
    }
    group.members = [...members].sort((a, b) => a.seq - b.seq);
    for (const m of group.members) {
      m.group = group;
      if (!m.ref) m.status = 'restarting';
      m.restarts += 1;
      this.#touch(m);
    }
    this.#groups.add(group);

    const sink = this.#sink;
    if (sink?.active) {
      for (const m of group.members) {
        sink.emit(m === trigger
          ? { type: 'restart', id: m.spec.id, path: m.path, attempt: trigger.attempt, delayMs, at: now, reason: exit.reason }
          : { type: 'restart', id: m.spec.id, path: m.path, attempt: trigger.attempt, delayMs, at: now, reason: exit.reason, trigger: trigger.spec.id });
      }
    }
    this.#setState(trigger, 'restarting', exit.reason);

    const toStop = [...group.members, ...dropped].filter((m) => m.ref).sort((a, b) => b.seq - a.seq);
    group.cancelStops = stopSequence(toStop, this.spec.shutdownOrder === 'parallel', (m, done) => this.#stopEntry(m, done), () => {
      group.cancelStops = undefined;
      group.cancelDelay = this.#schedule(delayMs, () => this.#runGroup(group));
    });
  }

  #runGroup(group: RestartGroup): void {
    group.cancelDelay = undefined;
    this.#groups.delete(group);
    for (const m of group.members) {
      if (m.group !== group || this.#entries.get(m.spec.id) !== m) continue;
      m.group = undefined;
      if (!m.ref) this.#spawn(m);
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
    const group = entry.group;
    if (!group) return;
    entry.group = undefined;
    group.members = group.members.filter((m) => m !== entry);
    if (!entry.ref) entry.status = 'stopped';
    this.#touch(entry);
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
    const sink = this.#sink;
    if (sink?.active) {
      sink.emit({
        type: 'escalation', id: this.id, path: this.path, reason: 'restart-intensity', child: trigger.spec.id,
        restarts: count, at: this.#now(), error,
      });
    }
    this.#beginShutdown(this.#failure);
  }

  // ── the supervisor's own end ──

  #beginShutdown(failure: Failure | undefined): void {
    if (this.#phase !== 'running') return;
    this.#phase = failure ? 'failing' : 'stopping';
    this.#dirty = true;
    for (const group of [...this.#groups]) this.#dissolve(group);
    for (const e of this.#entries.values()) {
      if (!e.ref && e.status !== 'stopped') {
        e.status = 'stopped';
        this.#touch(e);
      }
    }
    const running = [...this.#entries.values()].filter((e) => e.ref).reverse();
    stopSequence(running, this.spec.shutdownOrder === 'parallel', (e, done) => this.#stopEntry(e, done), () => this.#finish());
  }

  #finish(): void {
    const failure = this.#failure;
    this.#phase = failure ? 'failed' : 'stopped';
    const uptimeMs = this.#now() - this.#startedAt;
    this.#output = failure ? { reason: 'restart-intensity', ...failure, uptimeMs } : { reason: 'shutdown', uptimeMs };
    this.#release(this.#shutDown('wait'));
  }

  /** `xstate.stop` (the parent forced us, or a root `stop()`): no grace, stop every child now. */
  #hardStop(): void {
    if (this.#hardStopped) return;
    this.#hardStopped = true;
    for (const group of [...this.#groups]) this.#dissolve(group);
    for (const e of [...this.#entries.values()].reverse()) {
      e.sub?.unsubscribe();
      e.sub = undefined;
      e.cancelKill?.();
      const ref = e.ref;
      e.ref = undefined;
      if (ref && ref.getSnapshot().status === 'active') this.#scope.stopChild(ref);
    }
    if (this.#phase === 'running' || this.#phase === 'stopping' || this.#phase === 'failing') {
      this.#phase = this.#failure ? 'failed' : 'stopped';
    }
    this.#release(this.#shutDown('wait'));
  }

  /** Cancels every timer and settles everyone still waiting: nothing outlives the supervisor. */
  #release(reason: Error): void {
    for (const timer of this.#timers.values()) timer.sub.unsubscribe();
    this.#timers.clear();
    this.#entries.clear();
    this.#pendingStarts.clear();
    for (const r of this.#requests.values()) r.reject(reason);
    this.#requests.clear();
    for (const set of [...this.#stateWaiters.values()]) for (const w of [...set]) w.reject(reason);
    this.#stateWaiters.clear();
    this.#dirty = true;
  }

  // ── small helpers ──

  #schedule(delayMs: number, fn: () => void): () => void {
    const scheduler = this.#scheduler;
    if (!scheduler || !Number.isFinite(delayMs)) return () => {};
    const token = ++this.#seq;
    const self = this.#scope.self;
    const sub = scheduler.schedule(() => self.send({ type: 'TIMER', token }), Math.min(Math.max(0, delayMs), MAX_TIMER_MS));
    this.#timers.set(token, { sub, fn });
    return () => {
      const timer = this.#timers.get(token);
      if (!timer) return;
      timer.sub.unsubscribe();
      this.#timers.delete(token);
    };
  }

  #request(type: 'TERMINATE_CHILD' | 'RESTART_CHILD', id: string): Promise<void> {
    const verb = type === 'TERMINATE_CHILD' ? 'terminate' : 'restart';
    if (this.#phase === 'stopped' || this.#phase === 'failed' || this.#hardStopped) {
      return Promise.reject(this.#shutDown(`${verb} child ${JSON.stringify(id)}`));
    }
    if (!this.#entries.has(id) && !this.#pendingStarts.has(id)) return Promise.reject(this.#notFound(id));
    const requestId = ++this.#seq;
    const promise = new Promise<void>((resolve, reject) => this.#requests.set(requestId, { resolve, reject }));
    this.#scope.self.send({ type, id, requestId });
    return promise;
  }

  #takeRequest(requestId: number): Request | undefined {
    const r = this.#requests.get(requestId);
    this.#requests.delete(requestId);
    return r;
  }

  #touch(entry: ChildEntry): void {
    entry.record = undefined;
    this.#dirty = true;
  }

  #now(): number {
    return this.#scheduler ? this.#scheduler.now() : Date.now();
  }

  #assertRunning(what: string): void {
    if (this.#phase !== 'running' || this.#hardStopped) throw this.#shutDown(what);
  }

  #shutDown(what: string): RuntimeShutDownError {
    return new RuntimeShutDownError(`supervisor ${this.path} is ${this.#phase}; cannot ${what}`);
  }

  #notFound(id: string): ChildNotFoundError {
    return new ChildNotFoundError(`supervisor ${this.path} has no child ${JSON.stringify(id)}`);
  }
}

type Request = { resolve: () => void; reject: (err: unknown) => void };
type Failure = { error: RestartIntensityError; child: string; restarts: number };
