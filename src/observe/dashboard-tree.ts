/**
 * The dashboard's picture of the supervision tree: plain data read from supervisor
 * handles (`children()`) and, for connection actors, from their snapshot's plain
 * context (RTT, endpoint) — never from sessions or protocol objects, so nothing here can hold a
 * socket or a secret. Built once per dashboard tick, only while a page is open.
 *
 *   root (running)
 *   ├─ pool-1 (running)          kind 'supervisor', pool gauges beside it
 *   │  ├─ c1 (ready, 0.21 ms)    kind 'connection'
 *   │  └─ c2 (suspect)
 *   └─ edge (running)
 *      └─ worker (active)        kind 'actor': any other XState actor
 */
import { connectionMachine } from '../actors/connection-machine.js';
import type { ConnectionContext, PlainEndpoint } from '../actors/connection-types.js';
import { engineOf } from '../supervisor/supervisor-logic.js';
import { createSupervisorHandle, type SupervisorHandle } from '../supervisor/supervisor-handle.js';
import type { ChildInfo, SupervisorRef } from '../supervisor/supervisor-types.js';

export type DashboardNodeKind = 'supervisor' | 'connection' | 'actor';

/** One actor of the tree, as the page draws it. */
export interface DashboardNode {
  readonly id: string;
  /** `root/pool-1/c1`: the same path runtime events carry. */
  readonly path: string;
  readonly kind: DashboardNodeKind;
  /** Top-level state (`ready`, `suspect`, `restarting`, a supervisor's `running`…). */
  readonly state: string;
  /** Restarts of this child over its supervisor's life (0 for the root). */
  readonly restarts: number;
  /** Scheduler time the node entered `state`. */
  readonly since: number;
  /** Connections only: `host:port` or the socket path. */
  readonly endpoint?: string | undefined;
  /** Connections only, once measured: the smoothed heartbeat RTT. */
  readonly rttMs?: number | undefined;
  readonly children?: readonly DashboardNode[] | undefined;
}

/** Reads the whole tree under the runtime's root; cheap enough for one read per second. */
export function readSupervisionTree(root: SupervisorRef, now: number): DashboardNode {
  const snapshot = root.getSnapshot();
  const handle = createSupervisorHandle('root', 'root', () => root);
  return { id: 'root', path: 'root', kind: 'supervisor', state: snapshot.value, restarts: 0, since: now, children: childrenOf(handle) };
}

function childrenOf(handle: SupervisorHandle): DashboardNode[] {
  const engine = engineOf(handle.ref);
  if (engine === undefined) return [];
  const nodes: DashboardNode[] = [];
  for (const child of engine.children()) {
    const path = `${handle.path}/${child.id}`;
    // The spec, not the actor, says what a child is: between incarnations there is no actor to ask.
    const spec = engine.childSpec(child.id);
    if (spec?.supervisor) {
      nodes.push(node(child, path, 'supervisor', undefined, undefined, childrenOf(handle.supervisor(child.id))));
    } else if (spec?.logic !== connectionMachine) {
      nodes.push(node(child, path, 'actor', undefined, undefined, undefined));
    } else {
      // A connection's snapshot context is plain data (endpoint, RTT); nothing else of the actor is read.
      const context = (engine.childRef(child.id)?.getSnapshot() as { context?: Partial<ConnectionContext> } | undefined)?.context;
      const endpoint = endpointText(context?.endpoint ?? (spec.input as { endpoint?: PlainEndpoint } | undefined)?.endpoint);
      nodes.push(node(child, path, 'connection', endpoint, context?.rttMs, undefined));
    }
  }
  return nodes;
}

/** One shape for every node (absent fields are `undefined`, which JSON leaves out): cheap for a thousand children. */
function node(
  child: ChildInfo, path: string, kind: DashboardNodeKind, endpoint: string | undefined, rttMs: number | undefined,
  children: DashboardNode[] | undefined,
): DashboardNode {
  // RTTs to the microsecond: the page shows milliseconds, and a float's 17 digits, in every
  // node and every RTT sample of a hello, made it ~2 KB per connection.
  const rtt = rttMs === undefined ? undefined : Math.round(rttMs * 1000) / 1000;
  return { id: child.id, path, kind, state: child.state, restarts: child.restarts, since: child.since, endpoint, rttMs: rtt, children };
}

/** `host:port` or the socket path; only those fields are read (an endpoint object may carry more). */
function endpointText(endpoint: PlainEndpoint | undefined): string | undefined {
  if (endpoint === undefined) return undefined;
  return typeof endpoint.path === 'string' ? endpoint.path : `${String(endpoint.host ?? '')}:${String(endpoint.port ?? '')}`;
}
