/**
 * Matches the replies of one RESP connection to the commands waiting for them. RESP has
 * no request ids: the n-th reply answers the n-th command still waiting.
 *
 *   expect(cmd) ──▶ [ oldest … newest ] ──settle(reply)──▶ oldest resolves / rejects
 *                      │ signal aborts: rejected now, slot kept, its reply dropped later
 *                      └ deadline passes: rejected, and the owner destroys the connection
 *
 * Trade-offs:
 * - A caller that gives up (its signal aborted, a cancelled probe) keeps its slot: the
 *   reply still comes, and dropping it is what keeps the next reply with the next caller.
 * - An expired deadline cannot be handled that way (the reply may never come, and every
 *   command behind it would wait), so `onTimeout` tells the owner to destroy the
 *   connection; the other commands then fail with `ConnectionClosedError` through `failAll`.
 * - Calls on the default timeout share one coarse timer (`FifoDeadlines`: expiry late by
 *   at most ~1/10 of the timeout); a call with its own `timeoutMs` (or a blocking
 *   command's deadline) gets a precise one; a deadline of 0 means none. An idle pipeline
 *   holds no timer.
 * - Probes and handshake steps are `internal`: they keep their place in the order, but
 *   only the user's commands count in `userInFlight` (what `busy` reports) and in the
 *   "closed with N commands in flight" message.
 * - A pub/sub call (SUBSCRIBE a b) is one entry answered by one confirmation per name:
 *   `confirm` counts them down; an error reply settles it at once, like any command.
 * - Messages name a command by its first word only: arguments may hold secrets or data.
 */
import { addAbortListener } from 'node:events';
import type { SchedulerLike, Subscription } from 'rxjs';
import {
  AbortedError, ConnectionClosedError, InvalidOptionError, ProtocolError, RequestTimeoutError, type RemoteError,
} from '../errors.js';
import { MAX_DURATION_MS } from '../options.js';
import { FifoDeadlines } from './fifo-deadlines.js';
import type { RespArg } from './resp-encoder.js';
import { NOT_BLOCKING } from './resp-blocking.js';
import { RespFifo } from './resp-fifo.js';
import type { HandshakeStep } from './resp-handshake.js';
import type { RespReply } from './resp-parser.js';
import { wordIs } from './resp-words.js';

interface Pending {
  /** The command's first argument (or its handshake step), named in messages. */
  readonly first: RespArg | HandshakeStep;
  readonly resolve: (value: RespReply) => void;
  readonly reject: (err: Error) => void;
  /** A probe or a handshake step: not counted as the user's. */
  readonly internal: boolean;
  /** Pub/sub confirmations still due; 0 for a command answered by one reply. */
  left: number;
  /** Settled before its reply (aborted, timed out): the reply is dropped when it comes. */
  done: boolean;
  /** A blocking command (BLPOP…): every reply behind it waits for it. */
  blocks: boolean;
  timer?: Subscription;
  abort?: Disposable;
}

/** A default deadline for a command that may wait forever (behind `BLPOP k 0`): none at all. */
const NO_DEADLINE = 0;

/** @internal The reply matcher of one `RespSession`. */
export class RespPipeline {
  readonly #fifo = new RespFifo<Pending>();
  readonly #scheduler: SchedulerLike;
  readonly #where: string;
  readonly #requestTimeoutMs: number;
  readonly #onTimeout: (error: RequestTimeoutError) => void;
  #deadlines: FifoDeadlines<Pending> | undefined;
  #userInFlight = 0;
  /** Blocking commands waiting, and the scheduler time the longest of them may block until. */
  #blockers = 0;
  #heldUntil = 0;

  /** `requestTimeoutMs` 0 disables the default timeout; `onTimeout` must destroy the connection. */
  constructor(scheduler: SchedulerLike, where: string, requestTimeoutMs: number, onTimeout: (error: RequestTimeoutError) => void) {
    this.#scheduler = scheduler;
    this.#where = where;
    this.#requestTimeoutMs = requestTimeoutMs;
    this.#onTimeout = onTimeout;
  }

  /** Everything waiting for a reply, probes and abandoned commands included. */
  get size(): number {
    return this.#fifo.size;
  }

  /** The user's commands waiting for a reply (abandoned ones included: their replies are still due). */
  get userInFlight(): number {
    return this.#userInFlight;
  }

  /** True when the oldest entry is a pub/sub call still waiting for confirmations. */
  get awaitsConfirmation(): boolean {
    const head = this.#fifo.peek();
    return head !== undefined && head.left > 0;
  }

