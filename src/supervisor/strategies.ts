/**
 * Which children restart together when one must restart (OTP):
 *
 *   one-for-one   only the child that exited
 *   one-for-all   every child: they depend on each other
 *   rest-for-one  the child and every child started after it (later ones depend on earlier)
 *
 * The set comes back in start order; the supervisor stops it in reverse and starts it
 * forwards. One-for-one never scans the siblings, so a supervisor of thousands of
 * connections pays O(1) per restart.
 */
import type { Strategy } from './supervisor-spec.js';

/**
 * @param ordered the supervisor's children in start order
 * @param failed the child that exited and will restart
 */
export function restartSet<T>(strategy: Strategy, ordered: Iterable<T>, failed: T): T[] {
  if (strategy === 'one-for-one') return [failed];
  const all = [...ordered];
  if (strategy === 'one-for-all') return all;
  const at = all.indexOf(failed);
  return at < 0 ? [failed] : all.slice(at);
}
