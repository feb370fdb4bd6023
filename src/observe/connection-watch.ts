/**
 * What the metrics keep per connection actor, between its state events: where it is in
 * the tree, which series it counts into, its last state, when it was last heard from,
 * and the RTT estimate seen at its last probe (to tell a new sample from a probe that
 * was ended by other traffic). One per live connection incarnation; made when the
 * connection enters `dialing` (or found by the walk when metrics start) and dropped at
 * its `child-exit`.
 *
 * Found by path: `root/pool-1/conn-3` is walked from the root supervisor through each
 * supervisor's children, once per incarnation. Only connection actors get a watch
 * (`liveConnection` answers for them alone); other children's events are ignored after
 * one map lookup.
 */
import type { AnyActorRef, Subscription } from 'xstate';
import { liveConnection } from '../actors/live-connection.js';
import type { ConnectionContext } from '../actors/connection-types.js';
import { engineOf } from '../supervisor/supervisor-logic.js';
import { HistogramCell } from './histogram.js';

/** Labels of one endpoint of one pool (or of one supervisor, for connections outside pools). */
export interface EndpointLabels {
  readonly pool: string;
  readonly endpoint: string;
}

/** Counters and histograms of one (pool, endpoint): what the connections there did. */
export class EndpointSeries {
  readonly labels: EndpointLabels;
  /** from → to → count. Two map lookups per state event, no key string built. */
  readonly transitions = new Map<string, Map<string, { value: number }>>();
  readonly rtt: HistogramCell;
  readonly detection: HistogramCell;
  /** Live connections counting into it. */
  live = 0;
  /** Its endpoint left the pool's set (discovery): dropped once `live` is 0. */
  retired = false;

  constructor(labels: EndpointLabels, rttBounds: readonly number[], detectionBounds: readonly number[]) {
    this.labels = labels;
    this.rtt = new HistogramCell(rttBounds);
    this.detection = new HistogramCell(detectionBounds);
  }

  countTransition(from: string, to: string): void {
    let byTo = this.transitions.get(from);
    if (byTo === undefined) this.transitions.set(from, (byTo = new Map()));
    const cell = byTo.get(to);
    if (cell === undefined) byTo.set(to, { value: 1 });
    else cell.value++;
  }
}

/** The dial of one incarnation, for the dial and handshake spans (scheduler times, ms). */
export interface DialTimeline {
  readonly startedAt: number;
  /** When the handshake began (the transport connected); undefined if it never did. */
  readonly handshakeAt: number | undefined;
  readonly endedAt: number;
  readonly ok: boolean;
  /** The exit reason when it failed (`dial-failed`, `handshake-failed`, `closed`…). */
  readonly reason?: string;
  readonly error?: unknown;
}

export class ConnectionWatch {
  readonly path: string;
  readonly ref: AnyActorRef;
  readonly series: EndpointSeries;
  state: string;
  /** Scheduler time of the last entry into `ready` (handshake done, probe answered). */
  heardAt: number | undefined;
  srttMs: number | undefined = undefined;
  rttvarMs: number | undefined = undefined;
  /** Set while dialing is traced: when it began, when the handshake began. */
  dialStartedAt: number | undefined = undefined;
  handshakeAt: number | undefined = undefined;
  #dialSub: Subscription | undefined = undefined;

  constructor(path: string, ref: AnyActorRef, series: EndpointSeries, state: string, heardAt: number | undefined) {
    this.path = path;
    this.ref = ref;
    this.series = series;
    this.state = state;
    this.heardAt = heardAt;
  }

  /** The connection's context now (plain data). */
  context(): ConnectionContext | undefined {
    return (this.ref.getSnapshot() as { context?: ConnectionContext } | undefined)?.context;
  }

  /**
   * Follows the dial's sub-states (`dialing.connecting` → `dialing.handshaking`) until
   * it ends: the state events show `dialing` only. One subscription per dial, none after.
   */
  traceDial(startedAt: number, now: () => number): void {
    this.dialStartedAt = startedAt;
    this.#dialSub = this.ref.subscribe({
      next: (snapshot: { value?: unknown }) => {
        const value = snapshot.value as { dialing?: unknown } | string | undefined;
        if (this.handshakeAt === undefined && typeof value === 'object' && value?.dialing === 'handshaking') {
          this.handshakeAt = now();
          this.stopDialTrace();
        }
      },
      // An observer without `error` would make an actor failure an uncaught exception.
      error: () => {},
    });
  }

  /** The dial ended: its timeline, once (later calls return undefined). */
  endDial(endedAt: number, ok: boolean, reason?: string, error?: unknown): DialTimeline | undefined {
    const startedAt = this.dialStartedAt;
    this.stopDialTrace();
    if (startedAt === undefined) return undefined;
    this.dialStartedAt = undefined;
    return { startedAt, handshakeAt: this.handshakeAt, endedAt, ok, ...(reason === undefined ? {} : { reason }), ...(error === undefined ? {} : { error }) };
  }

  stopDialTrace(): void {
    this.#dialSub?.unsubscribe();
    this.#dialSub = undefined;
  }
}

/** The actor at `path` (`root/pool-1/conn-3`), walking supervisors from `root`. */
export function actorAt(root: AnyActorRef, path: string): AnyActorRef | undefined {
  const parts = path.split('/');
  let ref: AnyActorRef | undefined = root;
  for (let i = 1; i < parts.length && ref !== undefined; i++) ref = engineOf(ref)?.childRef(parts[i]!);
  return ref;
}

/** `host:port` or the unix path, as the pool names endpoints (`pool.stats().endpoints` keys). */
export function endpointLabel(endpoint: { host?: string; port?: number; path?: string }): string {
  return endpoint.path ?? `${endpoint.host ?? '127.0.0.1'}:${String(endpoint.port)}`;
}

/** The supervisor a child belongs to: `pool-1` for `root/pool-1/conn-3`. */
export function parentId(path: string): string {
  const end = path.lastIndexOf('/');
  if (end <= 0) return '';
  return path.slice(path.lastIndexOf('/', end - 1) + 1, end);
}

/** Whether `ref` is a connection actor, and its endpoint and state if so. */
export function connectionInfo(ref: AnyActorRef): { endpoint: string; state: string; since: number } | undefined {
  const view = liveConnection(ref);
  return view === undefined ? undefined : { endpoint: endpointLabel(view.endpoint), state: view.state, since: view.since };
}
