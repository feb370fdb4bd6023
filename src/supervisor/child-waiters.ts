/**
 * Promises that outside callers hold on a supervisor: "tell me when child X is `ready`"
 * and "tell me when my terminate/restart request is done". Both are settled from inside
 * the actor; both are rejected, never left pending, when the supervisor ends.
 */
import { addAbortListener } from 'node:events';
import { abortedError } from '../errors.js';

interface StateWaiter {
  readonly test: (state: string) => boolean;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/** `whenChildState` waiters, by child id. */
export class ChildStateWaiters {
  readonly #byId = new Map<string, Set<StateWaiter>>();

  /** Waits until `notify(id, state)` sees a state that passes `test`. */
  wait(id: string, test: (state: string) => boolean, signal: AbortSignal | undefined, what: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(abortedError(signal, what));
      let set = this.#byId.get(id);
      if (!set) this.#byId.set(id, (set = new Set()));
      const waiters = set;
      let disposeAbort: Disposable | undefined;
      const settle = (fn: () => void) => {
        waiters.delete(waiter);
        if (waiters.size === 0 && this.#byId.get(id) === waiters) this.#byId.delete(id);
        disposeAbort?.[Symbol.dispose]();
        fn();
      };
      const waiter: StateWaiter = { test, resolve: () => settle(resolve), reject: (err) => settle(() => reject(err)) };
      waiters.add(waiter);
      if (signal) disposeAbort = addAbortListener(signal, () => waiter.reject(abortedError(signal, what)));
    });
  }

  notify(id: string, state: string): void {
    const waiters = this.#byId.get(id);
    if (waiters) for (const w of [...waiters]) if (w.test(state)) w.resolve();
  }

  rejectId(id: string, err: unknown): void {
    const waiters = this.#byId.get(id);
    if (waiters) for (const w of [...waiters]) w.reject(err);
  }

  rejectAll(err: unknown): void {
    for (const set of [...this.#byId.values()]) for (const w of [...set]) w.reject(err);
    this.#byId.clear();
  }
}

export interface PendingRequest {
  resolve(): void;
  reject(err: unknown): void;
}

/** Terminate/restart requests in flight: the event carries the id, the promise stays here. */
export class RequestTable {
  readonly #pending = new Map<number, PendingRequest>();
  #next = 0;

  create(): { requestId: number; promise: Promise<void> } {
    const requestId = ++this.#next;
    const promise = new Promise<void>((resolve, reject) => this.#pending.set(requestId, { resolve, reject }));
    return { requestId, promise };
  }

  take(requestId: number): PendingRequest | undefined {
    const r = this.#pending.get(requestId);
    this.#pending.delete(requestId);
    return r;
  }

  rejectAll(err: unknown): void {
    for (const r of this.#pending.values()) r.reject(err);
    this.#pending.clear();
  }
}
