/**
 * `instanceof` for values that came from code we do not control (a handler's result, a
 * thrown or rejected value, a listener's exception). A plain `instanceof` walks the
 * value's prototype chain, and a Proxy's `getPrototypeOf` trap may throw there; in a
 * catch block or a promise callback that exception has nowhere to go (an uncaught
 * exception or an unhandled rejection, which exits the process).
 */

/**
 * `value instanceof ctor`, or false when asking throws (a Proxy whose `getPrototypeOf`
 * trap throws, a revoked Proxy).
 *
 * @example
 * } catch (err) {
 *   if (safeInstanceOf(err, WriteQueueFullError)) shed();
 * }
 */
export function safeInstanceOf<T>(value: unknown, ctor: abstract new (...args: never[]) => T): value is T {
  if ((typeof value !== 'object' || value === null) && typeof value !== 'function') return false;
  try {
    return value instanceof ctor;
  } catch {
    return false;
  }
}
