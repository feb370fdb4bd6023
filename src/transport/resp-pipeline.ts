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
 *   at most ~1/10 of the timeout); a call with its own `timeoutMs` gets a precise one.
 *   An idle pipeline holds no timer.
 * - Messages name a command by its first word only: arguments may hold secrets or data.
 */
import { addAbortListener } from 'node:events';
import type { SchedulerLike, Subscription } from 'rxjs';
import {
  AbortedError, ConnectionClosedError, InvalidOptionError, ProtocolError, RequestTimeoutError, type RemoteError,
} from '../errors.js';
import { FifoDeadlines } from './fifo-deadlines.js';
import type { RespArg } from './resp-encoder.js';
import { RespFifo } from './resp-fifo.js';
import type { HandshakeStep } from './resp-handshake.js';
import type { RespReply } from './resp-parser.js';

interface Pending {
  /** The command's first argument (or its handshake step), named in messages. */
  readonly first: RespArg | HandshakeStep;
  readonly resolve: (value: RespReply) => void;
  readonly reject: (err: Error) => void;
  /** Settled before its reply (aborted, timed out): the reply is dropped when it comes. */
  done: boolean;
  timer?: Subscription;
  abort?: Disposable;
}

/** @internal The reply matcher of one `RespSession`. */
export class RespPipeline {
  readonly #fifo = new RespFifo<Pending>();
  readonly #scheduler: SchedulerLike;
  readonly #where: string;
  readonly #requestTimeoutMs: number;
  readonly #onTimeout: (error: RequestTimeoutError) => void;
  #deadlines: FifoDeadlines<Pending> | undefined;

  /** `requestTimeoutMs` 0 disables the default timeout; `onTimeout` must destroy the connection. */
  constructor(scheduler: SchedulerLike, where: string, requestTimeoutMs: number, onTimeout: (error: RequestTimeoutError) => void) {
    this.#scheduler = scheduler;
    this.#where = where;
    this.#requestTimeoutMs = requestTimeoutMs;
    this.#onTimeout = onTimeout;
  }

  /** Commands waiting for a reply, abandoned ones included (their replies are still due). */
  get size(): number {
    return this.#fifo.size;
  }

  /** Registers a command that was just written; resolves or rejects with its reply. */
  expect(first: RespArg | HandshakeStep, timeoutMs: number | undefined, signal: AbortSignal | undefined): Promise<RespReply> {
    return new Promise<RespReply>((resolve, reject) => {
      const p: Pending = { first, resolve, reject, done: false };
      this.#fifo.push(p);
      if (timeoutMs !== undefined) p.timer = this.#scheduler.schedule(() => this.#timedOut(p, timeoutMs), timeoutMs);
      else if (this.#requestTimeoutMs > 0) this.#defaultDeadlines().add(p);
      if (signal) {
        p.abort = addAbortListener(signal, () => {
          if (p.done) return;
          p.done = true;
          p.reject(new AbortedError(`${commandName(first)} to ${this.#where} aborted`, { cause: signal.reason }));
        });
      }
    });
  }

  /** Hands a reply to the oldest waiting command. Throws `ProtocolError` when none waits. */
  settle(value: RespReply, isError: boolean): void {
    const p = this.#fifo.shift();
    if (p === undefined) throw new ProtocolError(`${this.#where} sent a reply while no command was waiting`);
    p.timer?.unsubscribe();
    this.#deadlines?.delete(p);
    if (p.done) return;
    p.done = true;
    p.abort?.[Symbol.dispose]();
    if (isError) p.reject(value as RemoteError);
    else p.resolve(value);
  }

  /** The connection closed: every waiting command rejects with `ConnectionClosedError`; timers go. */
  failAll(cause: Error | undefined): void {
    this.#deadlines?.clear();
    const waiting = this.#fifo.drain();
    for (const p of waiting) {
      p.timer?.unsubscribe();
      if (p.done) continue;
      p.done = true;
      p.abort?.[Symbol.dispose]();
      p.reject(new ConnectionClosedError(
        `connection to ${this.#where} closed with ${waiting.length} commands in flight (${commandName(p.first)} unanswered)`,
        { cause },
      ));
    }
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
  return new InvalidOptionError(
    `command[0] must not be ${name.toUpperCase()}: its replies do not follow command order, so it cannot share a pipelined connection`,
  );
}

/** A command's name for a message: its first word when it looks like one, never a value. */
export function commandName(first: unknown): string {
  if (typeof first === 'object' && first !== null && !(first instanceof Uint8Array)) return (first as HandshakeStep).label;
  const text = typeof first === 'string' ? first : first instanceof Uint8Array && first.length <= 32 ? Buffer.from(first).toString('latin1') : '';
  return /^[A-Za-z][\w.|:-]{0,31}$/.test(text) ? text.toUpperCase() : 'command';
}
