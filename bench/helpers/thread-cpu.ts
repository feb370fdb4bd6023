/**
 * CPU seconds of the calling thread: Linux's /proc/thread-self/schedstat (ns on a CPU),
 * which leaves out V8's background compiler, GC helper threads and the tsx loader
 * thread; elsewhere the process's user + system time. On a machine shared with other
 * jobs, work per CPU-second does not count the time the thread waited for a core.
 */
import { readFileSync } from 'node:fs';

export const threadCpuSeconds: () => number = (() => {
  try {
    readFileSync('/proc/thread-self/schedstat', 'utf8');
    return () => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e9;
  } catch {
    return () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1e6;
    };
  }
})();
