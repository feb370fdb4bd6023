/**
 * How a session calls its users' listeners (`onPush`, `onMessage`, `onClose`, for `wire()`
 * and `resp()` alike): each one in turn, and a listener that throws becomes a process
 * warning of the given type. The listeners run on the socket's data path, where a throw
 * would kill the connection for every other caller. Whatever a listener throws (a Proxy,
 * a null-prototype object) is described without trusting it (wire-server-failure.ts).
 *
 * Trade-off: `callListeners` iterates the live Set, without a snapshot (it runs per push
 * and per pub/sub message, where a copy would be an allocation each time). Set iteration
 * then decides: a listener removed by an earlier one in the same call is not called, and
 * one added during the call is called with this value too.
 */
import { warnFailure } from './wire-server-failure.js';

/** Adds `listener` to `listeners`; returns the function that removes it. */
export function addListener<T>(listeners: Set<(value: T) => void>, listener: (value: T) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Calls every listener with `value` (the live Set: see the header); a throw is reported as a process warning named `warningType`. */
export function callListeners<T>(listeners: ReadonlySet<(value: T) => void>, value: T, warningType: string): void {
  for (const listener of listeners) callListener(listener, value, warningType);
}

/**
 * For a listener added after its one-time event happened (`onClose` on a closed
 * session): calls it with `value` on a microtask, as it would have been called, never
 * synchronously inside the `onClose` call. Returns the function that cancels that call.
 */
export function callLate<T>(listener: (value: T) => void, value: T, warningType: string): () => void {
  let cancelled = false;
  queueMicrotask(() => {
    if (!cancelled) callListener(listener, value, warningType);
  });
  return () => void (cancelled = true);
}

function callListener<T>(listener: (value: T) => void, value: T, warningType: string): void {
  try {
    listener(value);
  } catch (err) {
    warnFailure(err, warningType);
  }
}
