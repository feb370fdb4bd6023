/**
 * The mechanics of a supervisor's children, without any policy: spawn an incarnation,
 * watch its top-level state, ask it to `CLOSE`, force it after `shutdownMs`, notice its
 * end, forget it. `SupervisorEngine` has one and decides when (restart-plan.ts decides
 * what: restart, strategy, shutdown); the table only does, in the spirit of undici's
 * pool-base / pool split. Internal: its members are the engine's tools, not an API.
 *
 * Children are real XState children (`createActor(logic, { parent: self })`), so their
 * done/error events come back to the supervisor's mailbox and the inspector draws them
 * under it. Their state changes are watched with `actor.subscribe`: one string
 * comparison per child snapshot, never an event in the supervisor's mailbox.
 *
 *   spawn ──▶ running ──stopEntry──▶ stopping ──(done/error event, or forced)──▶ endIncarnation
 *                 └────────(exits on its own)──────────────────────────────────────▲
 */
import { createActor, type AnyActorRef, type AnyActorScope } from 'xstate';
import type { SchedulerLike } from 'rxjs';
import { eventSinkOf, nullEventSink, type EventSink } from '../observe/events.js';
import { servicesOf } from '../services.js';
import { exitFromOutput, KILLED, type ChildExit } from './child-exit.js';
import { topLevelState } from './child-state.js';
import { ChildStateWaiters } from './child-waiters.js';
import type { ResolvedChildSpec } from './supervisor-spec.js';
import type { ChildInfo, ChildStatus } from './supervisor-types.js';
import { TimerTable } from './timer-table.js';

/** A restart group as the table sees it: opaque, only "is this child waiting in one". */
export interface GroupLike {
  members: ChildEntry[];
}

/** One child: its spec, its current incarnation, and its bookkeeping (plain data). */
export interface ChildEntry {
  readonly spec: ResolvedChildSpec;
  readonly path: string;
  /** Start order: the supervisor's order for stopping (reverse) and restarting. */
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
  /** The backoff phase in [0, 1): drawn at the first restart, kept until the attempt counter resets. */
  phase: number | undefined;
  cancelKill: (() => void) | undefined;
  stopWaiters: Array<() => void>;
  group: GroupLike | undefined;
  /** Being terminated or dropped: never joins a restart group again. */
  removing: boolean;
}

const NONE: readonly string[] = Object.freeze([]);

export class ChildTable {
  readonly path: string;
  readonly scope: AnyActorScope;
  scheduler: SchedulerLike | undefined;
  random: () => number = Math.random;
  sink: EventSink = nullEventSink;
  readonly entries = new Map<string, ChildEntry>();
  readonly counts: Record<ChildStatus, number> = { running: 0, stopping: 0, restarting: 0, stopped: 0 };
  readonly timers: TimerTable;
  readonly stateWaiters = new ChildStateWaiters();
  /** Set whenever something the snapshot shows changed. */
  dirty = true;
  #seq = 0;
  /** Ids spawned since the last `takeSpawned()`, while someone listens (`trackSpawns`). */
  #spawned: string[] | undefined;

  constructor(scope: AnyActorScope, path: string) {
    this.scope = scope;
    this.path = path;
    this.timers = new TimerTable((token) => scope.self.send({ type: 'TIMER', token }));
  }

  /** Services are bound to the system after the root actor is created, so read them at start. */
  bindServices(): void {
    const services = servicesOf(this.scope.system);
    this.scheduler = services.scheduler;
    this.random = services.random;
    this.sink = eventSinkOf(this.scope.system);
  }

  children(): ChildInfo[] {
    const out: ChildInfo[] = [];
    for (const e of this.entries.values()) {
      out.push({ id: e.spec.id, state: e.state, restarts: e.restarts, since: e.since, attempt: e.attempt });
    }
    return out;
  }

  childRef(id: string): AnyActorRef | undefined {
    return this.entries.get(id)?.ref;
  }

  /**
   * Keeps (or stops keeping) the ids of the children spawned, for an observer that
   * attaches to each new incarnation: after a notification it looks up those children
   * only, not every child it waits for (a pool of 1,000 in an outage waits for all).
   */
  trackSpawns(on: boolean): void {
    this.#spawned = on ? (this.#spawned ?? []) : undefined;
  }

  /** The ids spawned since the last call (in spawn order), if tracked. */
  takeSpawned(): readonly string[] {
    const spawned = this.#spawned;
    if (spawned === undefined || spawned.length === 0) return NONE;
    this.#spawned = [];
    return spawned;
  }

  /** The live incarnations, in start order. */
  childRefs(): AnyActorRef[] {
    const refs: AnyActorRef[] = [];
    for (const e of this.entries.values()) if (e.ref) refs.push(e.ref);
    return refs;
  }

  addEntry(spec: ResolvedChildSpec): ChildEntry {
    const entry: ChildEntry = {
      spec, path: `${this.path}/${spec.id}`, seq: this.#seq++,
      ref: undefined, sub: undefined, status: 'stopped', state: 'starting', since: this.now(), startedAt: undefined,
      restarts: 0, attempt: 0, prevDelayMs: undefined, phase: undefined, cancelKill: undefined, stopWaiters: [], group: undefined,
      removing: false,
    };
    this.entries.set(spec.id, entry);
    this.counts.stopped++;
    this.dirty = true;
    return entry;
  }

