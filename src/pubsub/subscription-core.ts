/**
 * The subscriber's engine: the subscription set (the one owner of it), the calls that
 * wait for a connection, and what happens on each incarnation of the connection.
 *
 *   subscribe(names) ──▶ set += names ──▶ live connection? ── yes ─▶ SUBSCRIBE names ─▶ resolve
 *                                              │ no (or it died meanwhile)
 *                                              ▼
 *                                          waiting ──▶ resolved by the next `subscribed`
 *
 *   ready(ref) ──▶ onMessage ──▶ SUBSCRIBE all + PSUBSCRIBE all ─┬─ ok ──────▶ `subscribed`
 *                                                                ├─ refused ─▶ `subscribe-failed`, KILL
 *                                                                └─ the connection died: its `gap` says it
 *   ended(ref) ──▶ `gap` (it was ready) or `dial-failed` (it never was)
 *
 * Trade-offs:
 * - The set is changed at the call, before Redis answers (as ioredis does): a name is
 *   resubscribed on every later connection unless Redis refused it (`RemoteError`,
 *   e.g. `NOPERM`), in which case the call rejects and the names it added are dropped.
 *   A connection that dies under a call is not a refusal: the call waits for the next
 *   `subscribed` instead.
 * - A refused resubscription on a fresh connection (ACL changed while we were away) is
 *   not hidden: `subscribe-failed`, the calls still waiting for a connection reject and
 *   their new names are dropped (so one bad new name cannot loop forever), and the
 *   connection is killed so that the supervisor retries the rest with growing backoff.
 *   A partial subscription that looks healthy would lose messages silently.
 * - Messages go from the session's listener straight to a `Subject`: no actor, event or
 *   timer per message.
 */
import { Subject, type Observable } from 'rxjs';
import type { AnyActorRef } from 'xstate';
import { liveConnection } from '../actors/live-connection.js';
import { ConnectionClosedError, InvalidOptionError, ProtocolError, RemoteError, WirewardenError } from '../errors.js';
import type { SchedulerLike } from '../scheduler.js';
import type { RespMessage, RespSession } from '../transport/resp-session.js';
import type { IncarnationOwner } from './incarnation-watcher.js';
import type { SubscriberEvent, SubscriberState } from './subscriber-events.js';

/** Channels (`SUBSCRIBE`) or patterns (`PSUBSCRIBE`). @internal */
export type NameKind = 'channel' | 'pattern';

type PubSubSession = Pick<RespSession, 'subscribe' | 'psubscribe' | 'unsubscribe' | 'punsubscribe' | 'onMessage'>;

interface Waiter {
  readonly kind: NameKind;
  readonly names: readonly string[];
  /** The names this call put into the set (dropped again if Redis refuses them). */
  readonly added: readonly string[];
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

interface Incarnation {
  readonly ref: AnyActorRef;
  readonly session: PubSubSession;
  readonly stopMessages: () => void;
}

/** Redis said no (or the names were bad): retrying on another connection will not help. */
const refused = (err: unknown): boolean => err instanceof RemoteError || err instanceof InvalidOptionError;

function add(session: PubSubSession, kind: NameKind, names: readonly string[]): Promise<void> {
  return kind === 'channel' ? session.subscribe(names) : session.psubscribe(names);
}

function remove(session: PubSubSession, kind: NameKind, names: readonly string[]): Promise<void> {
  return kind === 'channel' ? session.unsubscribe(names) : session.punsubscribe(names);
}

/** @internal Built by create-subscriber.ts; `Subscriber` is its facade. */
export class SubscriptionCore implements IncarnationOwner {
  readonly messages$: Observable<RespMessage>;
  readonly status$: Observable<SubscriberEvent>;
  readonly #name: string;
  readonly #scheduler: SchedulerLike;
  readonly #onGone: () => void;
  readonly #sets: Record<NameKind, Set<string>> = { channel: new Set(), pattern: new Set() };
  /** Calls waiting for the next `subscribed`. */
  readonly #waiting = new Set<Waiter>();
  readonly #messages = new Subject<RespMessage>();
  readonly #status = new Subject<SubscriberEvent>();
  readonly #deliver = (m: RespMessage): void => this.#messages.next(m);
  #current: Incarnation | undefined;
  #state: SubscriberState = 'connecting';

  /** `name` is the supervisor's path (for messages); `onGone` closes the subscriber. */
  constructor(name: string, scheduler: SchedulerLike, onGone: () => void) {
    this.#name = name;
    this.#scheduler = scheduler;
    this.#onGone = onGone;
    this.messages$ = this.#messages.asObservable();
    this.status$ = this.#status.asObservable();
  }

  get state(): SubscriberState {
    return this.#state;
  }

