/**
 * Probe timeouts shared across connections: one timer per (scheduler, timeout) instead of
 * one scheduled and cancelled per probe.
 *
 *   startProbe ──add(live)──▶ list for `timeoutMs` ──reply──▶ delete(live)
 *                                   └── due ──▶ onExpire(live) (the probe timed out)
 *
 * Why: at 10k idle connections every heartbeat scheduled a timer for its probe and
 * cancelled it a millisecond later when the PONG came — an RxJS action and a Node timer
 * created and torn down per heartbeat. Probe timeouts are whole milliseconds clamped to
 * `[minTimeoutMs, maxTimeoutMs]`, and on a healthy network most connections sit on the
 * same one (the floor), so a list per duration (`FifoDeadlines`: insertion order is
 * deadline order, add and delete O(1)) serves them all with one timer that fires at most
 * once per millisecond. Expiry is exact (resolution 1 ms) so virtual-time tests see the
 * same instants as with a timer per probe.
 *
 * Nothing lingers: a list whose last entry is deleted drops its timer at once, so a
 * stopped runtime leaves no timer behind. Lists are per scheduler (a `WeakMap`), so a
 * virtual-time test's scheduler takes its lists with it.
 */
import type { SchedulerLike } from 'rxjs';
import { FifoDeadlines } from '../transport/fifo-deadlines.js';

/** What a probe deadline calls back: the connection's resources. */
export interface ProbeOwner {
  probeExpired(): void;
}

const lists = new WeakMap<SchedulerLike, Map<number, FifoDeadlines<ProbeOwner>>>();

function expire(owner: ProbeOwner): void {
  owner.probeExpired();
}

/** The shared deadline list for probes of `timeoutMs` on `scheduler`. */
export function probeDeadlines(scheduler: SchedulerLike, timeoutMs: number): FifoDeadlines<ProbeOwner> {
  let byTimeout = lists.get(scheduler);
  if (byTimeout === undefined) lists.set(scheduler, (byTimeout = new Map()));
  let list = byTimeout.get(timeoutMs);
  if (list === undefined) byTimeout.set(timeoutMs, (list = new FifoDeadlines(scheduler, timeoutMs, expire, 1)));
  return list;
}
