/**
 * How a session calls its users' listeners (`onPush`, `onMessage`, `onClose`, for `wire()`
 * and `resp()` alike): each one in turn, and a listener that throws becomes a process
 * warning of the given type. The listeners run on the socket's data path, where a throw
 * would kill the connection for every other caller. Whatever a listener throws (a Proxy,
 * a null-prototype object) is described without trusting it (wire-server-failure.ts).
 */
import { warnFailure } from './wire-server-failure.js';

/** Adds `listener` to `listeners`; returns the function that removes it. */
export function addListener<T>(listeners: Set<(value: T) => void>, listener: (value: T) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Calls every listener with `value`; a throw is reported as a process warning named `warningType`. */
export function callListeners<T>(listeners: ReadonlySet<(value: T) => void>, value: T, warningType: string): void {
  for (const listener of listeners) {
    try {
      listener(value);
    } catch (err) {
      warnFailure(err, warningType);
    }
  }
}