  /** Drops an entry for good (its incarnation is already over). */
  forget(entry: ChildEntry): void {
    if (this.entries.get(entry.spec.id) !== entry) return;
    this.entries.delete(entry.spec.id);
    this.counts[entry.status]--;
    this.dirty = true;
  }

  spawn(entry: ChildEntry): void {
    const { spec } = entry;
    const ref = createActor(spec.logic, { id: spec.id, parent: this.scope.self, input: spec.input });
    entry.ref = ref;
    this.#spawned?.push(spec.id);
    entry.startedAt = this.now();
    this.setStatus(entry, 'running');
    // The error callback matters: an errored actor whose observers lack one reports an uncaught error.
    // Two plain arrows (child errors arrive as `xstate.error.actor.*` events), not an observer
    // literal: a named property closure costs ~300 B more under tsx, per child of a 10k supervisor.
    entry.sub = ref.subscribe((snapshot: unknown) => this.#onChildSnapshot(entry, ref, snapshot), () => {});
    this.setState(entry, topLevelState(ref.getSnapshot()));
    ref.start();
  }

  #onChildSnapshot(entry: ChildEntry, ref: AnyActorRef, snapshot: unknown): void {
    if (entry.ref !== ref) return;
    const state = topLevelState(snapshot);
    if (state === entry.state) return;
    const s = snapshot as { status?: string; output?: unknown };
    this.setState(entry, state, s.status === 'done' ? exitFromOutput(s.output).reason : undefined);
  }

  setState(entry: ChildEntry, to: string, reason?: string): void {
    const from = entry.state;
    entry.state = to;
    entry.since = this.now();
    if (this.sink.active) {
      const { id } = entry.spec;
      this.sink.emit(reason === undefined
        ? { type: 'state', id, path: entry.path, from, to, at: entry.since }
        : { type: 'state', id, path: entry.path, from, to, at: entry.since, reason });
    }
    this.stateWaiters.notify(entry.spec.id, to);
  }

  setStatus(entry: ChildEntry, status: ChildStatus): void {
    if (entry.status === status) return;
    this.counts[entry.status]--;
    this.counts[status]++;
    entry.status = status;
    this.dirty = true;
  }

  /** The current incarnation is gone (exited, crashed or forced): release it and wake whoever waited. */
  endIncarnation(entry: ChildEntry, exit: ChildExit): void {
    entry.sub?.unsubscribe();
    entry.sub = undefined;
    entry.cancelKill?.();
    entry.cancelKill = undefined;
    entry.ref = undefined;
    this.setStatus(entry, entry.group ? 'restarting' : 'stopped');
    if (this.sink.active) {
      const { id } = entry.spec;
      const { reason, normal, error } = exit;
      const at = this.now();
      this.sink.emit(error === undefined
        ? { type: 'child-exit', id, path: entry.path, reason, normal, at }
        : { type: 'child-exit', id, path: entry.path, reason, normal, at, error });
    }
    if (entry.group) this.setState(entry, 'restarting', exit.reason);
    const waiters = entry.stopWaiters;
    entry.stopWaiters = [];
    for (const w of waiters) w();
  }

  /** Asks a child to `CLOSE`, forcing it after `shutdownMs`; `done` runs once it is down (maybe at once). */
  stopEntry(entry: ChildEntry, done: () => void): void {
    if (!entry.ref) return done();
    entry.stopWaiters.push(done);
    if (entry.status === 'stopping') return;
    this.setStatus(entry, 'stopping');
    const { shutdownMs } = entry.spec;
    if (shutdownMs === 0) return this.kill(entry);
    const ref = entry.ref;
    if (this.scheduler) {
      entry.cancelKill = this.timers.schedule(this.scheduler, shutdownMs, () => {
        entry.cancelKill = undefined;
        if (entry.ref === ref) this.kill(entry);
      });
    }
    ref.send({ type: 'CLOSE' });
  }

  kill(entry: ChildEntry): void {
    const ref = entry.ref;
    // Already final: its done/error event is in our mailbox and will end the incarnation.
    if (!ref || ref.getSnapshot().status !== 'active') return;
    entry.sub?.unsubscribe();
    entry.sub = undefined;
    this.scope.stopChild(ref);
    this.setState(entry, 'killed', KILLED.reason);
    this.endIncarnation(entry, KILLED);
  }

  /** No grace: stop every live child now (last started first) and clear the table. */
  stopAllNow(): void {
    const entries = [...this.entries.values()].reverse();
    for (const e of entries) {
      e.sub?.unsubscribe();
      e.sub = undefined;
      e.cancelKill?.();
      const ref = e.ref;
      e.ref = undefined;
      if (ref && ref.getSnapshot().status === 'active') this.scope.stopChild(ref);
    }
    // Whoever waited for a graceful stop (terminateChild, restartChild) learns it is over:
    // a promise parked here would otherwise never settle.
    for (const e of entries) {
      const waiters = e.stopWaiters;
      e.stopWaiters = [];
      for (const done of waiters) done();
    }
    this.clear();
  }

  clear(): void {
    this.entries.clear();
    this.counts.running = this.counts.stopping = this.counts.restarting = this.counts.stopped = 0;
    this.dirty = true;
  }

  now(): number {
    return this.scheduler ? this.scheduler.now() : Date.now();
  }
}