  names(kind: NameKind): ReadonlySet<string> {
    return new Set(this.#sets[kind]);
  }

  /** `SUBSCRIBE` / `PSUBSCRIBE`: resolves once the names are subscribed on a connection. */
  add(kind: NameKind, names: readonly string[]): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(this.#closedError());
    const set = this.#sets[kind];
    const added = [...new Set(names)].filter((n) => !set.has(n));
    for (const n of added) set.add(n);
    return new Promise<void>((resolve, reject) => this.#issue({ kind, names, added, resolve, reject }));
  }

  /** `UNSUBSCRIBE` / `PUNSUBSCRIBE` (every name of the kind when `names` is empty). */
  async remove(kind: NameKind, names: readonly string[]): Promise<void> {
    if (this.#state === 'closed') throw this.#closedError();
    const set = this.#sets[kind];
    const gone = names.length === 0 ? [...set] : names;
    for (const n of gone) set.delete(n);
    const live = this.#current;
    // Not connected: the next connection simply does not subscribe them.
    if (live === undefined || gone.length === 0) return;
    try {
      await remove(live.session, kind, gone);
    } catch (err) {
      // The connection died: nothing is left to undo remotely.
      if (refused(err)) throw err;
    }
  }

  /** No more events, calls or messages; waiting calls reject. Nothing remote is undone. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#current?.stopMessages();
    this.#current = undefined;
    const error = this.#closedError();
    for (const w of this.#waiting) w.reject(error);
    this.#waiting.clear();
  }

  /** Completes `messages$` and `status$` (after the connection is gone). */
  complete(): void {
    this.#messages.complete();
    this.#status.complete();
  }

  // ── incarnations (called inside actor notifications: nothing may throw out) ──

  ready(ref: AnyActorRef): void {
    if (this.#state === 'closed') return;
    const session = liveConnection<PubSubSession>(ref)?.session;
    if (session === undefined) {
      // Not a connection actor with a session: it would stay ready and subscribe nothing.
      ref.send({ type: 'KILL', reason: 'protocol-error', error: new ProtocolError(`${this.#name}: a ready connection without a session`) });
      return;
    }
    const inc: Incarnation = { ref, session, stopMessages: session.onMessage(this.#deliver) };
    this.#current = inc;
    const channels = [...this.#sets.channel];
    const patterns = [...this.#sets.pattern];
    const batch = [...this.#waiting];
    Promise.all([
      channels.length > 0 ? session.subscribe(channels) : undefined,
      patterns.length > 0 ? session.psubscribe(patterns) : undefined,
    ]).then(
      () => this.#subscribed(inc, batch, channels, patterns),
      (err: unknown) => this.#resubscribeFailed(inc, batch, channels, patterns, err),
    );
  }

  ended(reason: string, error: unknown, wasReady: boolean): void {
    const inc = this.#current;
    if (inc !== undefined) {
      this.#current = undefined;
      inc.stopMessages();
    }
    if (this.#state === 'closed') return;
    if (!wasReady) return this.#emit({ type: 'dial-failed', at: this.#scheduler.now(), reason, ...(error === undefined ? {} : { error }) });
    if (this.#state === 'subscribed') this.#state = 'reconnecting';
    this.#emit({ type: 'gap', at: this.#scheduler.now(), reason, ...(error === undefined ? {} : { error }) });
  }

  gone(): void {
    this.#onGone();
  }

  // ── internals ──

  /** Sends a call on the live connection, or queues it for the next one. */
  #issue(w: Waiter): void {
    const live = this.#current;
    if (live === undefined) {
      this.#waiting.add(w);
      return;
    }
    add(live.session, w.kind, w.names).then(w.resolve, (err: unknown) => {
      if (this.#state === 'closed') w.reject(this.#closedError());
      else if (refused(err)) this.#refuse(w, err);
      // The connection died under the call; a newer one may already be live.
      else if (this.#current !== live) this.#issue(w);
      else this.#waiting.add(w);
    });
  }

  #subscribed(inc: Incarnation, batch: readonly Waiter[], channels: string[], patterns: string[]): void {
    if (this.#current !== inc) return; // it died meanwhile: its gap was reported
    this.#state = 'subscribed';
    this.#emit({ type: 'subscribed', at: this.#scheduler.now(), channels, patterns });
    for (const w of batch) if (this.#waiting.delete(w)) w.resolve();
  }

  #resubscribeFailed(inc: Incarnation, batch: readonly Waiter[], channels: string[], patterns: string[], err: unknown): void {
    // A connection that died under the resubscription reports its own gap; the calls keep waiting.
    if (this.#current !== inc || !refused(err)) return;
    this.#emit({ type: 'subscribe-failed', at: this.#scheduler.now(), channels, patterns, error: err });
    for (const w of batch) if (this.#waiting.delete(w)) this.#refuse(w, err);
    const error = err instanceof WirewardenError
      ? err
      : new ProtocolError(`resubscription on ${this.#name} refused`, { cause: err });
    inc.ref.send({ type: 'KILL', reason: 'protocol-error', error });
  }

  #refuse(w: Waiter, err: unknown): void {
    const set = this.#sets[w.kind];
    for (const n of w.added) set.delete(n);
    w.reject(err);
  }

  #emit(event: SubscriberEvent): void {
    this.#status.next(event);
  }

  #closedError(): ConnectionClosedError {
    return new ConnectionClosedError(`subscriber ${this.#name} is closed`);
  }
}
