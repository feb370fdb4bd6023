/**
 * Bounds a validation probe or a reset in time: the core requires both to settle, and
 * a protocol may ignore its signal or have no timeout of its own (a `reset()` takes no
 * signal at all). The promise rejects with `WW_REQUEST_TIMEOUT` after `timeoutMs` on the
 * pool's scheduler, or with `WW_ABORTED` when `outer` fires (the pool closing), and the
 * signal handed to the check aborts either way so a well-behaved protocol stops too.
 *
 * One AbortController, one scheduler action and one listener per check: these run on
 * slow paths only (validation after `validateAfterIdleMs`, `resetOnRelease`), never on
 * the lease fast path. `events.addAbortListener` instead of `AbortSignal.any`, which
 * leaks on Node 20 when one input (the pool's) is long-lived.
 */
import { addAbortListener } from 'node:events';
import type { SchedulerLike } from 'rxjs';
import { abortedError, RequestTimeoutError } from '../errors.js';

/**
 * Runs `check` with a signal and settles within `timeoutMs`.
 *
 * @example
 * await boundedCheck(scheduler, 5000, 'validation of conn-3', (signal) => protocol.probe(session, signal), poolSignal);
 */
export function boundedCheck(
  scheduler: SchedulerLike,
  timeoutMs: number,
  what: string,
  check: (signal: AbortSignal) => Promise<unknown> | undefined,
  outer?: AbortSignal,
): Promise<void> {
  if (outer?.aborted) return Promise.reject(abortedError(outer, what));
  const ac = new AbortController();
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const settle = (ok: boolean, error?: unknown): void => {
      if (settled) return;
      settled = true;
      timer.unsubscribe();
      off?.[Symbol.dispose]();
      if (ok) resolve();
      else {
        if (!ac.signal.aborted) ac.abort(error);
        reject(error);
      }
    };
    const timer = scheduler.schedule(
      () => settle(false, new RequestTimeoutError(`${what} got no answer within ${timeoutMs} ms (validationTimeoutMs)`)),
      timeoutMs,
    );
    const off = outer === undefined ? undefined : addAbortListener(outer, () => settle(false, abortedError(outer, what)));
    let running: Promise<unknown> | undefined;
    try {
      running = check(ac.signal);
    } catch (err) {
      settle(false, err);
      return;
    }
    Promise.resolve(running).then(
      () => settle(true),
      (err: unknown) => settle(false, err),
    );
  });
}
