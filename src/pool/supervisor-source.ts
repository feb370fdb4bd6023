/**
 * The pool's connections as children of the pool's own supervisor: a `ConnectionSource`
 * (connection-source.ts) in which each slot is one `transient` child running
 * `connectionMachine`, restarted by the supervisor with the pool's `backoff`.
 *
 *   root/pool-1  (one-for-one, maxRestarts ∞)
 *     ├─ conn-1  ready                      ─▶ sink.onReady(slot, session)
 *     ├─ conn-2  dead before ready          ─▶ sink.onDialFailed   (stays pending, restarted)
 *     └─ conn-3  dead after ready           ─▶ sink.onDead         (lease lost, restarted)
 *                closed / terminated        ─▶ sink.onClosed
 *
 * Observing state changes cheaply: one subscription per live incarnation (slot-watcher.ts:
 * a string comparison per snapshot, and a connection's snapshot changes with its state,
 * never per frame), plus one subscription to the supervisor. A supervisor notifies its
 * observers after each of its own events, and spawning a child is one of them, so the
 * watchers waiting for a new incarnation look their child up then — only those whose
 * child the supervisor spawned since (`trackSpawns`), or that began waiting since: an
 * outage puts every connection of the pool there. No promise, timer or closure per
 * incarnation, and no subscription to `rt.events$`, which would make every supervisor in
 * the runtime build its events.
 *
 * Restart intensity is infinite: dials are paced by the backoff, a pool must outlive an
 * outage of its endpoints, and its waiters time out instead (`acquireTimeoutMs`). The
 * pool's supervisor is a `temporary` child of the root; if it ends anyway (a crash, the
 * runtime failing), the source reports `gone` and the pool closes itself.
 *
 * Kills send the actor's `KILL`: `leak-reclaimed` as is, the other pool reasons as
 * `protocol-error` with the error as cause (the actor's `KillReason` has no better
 * word); a forced close (`shutdown-forced`) is a `KILL` of a child already being
 * terminated, so the supervisor does not restart it.
 */
import type { AnyActorRef } from 'xstate';
import { connectionMachine } from '../actors/connection-machine.js';
import type { KillReason } from '../actors/connection-types.js';
import { liveConnection } from '../actors/live-connection.js';
import { resourcesOf } from '../actors/connection-resources.js';
import { DialFailedError, PoolClosedError, ProtocolError, WirewardenError } from '../errors.js';
import { observeHubOf, type ObserveHub } from '../observe/observe-hub.js';
import type { SchedulerLike } from '../scheduler.js';
import type { BackoffPolicy } from '../supervisor/backoff.js';
import type { SupervisorHandle } from '../supervisor/supervisor-handle.js';
import { engineOf } from '../supervisor/supervisor-logic.js';
import type { SupervisorSnapshot } from '../supervisor/supervisor-types.js';
import type { AnyProtocol } from '../transport/types.js';
import { boundedCheck } from './bounded-check.js';
import type { ConnectionSource, PoolCloseReason, PoolKillReason, PoolSink, SlotInspection } from './connection-source.js';
import type { Slot } from './slot.js';
import { SlotWatcher, type SlotInput, type WatcherOwner } from './slot-watcher.js';

export interface SupervisorSourceConfig<S> {
  readonly supervisor: SupervisorHandle;
  readonly sink: PoolSink<S>;
  /** Every field of the child input but `endpoint` (validated by create-pool.ts). */
  readonly input: Omit<SlotInput, 'endpoint'>;
  readonly backoff: BackoffPolicy | undefined;
  readonly scheduler: SchedulerLike;
  readonly validationTimeoutMs: number;
  /** A connection `ready` this long has proved its endpoint healthy: its backoff starts over. */
  readonly resetBackoffAfterMs: number;
  /** The supervisor ended or stopped taking children: the pool must close. */
  readonly onGone: (error: unknown) => void;
}

/** `fn` outside the caller's trace when the runtime traces (observe-hub.ts), else just `fn()`. */
function detached<T>(hub: ObserveHub | undefined, fn: () => T): T {
  return hub === undefined ? fn() : hub.detached(fn);
}

const warn = (err: unknown): void =>
  process.emitWarning(err instanceof Error ? err : new Error(String(err)), 'WirewardenPoolWarning');

/** @internal Built by `rt.createPool` through the core's source factory. */
export class SupervisorSource<S> implements ConnectionSource<S>, WatcherOwner<S> {
  readonly #c: SupervisorSourceConfig<S>;
  readonly #protocol: AnyProtocol<S>;
  readonly #watchers = new Map<Slot<S>, SlotWatcher<S>>();
  /** Watchers between incarnations, by slot id. */
  readonly #awaiting = new Map<string, SlotWatcher<S>>();
  /** Watchers that began awaiting since the last supervisor event: looked up at the next. */
  readonly #arrived = new Set<SlotWatcher<S>>();
  readonly #supervisorSub: { unsubscribe(): void } | undefined;
  /** The runtime's observability hub: dials run outside the caller's trace while tracing is on. */
  readonly #observe: ObserveHub | undefined;
  #gone = false;

