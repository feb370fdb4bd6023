/**
 * Overload with load shedding: for 3 s the server takes 100 ms per request, and 40
 * callers ask 4 connections for far more than they can serve (40 calls/s). With
 * `shedding` the pool refuses the excess at once with WW_POOL_OVERLOADED instead of
 * queueing it, so the callers it admits wait at most about twice the queue target once the
 * standing queue is detected (one interval): their p99 stays within the service time plus
 * that, no caller waits out its timeout, and the queue is gone when the server recovers.
 *
 *   npx tsx src/cli.ts chaos run examples/chaos/load-shedding.ts --simulated --seeds 20
 */
import {
  allReadyWithin, defineScenario, invariant, noFalseDeath, noLostOrDuplicatedRequests, nothingLeftRunning, runIfMain,
} from 'wirewarden/chaos';

const SERVICE_MS = 100;
const TARGET_MS = 50;
const INTERVAL_MS = 250;

/** While overloaded: some callers shed at once, none timed out, the admitted ones' p99 bounded. */
const boundedLatency = invariant('boundedLatencyUnderOverload', (ctx, phase) => {
  if (phase !== 'final') return undefined;
  const slow = ctx.observed.phases().find((p) => p.label === 'server slows down');
  if (slow === undefined) return 'no "server slows down" phase';
  const shed = slow.failuresByCode.WW_POOL_OVERLOADED ?? 0;
  if (shed === 0) return `nothing was shed while overloaded (${JSON.stringify(slow.failuresByCode)})`;
  if (slow.timedOut > 0) return `${slow.timedOut} callers timed out while overloaded`;
  // The service time, the first interval (a standing queue goes unchecked that long), twice
  // the target after it, and 100 ms for a busy machine. Without shedding: ~1000 ms (40
  // callers × 100 ms ÷ 4 connections), and growing.
  const bound = SERVICE_MS + INTERVAL_MS + 2 * TARGET_MS + 100;
  const p99 = slow.latency.p99Ms ?? 0;
  if (p99 > bound) return `p99 of the admitted callers ${p99} ms > ${bound} ms while overloaded`;
  return undefined;
});

const scenario = defineScenario({
  name: 'load-shedding',
  description: `For 3 s each request takes ${SERVICE_MS} ms; 40 callers offer ten times what 4 connections serve.`,
  durationMs: 4500,
  workload: { concurrency: 40, intervalMs: 5, timeoutMs: 2000 },
  target: { pool: { acquireTimeoutMs: 1500, shedding: { queueTargetMs: TARGET_MS, queueIntervalMs: INTERVAL_MS } } },
  timeline: [
    { atMs: 500, label: 'server slows down', harmful: false, action: (ctx) => void (ctx.server.responseDelayMs = SERVICE_MS) },
    { atMs: 3500, label: 'server back to normal', harmful: false, action: (ctx) => void (ctx.server.responseDelayMs = 0) },
  ],
  invariants: [noLostOrDuplicatedRequests(), boundedLatency, noFalseDeath(), allReadyWithin(1000), nothingLeftRunning()],
});

export default scenario;

// `npx tsx examples/chaos/load-shedding.ts [--simulated] [--seed n]` runs it on its own.
runIfMain(import.meta.url);
