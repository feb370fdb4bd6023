/**
 * How a RESP session calls its users' listeners (`onPush`, `onMessage`, `onClose`): each
 * one in turn, and a listener that throws becomes a process warning. The listeners run on
 * the socket's data path, where a throw would kill the connection for every other caller.
 */

/** Calls every listener with `value`; a throw is reported with `process.emitWarning(err, warningType)`. */
export function callListeners<T>(listeners: ReadonlySet<(value: T) => void>, value: T, warningType: string): void {
  for (const listener of listeners) {
    try {
      listener(value);
    } catch (err) {
      process.emitWarning(err instanceof Error ? err : new Error(String(err)), warningType);
    }
  }
}