  /** Defined only when the protocol can tell (`Protocol.needsReset`): the core skips the call otherwise. */
  readonly needsReset: ((slot: Slot<S>) => boolean) | undefined;

  constructor(config: SupervisorSourceConfig<S>) {
    this.#c = config;
    const protocol = (this.#protocol = config.input.protocol as AnyProtocol<S>);
    this.needsReset = protocol.needsReset === undefined ? undefined
      : (slot) => slot.conn !== undefined && protocol.needsReset!(slot.conn) === true;
    const ref = config.supervisor.ref;
    this.#observe = ref === undefined ? undefined : observeHubOf(ref.system);
    if (ref === undefined) {
      this.#supervisorSub = undefined;
      this.#goneNow(new PoolClosedError(`supervisor ${config.supervisor.path} is not running`));
      return;
    }
    engineOf(ref)?.trackSpawns(true);
    this.#supervisorSub = ref.subscribe({
      next: (snapshot) => this.#onSupervisor(snapshot),
      error: (err) => this.#goneNow(err),
      complete: () => this.#goneNow(new PoolClosedError(`supervisor ${config.supervisor.path} stopped`)),
    });
  }

  open(slot: Slot<S>): void {
    // The pool's hold on the connection: while the slot is not idle (leased, validated,
    // being reset) its actor never probes it (a PING inside the user's MULTI).
    const leased = (): boolean => slot.state !== 'idle';
    const w = new SlotWatcher<S>(slot, { ...this.#c.input, endpoint: slot.endpoint, leased }, this);
    this.#watchers.set(slot, w);
    if (this.#gone) return; // the pool is about to close; close() reports it
    this.#await(w);
    try {
      // Outside the caller's trace (src/observe): the connection's sockets and timers keep
      // the context they were made in, and an acquire that made the pool grow is one request.
      detached(this.#observe, () => this.#c.supervisor.startChild({
        id: slot.id, logic: connectionMachine, input: w.input, restart: 'transient', resetAfterMs: this.#c.resetBackoffAfterMs,
        ...(this.#c.backoff === undefined ? {} : { backoff: this.#c.backoff }),
      }));
    } catch (err) {
      this.#stopAwaiting(w);
      this.#goneNow(err);
    }
  }

  close(slot: Slot<S>, reason: PoolCloseReason): void {
    const w = this.#watchers.get(slot);
    if (w === undefined) return;
    if (reason === 'shutdown-forced') w.forced = true;
    if (!w.closing) {
      w.closing = true;
      this.#stopAwaiting(w);
      const done = (): void => this.#closed(w);
      if (this.#gone) queueMicrotask(done);
      else this.#c.supervisor.terminateChild(slot.id).then(done, done);
    }
    if (w.forced && w.ref !== undefined) {
      w.ref.send({ type: 'KILL', reason: 'protocol-error', error: new PoolClosedError(`connection ${slot.id} closed by the pool without draining`) });
    }
  }

  kill(slot: Slot<S>, reason: PoolKillReason, error?: unknown): void {
    const w = this.#watchers.get(slot);
    const ref = w?.ref;
    if (w === undefined || ref === undefined || w.closing) return;
    w.killed = true;
    const kill: KillReason = reason === 'leak-reclaimed' ? 'leak-reclaimed' : 'protocol-error';
    const why = error instanceof WirewardenError
      ? error
      : new ProtocolError(`connection ${slot.id} killed by the pool (${reason})`, error === undefined ? undefined : { cause: error });
    // A retirement, not a failure of the peer: the backoff never grows for it (the
    // supervisor restarts it at once, or at the delay it was at if it was short-lived).
    ref.send({ type: 'KILL', reason: kill, error: why, retire: true });
  }

  redialNow(slot: Slot<S>): void {
    const w = this.#watchers.get(slot);
    if (w === undefined || w.closing || w.ref !== undefined || this.#gone) return;
    // An explicit restart: the supervisor cancels the pending delay and spawns it now.
    detached(this.#observe, () => this.#c.supervisor.restartChild(slot.id)).catch(() => {});
  }

  probe(slot: Slot<S>, signal: AbortSignal): Promise<void> {
    const session = slot.conn as S;
    return boundedCheck(this.#c.scheduler, this.#c.validationTimeoutMs, `validation of connection ${slot.id}`,
      (s) => this.#protocol.probe(session, s), signal);
  }

  reset(slot: Slot<S>, signal: AbortSignal): Promise<void> {
    const session = slot.conn as S;
    if (this.#protocol.reset === undefined) {
      // Only asked for a session the protocol says needs one (resetOnRelease requires reset()).
      return Promise.reject(new ProtocolError(`connection ${slot.id} was released in a state its next holder must not inherit, and its protocol has no reset()`));
    }
    return boundedCheck(this.#c.scheduler, this.#c.validationTimeoutMs, `reset of connection ${slot.id}`,
      (s) => this.#protocol.reset?.(session, s), signal);
  }

  inspect(slot: Slot<S>): SlotInspection | undefined {
    const w = this.#watchers.get(slot);
    if (w === undefined) return undefined;
    const live = w.ref === undefined ? undefined : liveConnection(w.ref);
    if (live === undefined) return { state: w.state };
    return live.rttMs === undefined ? { state: live.state } : { state: live.state, rttMs: live.rttMs };
  }

  /** Stops watching the supervisor (the pool closed; its supervisor is terminated next). */
  dispose(): void {
    this.#gone = true;
    this.#supervisorSub?.unsubscribe();
    engineOf(this.#c.supervisor.ref)?.trackSpawns(false);
    this.#awaiting.clear();
    this.#arrived.clear();
  }

  // ── watcher callbacks (inside an actor's notification: nothing may throw out) ──

  incarnationReady(w: SlotWatcher<S>, ref: AnyActorRef): void {
    try {
      // The stream too: the pool hands out no connection whose stream is already destroyed.
      this.#c.sink.onReady(w.slot, liveConnection<S>(ref)?.session as S, resourcesOf(ref)?.stream);
    } catch (err) {
      warn(err);
    }
  }

  incarnationRecovered(w: SlotWatcher<S>): void {
    try {
      this.#c.sink.onRecovered?.(w.slot);
    } catch (err) {
      warn(err);
    }
  }

  incarnationEnded(w: SlotWatcher<S>, reason: string, error: unknown): void {
    if (w.closing) return; // the terminate request reports it
    const { slot } = w;
    const { sink } = this.#c;
    try {
      if (reason === 'closed') {
        // A normal exit we did not ask for: a transient child is not restarted.
        this.#watchers.delete(slot);
        sink.onClosed(slot, error);
        return;
      }
      const wasReady = w.readyReported;
      if (!this.#gone) this.#await(w);
      if (w.killed) return; // the core made it pending when it asked for the kill
      if (wasReady) sink.onDead(slot, reason, error);
      else sink.onDialFailed(slot, error ?? new DialFailedError(`connection ${slot.id} to ${slot.endpointKey} ended (${reason}) before it was ready`));
      // Failover may have moved the slot: the next incarnation dials there.
      w.input.endpoint = slot.endpoint;
    } catch (err) {
      warn(err);
    }
  }

  // ── the supervisor ──

  #onSupervisor(snapshot: SupervisorSnapshot): void {
    if (snapshot.value !== 'running') {
      this.#goneNow(new PoolClosedError(`supervisor ${this.#c.supervisor.path} is ${snapshot.value}`));
      return;
    }
    const engine = engineOf(this.#c.supervisor.ref);
    if (engine === undefined) return;
    // A waiting watcher finds a new incarnation only when its child was spawned, or when
    // it began waiting (its child may be new already): those are the only ones looked up.
    // Every waiting watcher after each supervisor event was O(connections) per event: a
    // 1,000-connection pool in an outage spent most of its CPU here.
    const spawned = engine.takeSpawned();
    if (this.#awaiting.size === 0) {
      this.#arrived.clear();
      return;
    }
    const candidates = [...this.#arrived];
    this.#arrived.clear();
    for (const id of spawned) {
      const w = this.#awaiting.get(id);
      if (w !== undefined) candidates.push(w);
    }
    for (const w of candidates) {
      const id = w.slot.id;
      const ref = engine.childRef(id);
      if (ref === undefined || ref === w.lastRef || this.#awaiting.get(id) !== w) continue;
      this.#stopAwaiting(w);
      w.attach(ref);
    }
  }

  #await(w: SlotWatcher<S>): void {
    this.#awaiting.set(w.slot.id, w);
    this.#arrived.add(w);
  }

  #stopAwaiting(w: SlotWatcher<S>): void {
    if (this.#awaiting.get(w.slot.id) === w) this.#awaiting.delete(w.slot.id);
    this.#arrived.delete(w);
  }

  #closed(w: SlotWatcher<S>): void {
    w.detach();
    if (this.#watchers.get(w.slot) !== w) return;
    this.#watchers.delete(w.slot);
    try {
      this.#c.sink.onClosed(w.slot);
    } catch (err) {
      warn(err);
    }
  }

  #goneNow(error: unknown): void {
    if (this.#gone) return;
    this.dispose();
    // Not from inside the supervisor's notification: the pool's close calls back in.
    queueMicrotask(() => this.#c.onGone(error));
  }
}
