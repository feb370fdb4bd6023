/**
 * A bound on the code under test's own promises (close, remove): a server whose close()
 * never settles is a finding (`stuck`), not a fuzz run that hangs without a report.
 */
import type { TargetReport } from './report.js';

/**
 * Awaits `promise` for at most `ms`; records `stuck` (naming `what`) and returns false if
 * it did not settle in time. A rejection counts as settled (the caller's oracles judge it).
 *
 * @example
 * await settlesWithin(api.close(), 10_000, 'chaos API close()', report);
 */
export async function settlesWithin(promise: Promise<unknown>, ms: number, what: string, report: TargetReport): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    promise.then(() => true, () => true),
    new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]);
  clearTimeout(timer);
  if (!settled) report.record('stuck', `${what} did not settle within ${ms} ms`);
  return settled;
}
