/**
 * What `subscriber.status$` says about the subscription, and the subscriber's state.
 *
 *   connecting ──subscribed──▶ subscribed ──gap──▶ reconnecting ──subscribed──▶ subscribed …
 *        │                         ▲                    │ dial-failed (each failed attempt)
 *        │                         └── subscribe-failed ┘ (then a gap: the connection is retried)
 *        └──────────── close() from any state ──────────▶ closed
 *
 * Events are plain data: channel and pattern names, reasons, wirewarden errors (their
 * messages are redacted by the protocol: no password, no command argument). `at` is the
 * runtime scheduler's time in ms.
 */

/** `'connecting'` until the first `subscribed`; `'reconnecting'` between a `gap` and the next. */
export type SubscriberState = 'connecting' | 'subscribed' | 'reconnecting' | 'closed';

/**
 * A new connection is ready and carries the whole subscription set: every message
 * published from now on is delivered (until the next `gap`).
 */
export interface SubscriberSubscribedEvent {
  readonly type: 'subscribed';
  readonly at: number;
  /** The channels subscribed on this connection (one `SUBSCRIBE`). */
  readonly channels: readonly string[];
  /** The patterns subscribed on this connection (one `PSUBSCRIBE`). */
  readonly patterns: readonly string[];
}

/**
 * The connection carrying the subscription died (`reason`: the connection actor's dead
 * reason, e.g. `peer-closed`, `heartbeat-timeout`, `socket-error`). Messages published
 * between `at` and the next `subscribed` may be lost: Redis pub/sub is at-most-once and
 * keeps nothing for a subscriber that is not connected.
 */
export interface SubscriberGapEvent {
  readonly type: 'gap';
  readonly at: number;
  readonly reason: string;
  readonly error?: unknown;
}

/**
 * A connection attempt ended before the connection was ready (refused, timed out,
 * handshake failed — bad credentials included). The supervisor retries with backoff.
 */
export interface SubscriberDialFailedEvent {
  readonly type: 'dial-failed';
  readonly at: number;
  readonly reason: string;
  readonly error?: unknown;
}

/**
 * Redis refused to (re)subscribe the set on a live connection (`NOPERM` after an ACL
 * change…). Calls of `subscribe()`/`psubscribe()` still waiting for that connection are
 * rejected with `error` and their new names dropped; the connection is then killed and
 * retried with backoff for the names confirmed before (docs/pubsub.md).
 */
export interface SubscriberSubscribeFailedEvent {
  readonly type: 'subscribe-failed';
  readonly at: number;
  /** What was asked on that connection. */
  readonly channels: readonly string[];
  readonly patterns: readonly string[];
  readonly error: unknown;
}

export type SubscriberEvent =
  | SubscriberSubscribedEvent
  | SubscriberGapEvent
  | SubscriberDialFailedEvent
  | SubscriberSubscribeFailedEvent;
