/**
 * The one word `children()` and `state` events use for a child: its top-level state
 * value (`'ready'`, `'dialing'` for a connection, `'running'` for a supervisor). Actors
 * without a state value (promise, callback, observable) map their status instead.
 * Computed from a snapshot the child already produced, so watching it costs a string
 * comparison per snapshot, never an event in anybody's mailbox.
 */

/** States the supervisor itself reports while a child has no live incarnation. */
export type SupervisorOwnState = 'restarting' | 'killed';

export function topLevelState(snapshot: unknown): string {
  const s = snapshot as { value?: unknown; status?: unknown } | undefined;
  const value = s?.value;
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) {
    // A compound root: its first (usually only) active region names the state.
    for (const key in value) return key;
  }
  switch (s?.status) {
    case 'active':
      return 'running';
    case 'done':
    case 'error':
    case 'stopped':
      return s.status;
    default:
      return 'unknown';
  }
}
