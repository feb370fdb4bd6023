/**
 * Per-call acquire options. Checked by hand rather than with the schema validator:
 * this runs on every acquire that passes options, and building a frozen copy per call
 * would cost more than the acquire itself. The rules and messages are the schema's:
 * unknown keys are refused, nothing is coerced.
 */
import { InvalidOptionError } from '../errors.js';
import { describeValue, invalidDuration, isDurationMs } from '../options.js';

/** Per-call options of `acquire`, `use`, `dispatch`, `command` and `request`. */
export interface AcquireOptions {
  /** Aborting removes the waiter at once (`WW_ABORTED`); no effect once granted. */
  readonly signal?: AbortSignal;
  /** Overrides the pool's `acquireTimeoutMs` for this call: how long it may wait for a connection (or room on one). */
  readonly timeoutMs?: number;
}

/** `dispatch` takes the same options as `acquire`: `timeoutMs` bounds the wait for room on a connection. */
export type DispatchOptions = AcquireOptions;

/** Returns the error to reject with, or undefined when the options are valid. `what` names the call. */
export function checkAcquireOptions(options: unknown, what = 'acquire'): InvalidOptionError | undefined {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    return new InvalidOptionError(`${what} options must be an object, got ${describeValue(options)}`);
  }
  for (const key in options) {
    if (key !== 'signal' && key !== 'timeoutMs') {
      return new InvalidOptionError(`${what}.${key} is not a known option (known: signal, timeoutMs)`);
    }
  }
  const { signal, timeoutMs } = options as AcquireOptions;
  if (timeoutMs !== undefined && !isDurationMs(timeoutMs, 1)) return invalidDuration(`${what}.timeoutMs`, timeoutMs, 1);
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    return new InvalidOptionError(`${what}.signal must be an AbortSignal, got ${describeValue(signal)}`);
  }
  return undefined;
}
