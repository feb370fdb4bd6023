/**
 * Stops a list of children one after another (OTP: last started, first stopped) or all
 * at once, then calls `onAll`. Callback-based on purpose: a child's stop completes inside
 * the supervisor's transition (its done event, or a forced stop on a scheduler tick), and
 * a promise would move the next step to a microtask that a virtual-time flush does not
 * run. A stop that completes synchronously (a forced stop) continues the loop instead of
 * recursing, so a thousand of them do not grow the stack.
 */

/**
 * @param items in the order to stop them
 * @param stop starts stopping one item and calls `done` once it is down (maybe at once)
 * @returns a cancel function: no further item is stopped and `onAll` is not called
 */
export function stopSequence<T>(
  items: readonly T[],
  parallel: boolean,
  stop: (item: T, done: () => void) => void,
  onAll: () => void,
): () => void {
  let cancelled = false;
  let finished = false;
  const finish = () => {
    if (cancelled || finished) return;
    finished = true;
    onAll();
  };

  if (parallel) {
    let pending = 1;
    const arrive = () => {
      if (--pending === 0) finish();
    };
    for (const item of items) {
      if (cancelled) break;
      pending++;
      let arrived = false;
      stop(item, () => {
        if (arrived) return;
        arrived = true;
        arrive();
      });
    }
    arrive();
  } else {
    let next = 0;
    const advance = () => {
      while (!cancelled && next < items.length) {
        const item = items[next++]!;
        let waiting = true;
        let synchronous = true;
        stop(item, () => {
          if (!waiting) return;
          waiting = false;
          if (!synchronous) advance();
        });
        synchronous = false;
        if (waiting) return;
      }
      finish();
    };
    advance();
  }

  return () => {
    cancelled = true;
  };
}