  /**
   * Registers a command that was just written; resolves or rejects with its reply.
   * `timeoutMs`: the caller's own deadline, or `undefined` for the default. `internal`: a
   * probe or handshake step. `blockMs`: how long a blocking command may block (0 =
   * forever; `NOT_BLOCKING` for every other command).
   */
  expect(
    first: RespArg | HandshakeStep, timeoutMs: number | undefined, signal: AbortSignal | undefined, internal = false,
    blockMs = NOT_BLOCKING,
  ): Promise<RespReply> {
    return new Promise<RespReply>((resolve, reject) => {
      const p: Pending = { first, resolve, reject, internal, left: 0, done: false, blocks: false };
      this.#register(p, timeoutMs, blockMs);
      if (signal) {
        p.abort = addAbortListener(signal, () => {
          if (p.done) return;
          p.done = true;
          p.reject(new AbortedError(`${commandName(first)} to ${this.#where} aborted`, { cause: signal.reason }));
        });
      }
    });
  }

  /** Registers a pub/sub call just written (`name` upper case): resolves after `count` confirmations. */
  expectConfirmations(name: string, count: number): Promise<RespReply> {
    return new Promise<RespReply>((resolve, reject) => {
      this.#register({ first: name, resolve, reject, internal: false, left: count, done: false, blocks: false }, undefined, NOT_BLOCKING);
    });
  }

  /** Hands a reply to the oldest waiting command. Throws `ProtocolError` when none waits. */
  settle(value: RespReply, isError: boolean): void {
    const p = this.#fifo.peek();
    if (p === undefined) throw new ProtocolError(`${this.#where} sent a reply while no command was waiting`);
    if (p.left > 0 && !isError) {
      throw new ProtocolError(`${this.#where} answered ${commandName(p.first)} with a reply that is not its confirmation`);
    }
    this.#fifo.shift();
    this.#answered(p);
    if (p.done) return;
    p.done = true;
    p.abort?.[Symbol.dispose]();
    if (isError) p.reject(value as RemoteError);
    else p.resolve(value);
  }

  /**
   * A pub/sub confirmation (`['subscribe', name, count]`…): counts down the oldest call,
   * which resolves with the last one. Throws `ProtocolError` when it does not match.
   */
  confirm(kind: unknown, reply: RespReply): void {
    const p = this.#fifo.peek();
    if (p === undefined || p.left === 0 || !wordIs(kind, p.first as string)) {
      throw new ProtocolError(`${this.#where} sent a ${commandName(kind)} confirmation while no such call was waiting`);
    }
    if (--p.left > 0) return;
    this.#fifo.shift();
    this.#answered(p);
    p.done = true;
    p.resolve(reply);
  }

  /** The connection closed: every waiting command rejects with `ConnectionClosedError`; timers go. */
  failAll(cause: Error | undefined): void {
    this.#deadlines?.clear();
    const users = this.#userInFlight;
    this.#userInFlight = 0;
    this.#blockers = 0;
    this.#heldUntil = 0;
    const counted = `${users} command${users === 1 ? '' : 's'} in flight`;
    for (const p of this.#fifo.drain()) {
      p.timer?.unsubscribe();
      if (p.done) continue;
      p.done = true;
      p.abort?.[Symbol.dispose]();
      const name = commandName(p.first);
      p.reject(new ConnectionClosedError(
        p.internal
          ? `connection to ${this.#where} closed before ${name} was answered`
          : `connection to ${this.#where} closed with ${counted} (${name} unanswered)`,
        { cause },
      ));
    }
  }

  #register(p: Pending, timeoutMs: number | undefined, blockMs: number): void {
    this.#fifo.push(p);
    if (!p.internal) this.#userInFlight++;
    const ms = timeoutMs ?? this.#defaultTimeoutMs(blockMs);
    if (blockMs !== NOT_BLOCKING) this.#holdBehind(p, blockMs);
    if (ms === undefined) {
      if (this.#requestTimeoutMs > 0) this.#defaultDeadlines().add(p);
    } else if (ms !== NO_DEADLINE) {
      p.timer = this.#scheduler.schedule(() => this.#timedOut(p, ms), ms);
    }
  }

