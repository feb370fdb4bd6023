/**
 * The public window on a connection actor: its state from a snapshot, and the live
 * figures and session the pool leases, read from the actor's resources (never from a
 * snapshot, which stays plain data).
 */
import type { AnyActorRef } from 'xstate';
import type { AnyProtocol } from '../transport/types.js';
import type { ConnectionContext, ConnectionState, LiveConnectionView } from './connection-types.js';
import { resourcesOf } from './connection-resources.js';

/**
 * The connection's state from any of its snapshots: the top-level state name, `dead`
 * for an actor that failed to start (bad input).
 *
 * @example
 * actor.subscribe((s) => { if (connectionState(s) === 'ready') lease(actor); });
 */
export function connectionState(snapshot: { readonly status?: string; readonly value?: unknown }): ConnectionState {
  if (snapshot.status === 'error') return 'dead';
  return typeof snapshot.value === 'string' ? (snapshot.value as ConnectionState) : 'dialing';
}

/**
 * What the pool needs of a connection actor: its session (to lease), protocol and live
 * figures. `undefined` when `ref` is not a connection actor.
 *
 * @example
 * const conn = liveConnection<WireSession>(ref);
 * if (conn?.state === 'ready') await conn.session!.request({ op: 'echo' });
 */
export function liveConnection<S = unknown>(ref: AnyActorRef): LiveConnectionView<S> | undefined {
  const live = resourcesOf(ref);
  if (live === undefined) return undefined;
  const snapshot = ref.getSnapshot() as { status?: string; value?: unknown; context: ConnectionContext };
  const { context } = snapshot;
  return {
    id: ref.id,
    endpoint: context.endpoint,
    state: connectionState(snapshot),
    session: live.session as S | undefined,
    protocol: live.protocol as AnyProtocol<S>,
    rttMs: context.rttMs,
    since: context.since,
  };
}
