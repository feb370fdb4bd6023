/**
 * `rethrowLater`: reports an error thrown by someone else's code (an actor's observer or
 * inspector reached through `send`, a user's `loadSource`) from a macrotask of its own,
 * as XState's `reportUnhandledError` does for a throwing handler.
 *
 * Why: the timers of the heartbeat (the shared probe deadlines, each connection's ticker)
 * are RxJS actions that re-arm themselves. A throw that reaches RxJS unsubscribes the
 * action it was running — the one just re-armed — and on a virtual-time scheduler every
 * other action too, so one bad observer would stop the heartbeat of every connection
 * sharing that timer. Rethrown later, the error still reaches `uncaughtException` (and the
 * test runner), and the timers go on.
 */
export function rethrowLater(error: unknown): void {
  setTimeout(() => {
    throw error;
  }, 0);
}