  /**
   * The default deadline when a block is involved: replies come in order, so a command's
   * reply waits for its own block and for the longest block of a command ahead of it; it
   * gets that long + `requestTimeoutMs` (`NO_DEADLINE` when one blocks forever, or longer
   * than a timer can wait: `BLPOP k 3000000` blocks 35 days, and a deadline past
   * `MAX_DURATION_MS` would fire at once). `undefined` — the shared default — for the
   * common case, with no clock read.
   */
  #defaultTimeoutMs(blockMs: number): number | undefined {
    if (this.#requestTimeoutMs === 0 || (blockMs === NOT_BLOCKING && this.#blockers === 0)) return undefined;
    const now = this.#scheduler.now();
    let until = blockMs === NOT_BLOCKING ? 0 : blockMs === 0 ? Number.POSITIVE_INFINITY : now + blockMs;
    if (this.#blockers > 0 && this.#heldUntil > until) until = this.#heldUntil;
    const ms = until === Number.POSITIVE_INFINITY ? NO_DEADLINE : Math.ceil(until - now) + this.#requestTimeoutMs;
    return ms > MAX_DURATION_MS ? NO_DEADLINE : ms;
  }

  /** `p` blocks: the replies registered behind it wait until its block ends. */
  #holdBehind(p: Pending, blockMs: number): void {
    p.blocks = true;
    this.#blockers++;
    const until = blockMs === 0 ? Number.POSITIVE_INFINITY : this.#scheduler.now() + blockMs;
    if (until > this.#heldUntil) this.#heldUntil = until;
  }

  /** `p` left the FIFO with its reply: its deadline and its count go. */
  #answered(p: Pending): void {
    if (!p.internal) this.#userInFlight--;
    if (p.blocks && --this.#blockers === 0) this.#heldUntil = 0;
    p.timer?.unsubscribe();
    this.#deadlines?.delete(p);
  }

  #defaultDeadlines(): FifoDeadlines<Pending> {
    const ms = this.#requestTimeoutMs;
    return (this.#deadlines ??= new FifoDeadlines(this.#scheduler, ms, (p) => this.#timedOut(p, ms)));
  }

  #timedOut(p: Pending, timeoutMs: number): void {
    p.timer = undefined;
    const err = new RequestTimeoutError(
      `${commandName(p.first)} to ${this.#where} got no reply within ${timeoutMs} ms; ` +
        'the connection is closed because RESP matches replies by order and cannot skip one',
    );
    if (!p.done) {
      p.done = true;
      p.abort?.[Symbol.dispose]();
      p.reject(err);
    }
    this.#onTimeout(err);
  }
}

/** Commands whose replies do not follow command order (RESP3 answers SUBSCRIBE with pushes only). */
const UNORDERED = new Set(['SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE', 'UNSUBSCRIBE', 'PUNSUBSCRIBE', 'SUNSUBSCRIBE', 'MONITOR']);

/**
 * The error for a command that cannot enter a pipeline (pub/sub, MONITOR): one of them
 * would desynchronise every later reply. `undefined` for every other command; the length
 * test keeps the common case to two comparisons.
 */
export function unorderedRefusal(first: unknown): InvalidOptionError | undefined {
  let name: string | undefined;
  if (typeof first === 'string') name = first;
  else if (first instanceof Uint8Array && first.length <= 12) name = Buffer.from(first).toString('latin1');
  if (name === undefined || name.length < 7 || name.length > 12 || !UNORDERED.has(name.toUpperCase())) return undefined;
  const upper = name.toUpperCase();
  const method = SESSION_METHODS.get(upper);
  return new InvalidOptionError(
    `command[0] must not be ${upper}: its replies do not follow command order, so it cannot share a pipelined connection` +
      (method === undefined ? '' : `; use session.${method}()`),
  );
}

/** The session methods that do what a refused pub/sub command would. */
const SESSION_METHODS = new Map([
  ['SUBSCRIBE', 'subscribe'], ['PSUBSCRIBE', 'psubscribe'], ['UNSUBSCRIBE', 'unsubscribe'], ['PUNSUBSCRIBE', 'punsubscribe'],
]);

/** A command's name for a message: its first word when it looks like one, never a value. */
export function commandName(first: unknown): string {
  if (typeof first === 'object' && first !== null && !(first instanceof Uint8Array)) return (first as HandshakeStep).label;
  const text = typeof first === 'string' ? first : first instanceof Uint8Array && first.length <= 32 ? Buffer.from(first).toString('latin1') : '';
  return /^[A-Za-z][\w.|:-]{0,31}$/.test(text) ? text.toUpperCase() : 'command';
}
