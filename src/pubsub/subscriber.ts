/**
 * `Subscriber`: what `rt.createSubscriber()` returns. A thin facade over the
 * subscription core (subscription-core.ts) whose one Redis connection is a child of
 * the subscriber's own supervisor (create-subscriber.ts): the facade checks the names
 * (async methods reject, never throw) and owns the close sequence.
 *
 * Closing order: the core first (no more events; waiting calls reject), then the
 * supervisor is removed from the runtime's root (the connection closes gracefully; no
 * `UNSUBSCRIBE` is sent, closing the connection ends the subscription), then
 * `messages$` and `status$` complete. A closed subscriber leaves no actor, socket,
 * timer or subscription behind. `rt.shutdown()` closes it before the tree stops.
 */
import type { Observable } from 'rxjs';
import { InvalidOptionError } from '../errors.js';
import { describeValue } from '../options.js';
import type { RespMessage } from '../transport/resp-session.js';
import type { SubscriberEvent, SubscriberState } from './subscriber-events.js';
import type { NameKind, SubscriptionCore } from './subscription-core.js';

/** @internal What create-subscriber.ts hands the facade. */
export interface SubscriberParts {
  readonly id: string;
  readonly path: string;
  readonly core: SubscriptionCore;
  /** Runs once the core is closed: stop watching, remove the supervisor, unregister. */
  readonly teardown: () => Promise<void>;
}

/**
 * A Redis pub/sub subscription that survives reconnects: the set of channels and
 * patterns is subscribed again on every new connection (docs/pubsub.md).
 *
 * @example
 * const sub = rt.createSubscriber({ endpoint: { host: '127.0.0.1', port: 6379 }, protocol: resp({ password }) });
 * sub.messages$.subscribe(({ channel, message, pattern }) => console.log(channel, message, pattern));
 * sub.status$.subscribe((e) => { if (e.type === 'gap') console.warn('messages may be lost until the next subscribed'); });
 * await sub.subscribe('news', 'alerts');
 * await sub.psubscribe('user:*');
 * await sub.close();
 */
export class Subscriber implements AsyncDisposable {
  /** The subscriber's supervisor id under the runtime's root. */
  readonly id: string;
  /** `root/<id>`: its connection is `root/<id>/conn` in `rt.events$`. */
  readonly path: string;
  /**
   * Every message of every subscribed channel and pattern (`pattern` set for pattern
   * matches). Hot and multicast: a listener sees the messages that arrive while it
   * listens. Completes on `close()`.
   */
  readonly messages$: Observable<RespMessage>;
  /** `subscribed`, `gap`, `dial-failed`, `subscribe-failed` (subscriber-events.ts). Hot; completes on `close()`. */
  readonly status$: Observable<SubscriberEvent>;
  readonly #core: SubscriptionCore;
  readonly #teardown: () => Promise<void>;
  #closing: Promise<void> | undefined;

  /** @internal Subscribers are made by `rt.createSubscriber()`. */
  constructor(parts: SubscriberParts) {
    this.id = parts.id;
    this.path = parts.path;
    this.#core = parts.core;
    this.#teardown = parts.teardown;
    this.messages$ = parts.core.messages$;
    this.status$ = parts.core.status$;
  }

  get state(): SubscriberState {
    return this.#core.state;
  }

  /** The channels subscribed on every connection (a copy). */
  get channels(): ReadonlySet<string> {
    return this.#core.names('channel');
  }

  /** The patterns subscribed on every connection (a copy). */
  get patterns(): ReadonlySet<string> {
    return this.#core.names('pattern');
  }

  /**
   * Adds channels to the set. Resolves once they are subscribed on the current
   * connection (or, while there is none, on the next one). Rejects with `RemoteError`
   * when Redis refuses them (they are not kept), `ConnectionClosedError` once closed.
   */
  subscribe(...channels: string[]): Promise<void> {
    return this.#call('subscribe', 'channel', channels, false);
  }

  /** `subscribe` for glob-style patterns (`PSUBSCRIBE`). */
  psubscribe(...patterns: string[]): Promise<void> {
    return this.#call('psubscribe', 'pattern', patterns, false);
  }

  /** Removes channels from the set (all of them when called without names). */
  unsubscribe(...channels: string[]): Promise<void> {
    return this.#call('unsubscribe', 'channel', channels, true);
  }

  /** Removes patterns from the set (all of them when called without names). */
  punsubscribe(...patterns: string[]): Promise<void> {
    return this.#call('punsubscribe', 'pattern', patterns, true);
  }

  /** Closes the connection and completes both observables; unsubscribes nothing remotely. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    this.#core.close();
    try {
      await this.#teardown();
    } finally {
      this.#core.complete();
    }
  }

  #call(method: string, kind: NameKind, names: string[], mayBeEmpty: boolean): Promise<void> {
    if (names.length === 0 && !mayBeEmpty) {
      return Promise.reject(new InvalidOptionError(`subscriber.${method}() needs at least one ${kind} name`));
    }
    const bad = names.findIndex((n) => typeof n !== 'string' || n.length === 0);
    if (bad >= 0) {
      return Promise.reject(new InvalidOptionError(
        `subscriber.${method}() ${kind} names must be non-empty strings, got ${describeValue(names[bad])} at position ${bad}`,
      ));
    }
    return mayBeEmpty ? this.#core.remove(kind, names) : this.#core.add(kind, names);
  }
}
