/**
 * What differs between the two run modes, behind one interface: the clock, where the
 * server listens, what sits between clients and server, how the runner waits, and what
 * "nothing left running" means.
 *
 * | | real sockets | simulated network |
 * | --- | --- | --- |
 * | clock | `asyncScheduler` (wall time) | `SimulatedScheduler`, driven step by step |
 * | server | 127.0.0.1:<port>, each socket handed to the server's `accept` | the same server, `accept`ing in-memory streams |
 * | link | a `ChaosProxy` on 127.0.0.1 per upstream | `SimulatedLink` of the network |
 * | external target | proxies in front of `target.endpoints` | refused: nothing real is reachable |
 * | random | seeded (jitter, toxicity, backoff) | seeded, and with virtual time the run is exact |
 * | leftovers | sockets, servers, timers above the baseline | scheduled actions, links, listeners, and the same |
 */
import type { SchedulerLike } from 'rxjs';
import type { Runtime } from '../runtime.js';
import type { Endpoint, Transport } from '../transport/types.js';
import type { ChaosLink } from './chaos-link.js';
import type { ServerBinding } from './scenario-server.js';
import type { RunMode } from './scenario-types.js';

/** @internal */
export interface ScenarioEnvironment {
  readonly mode: RunMode;
  readonly scheduler: SchedulerLike;
  readonly runtime: Runtime;
  readonly binding: ServerBinding;
  /** The transport the pool dials with; undefined means `tcp()`. */
  readonly transport: Transport | undefined;
  /**
   * Puts a link in front of each upstream (`host:port`: the bound server's address, or a
   * target's endpoints); returns them and where clients connect, in the same order.
   */
  connect(upstreams: readonly Endpoint[]): Promise<{ links: ChaosLink[]; endpoints: Endpoint[] }>;
  /** Waits until scheduler time `t` (simulated: runs everything due until then). */
  advanceTo(t: number): Promise<void>;
  /** Waits for `promise` at most `limitMs` of scheduler time; false when it did not settle. */
  settle(promise: Promise<unknown>, limitMs: number): Promise<boolean>;
  /** Closes the link and anything else the environment owns. */
  close(): Promise<void>;
  leftovers(): Promise<string[]>;
}

/** Resource kinds of `process.getActiveResourcesInfo()` a run may leave behind. */
const TRACKED: Record<string, string> = {
  TCPSocketWrap: 'TCP socket',
  TCPServerWrap: 'TCP listener',
  Timeout: 'timer',
  Immediate: 'immediate',
};

/** Counts of the tracked resources of this process now. */
export function resourceCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) {
    if (kind in TRACKED) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return counts;
}

/** Resources above `baseline`, described: `2 TCP sockets`, `1 timer`. */
export function resourcesAbove(baseline: ReadonlyMap<string, number>): string[] {
  const now = resourceCounts();
  const out: string[] = [];
  for (const [kind, label] of Object.entries(TRACKED)) {
    const extra = (now.get(kind) ?? 0) - (baseline.get(kind) ?? 0);
    if (extra > 0) out.push(`${extra} ${label}${extra === 1 ? '' : 's'}`);
  }
  return out;
}
