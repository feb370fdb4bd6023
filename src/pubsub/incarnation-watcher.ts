/**
 * Follows the subscriber's one connection child across its incarnations and reduces
 * its snapshots to three facts: "this incarnation is ready" (once), "this incarnation
 * ended, with this reason" (once), and "the supervisor is gone".
 *
 *   supervisor snapshot ──▶ childRef(id) is new? ──▶ watch it
 *                                                      │ ready (once)       ──▶ owner.ready(ref)
 *                                                      │ done / error / stop ──▶ owner.ended(reason, error, wasReady)
 *   supervisor stops or fails ─────────────────────────────────────────────────▶ owner.gone(error)
 *
 * As in the pool's slot watcher (src/pool/slot-watcher.ts), a supervisor notifies its
 * observers after each of its own events and spawning a child is one of them, so the
 * next incarnation is found without a timer or a promise; a connection's snapshot
 * changes with its state only, never per message. Nothing thrown by the owner may
 * escape into an actor's notification: the owner's callbacks do not throw.
 */
import type { AnyActorRef } from 'xstate';
import { ConnectionClosedError } from '../errors.js';
import type { SupervisorHandle } from '../supervisor/supervisor-handle.js';
import type { SupervisorSnapshot } from '../supervisor/supervisor-types.js';

/** Who hears about incarnations. @internal */
export interface IncarnationOwner {
  ready(ref: AnyActorRef): void;
  /** `wasReady`: the incarnation reached `ready` (it carried, or was about to carry, the subscription). */
  ended(reason: string, error: unknown, wasReady: boolean): void;
  gone(error: unknown): void;
}

interface ChildSnapshot {
  readonly status: string;
  readonly value?: unknown;
  readonly output?: { readonly reason?: unknown; readonly error?: unknown };
  readonly error?: unknown;
}

/** @internal */
export class IncarnationWatcher {
  readonly #supervisor: SupervisorHandle;
  readonly #childId: string;
  readonly #owner: IncarnationOwner;
  readonly #supervisorSub: { unsubscribe(): void } | undefined;
  #childSub: { unsubscribe(): void } | undefined;
  /** The incarnation watched now, and the last one seen (never watched twice). */
  #ref: AnyActorRef | undefined;
  #seen: AnyActorRef | undefined;
  #wasReady = false;
  #disposed = false;

  constructor(supervisor: SupervisorHandle, childId: string, owner: IncarnationOwner) {
    this.#supervisor = supervisor;
    this.#childId = childId;
    this.#owner = owner;
    const ref = supervisor.ref;
    if (ref === undefined) {
      this.#supervisorSub = undefined;
      this.#gone(new ConnectionClosedError(`supervisor ${supervisor.path} is not running`));
      return;
    }
    this.#supervisorSub = ref.subscribe({
      next: (snapshot: SupervisorSnapshot) => {
        if (snapshot.value === 'running') this.#lookUp();
        else this.#gone(new ConnectionClosedError(`supervisor ${supervisor.path} is ${snapshot.value}`));
      },
      error: (err: unknown) => this.#gone(err),
      complete: () => this.#gone(new ConnectionClosedError(`supervisor ${supervisor.path} stopped`)),
    });
  }

  /** Stops watching; no callback runs afterwards. */
  dispose(): void {
    this.#disposed = true;
    this.#supervisorSub?.unsubscribe();
    this.#unwatch();
  }

  #lookUp(): void {
    if (this.#disposed || this.#ref !== undefined) return;
    const ref = this.#supervisor.childRef(this.#childId);
    if (ref === undefined || ref === this.#seen) return;
    this.#ref = this.#seen = ref;
    this.#wasReady = false;
    this.#childSub = ref.subscribe({
      next: (s: ChildSnapshot) => this.#onChild(ref, s),
      error: (err: unknown) => this.#end(ref, 'error', err),
      // After a done snapshot (handled already) or alone: stopped from outside.
      complete: () => this.#end(ref, 'killed', undefined),
    });
    // It may have moved on before we subscribed.
    this.#onChild(ref, ref.getSnapshot() as ChildSnapshot);
  }

  #onChild(ref: AnyActorRef, s: ChildSnapshot): void {
    if (ref !== this.#ref) return;
    if (s.status === 'active') {
      if (s.value !== 'ready' || this.#wasReady) return;
      this.#wasReady = true;
      this.#owner.ready(ref);
    } else if (s.status === 'done') {
      const reason = s.output?.reason;
      this.#end(ref, typeof reason === 'string' ? reason : 'unknown', s.output?.error);
    } else if (s.status === 'error') {
      this.#end(ref, 'error', s.error);
    }
  }

  #end(ref: AnyActorRef, reason: string, error: unknown): void {
    if (ref !== this.#ref) return;
    const wasReady = this.#wasReady;
    this.#unwatch();
    this.#owner.ended(reason, error, wasReady);
    // A restart without backoff spawns the next one within the same supervisor event.
    this.#lookUp();
  }

  #unwatch(): void {
    this.#childSub?.unsubscribe();
    this.#childSub = undefined;
    this.#ref = undefined;
  }

  #gone(error: unknown): void {
    if (this.#disposed) return;
    this.dispose();
    // Not from inside the supervisor's notification: closing calls back into it.
    queueMicrotask(() => this.#owner.gone(error));
  }
}
