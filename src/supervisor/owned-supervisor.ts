/**
 * The supervisor a runtime-level component owns (a pool, a subscriber): a `temporary`
 * one-for-one child of the root with infinite restart intensity — its children's dials
 * are paced by their backoff, and it must outlive any outage of its endpoints — named
 * `<prefix>-<n>` unless the user gave an id. Counters are per runtime and never reuse a
 * number, so `pool-2` in an event always means the same pool.
 */
import type { Runtime } from '../runtime.js';
import { createSupervisorHandle, type SupervisorHandle } from './supervisor-handle.js';

const counters = new WeakMap<Runtime, Map<string, number>>();

function nextId(rt: Runtime, root: SupervisorHandle, prefix: string): string {
  const taken = new Set(root.children().map((c) => c.id));
  let byPrefix = counters.get(rt);
  if (byPrefix === undefined) counters.set(rt, (byPrefix = new Map()));
  let n = byPrefix.get(prefix) ?? 0;
  do n++;
  while (taken.has(`${prefix}-${n}`));
  byPrefix.set(prefix, n);
  return `${prefix}-${n}`;
}

/** @internal Spawns `root/<id>` (`id`, or the next `<prefix>-<n>`); returns its id, handle and the root's. */
export function spawnOwnedSupervisor(
  rt: Runtime, prefix: string, id: string | undefined,
): { id: string; supervisor: SupervisorHandle; root: SupervisorHandle } {
  const root = createSupervisorHandle('root', 'root', () => rt.root);
  const chosen = id ?? nextId(rt, root, prefix);
  const supervisor = rt.spawnSupervisor(
    { id: chosen, strategy: 'one-for-one', maxRestarts: Number.POSITIVE_INFINITY },
    { restart: 'temporary' },
  );
  return { id: chosen, supervisor, root };
}
