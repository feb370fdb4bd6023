/**
 * Watches one slot's connection actor across its incarnations, for the supervisor
 * source. It is the observer of the current incarnation (an object with `next`,
 * `error` and `complete`, so subscribing allocates no closure of ours) and turns its
 * snapshots into two facts: "this incarnation became ready" and "this incarnation
 * ended, with this reason", plus one flag: a `suspect` connection is not leased.
 * Everything else (probing, closing) is the actor's
 * business: a snapshot costs one string comparison here.
 *
 *   attach(ref) ──▶ dialing ──▶ ready (reported once) ⇄ probing/suspect
 *        ▲             │                 │
 *        │             └── done / error / stopped ──▶ ended(reason) ──▶ detach
 *        └── the supervisor spawns the next incarnation (supervisor-source.ts)
 *
 * `input` is this slot's child input, the object every incarnation receives: its
 * `endpoint` is updated between incarnations when the pool fails the slot over.
 */
import type { AnyActorRef } from 'xstate';
import type { HeartbeatInput } from '../actors/connection-types.js';
import type { AnyProtocol, Endpoint, Transport } from '../transport/types.js';
import type { Slot } from './slot.js';

/** The connection actor's input for one slot; shared by all its incarnations. */
export interface SlotInput {
  endpoint: Endpoint;
  readonly protocol: AnyProtocol;
  readonly transport?: Transport;
  readonly heartbeat?: HeartbeatInput;
  readonly connectTimeoutMs?: number;
  readonly handshakeTimeoutMs?: number;
  /** The pool's hold: true while the slot is leased (no probe enters it). */
  readonly leased?: () => boolean;
}

/** What a watcher reports to. */
export interface WatcherOwner<S> {
  incarnationReady(w: SlotWatcher<S>, ref: AnyActorRef): void;
  incarnationEnded(w: SlotWatcher<S>, reason: string, error: unknown): void;
  /** The incarnation went from `suspect` back to `ready`. */
  incarnationRecovered(w: SlotWatcher<S>): void;
}

interface ConnectionSnapshotLike {
  readonly status: string;
  readonly value?: unknown;
  readonly output?: { readonly reason?: unknown; readonly error?: unknown };
}

/** Watches one slot's supervised connection across its incarnations. */
export class SlotWatcher<S> {
  readonly slot: Slot<S>;
  readonly input: SlotInput;
  readonly #owner: WatcherOwner<S>;
  /** The incarnation being watched; undefined between incarnations. */
  ref: AnyActorRef | undefined = undefined;
  /** The last incarnation attached, so that a stale ref is never attached twice. */
  lastRef: AnyActorRef | undefined = undefined;
  #sub: { unsubscribe(): void } | undefined = undefined;
  #state = 'dialing';
  /** This incarnation reached `ready` and the core was told. */
  readyReported = false;
  /** The pool killed this incarnation: the core already counts the slot as pending. */
  killed = false;
  /** The pool is closing the slot: its end is reported by the terminate request. */
  closing = false;
  /** The close must not drain (`shutdown-forced`). */
  forced = false;

  constructor(slot: Slot<S>, input: SlotInput, owner: WatcherOwner<S>) {
    this.slot = slot;
    this.input = input;
    this.#owner = owner;
  }

  /** The current incarnation's top-level state (`'restarting'` between incarnations). */
  get state(): string {
    return this.ref === undefined ? (this.closing ? 'closing' : 'restarting') : this.#state;
  }

  attach(ref: AnyActorRef): void {
    this.ref = this.lastRef = ref;
    this.#state = 'dialing';
    this.readyReported = false;
    this.killed = false;
    this.#sub = ref.subscribe(this);
    // It may have moved on before we subscribed (a fast custom transport, or a crash).
    if (this.ref === ref) this.next(ref.getSnapshot() as ConnectionSnapshotLike);
  }

  detach(): void {
    this.#sub?.unsubscribe();
    this.#sub = undefined;
    this.ref = undefined;
  }

  next(snapshot: ConnectionSnapshotLike): void {
    const ref = this.ref;
    if (ref === undefined) return;
    if (snapshot.status === 'active') {
      const state = typeof snapshot.value === 'string' ? snapshot.value : 'dialing';
      if (state === this.#state) return;
      this.#state = state;
      // Probing keeps the verdict of the state before it; only suspect and ready change it.
      if (state === 'suspect') this.slot.suspect = true;
      else if (state === 'ready' && this.slot.suspect) {
        this.slot.suspect = false;
        this.#owner.incarnationRecovered(this);
      }
      if (state === 'ready' && !this.readyReported && !this.killed && !this.closing) {
        this.readyReported = true;
        this.#owner.incarnationReady(this, ref);
      }
      return;
    }
    if (snapshot.status === 'done') {
      const reason = snapshot.output?.reason;
      this.#end(typeof reason === 'string' ? reason : 'unknown', snapshot.output?.error);
    } else if (snapshot.status === 'error') {
      this.#end('error', (snapshot as { error?: unknown }).error);
    }
  }

  /** The incarnation crashed (a bug, or input the pool failed to validate). */
  error(err: unknown): void {
    if (this.ref !== undefined) this.#end('error', err);
  }

  /** Completion follows a done snapshot (already handled); alone it means a forced stop. */
  complete(): void {
    if (this.ref !== undefined) this.#end('killed', undefined);
  }

  #end(reason: string, error: unknown): void {
    this.slot.suspect = false;
    this.#state = reason === 'closed' ? 'closed' : 'dead';
    this.detach();
    this.#owner.incarnationEnded(this, reason, error);
  }
}
