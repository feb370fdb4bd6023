/**
 * A process-wide pool of AbortControllers for heartbeat probes.
 *
 *   startProbe ──take()──▶ probe(session, signal) ──answered──▶ give back()  ──▶ pool
 *                                                 └─ timeout / cancel ──▶ abort(), dropped
 *
 * Why: creating an `AbortController` costs ~3 µs here (its signal is an EventTarget with
 * its own maps), more than the rest of a probe's bookkeeping, and keeping one per
 * connection costs ~0.7 KB, ×10k connections. A probe controller only aborts when its
 * probe is abandoned, and is then dropped; one whose probe was answered never aborted
 * and, once the protocol removed its listeners, cannot be told from a new one. So it
 * goes back here for the next probe of any connection. The pool grows to the most probes
 * ever in flight at once: 10k probes/s × RTT, plus whatever piles up while the event
 * loop stalls (a 100 ms GC pause holds back ~1000 replies). `MAX_IDLE` bounds what it
 * keeps (~0.7 MB); beyond it, controllers are dropped and created again later.
 *
 * The price, stated in the Protocol contract (src/transport/types.ts): a protocol must
 * not use a probe's signal after its probe settled. One that leaves a listener behind
 * keeps its controller out of the pool (checked per probe, ~60 ns) and so gets a fresh
 * one every time, as before pooling. The one listener allowed to stay is the wire
 * session's shared one (src/transport/ping-table.ts): it only acts for pings pending on
 * the signal, and it saves adding and removing a listener per ping.
 */
import { getEventListeners } from 'node:events';
import { isRecyclableAbortListener } from '../transport/ping-table.js';

const MAX_IDLE = 1024;
const idle: AbortController[] = [];

/** A controller that never aborted, with no listener but `wire()`'s shared one. */
export function takeProbeController(): AbortController {
  return idle.pop() ?? new AbortController();
}

/** Gives back the controller of an answered probe (never one that aborted). */
export function returnProbeController(controller: AbortController): void {
  const signal = controller.signal;
  if (idle.length < MAX_IDLE && !signal.aborted && onlyRecyclableListeners(signal)) idle.push(controller);
}

/** No listener but the wire session's shared one, which ignores signals no ping waits on. */
function onlyRecyclableListeners(signal: AbortSignal): boolean {
  for (const listener of getEventListeners(signal, 'abort')) if (!isRecyclableAbortListener(listener)) return false;
  return true;
}

/** @internal How many controllers wait in the pool (tests). */
export function idleProbeControllers(): number {
  return idle.length;
}
