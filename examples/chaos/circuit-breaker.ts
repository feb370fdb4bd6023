/**
 * An outage with a circuit breaker: the server is killed for 2.5 s. The pool's breaker
 * opens on the deaths and refused redials, so requests fail at once with WW_CIRCUIT_OPEN
 * instead of each waiting `acquireTimeoutMs` (3 s) — none of them may time out — and once
 * the server is back, the half-open breaker's trial dial finds it by itself: every
 * connection is back within the bound, no acknowledged request lost or run twice.
 *
 *   npx tsx src/cli.ts chaos run examples/chaos/circuit-breaker.ts --simulated --seeds 20
 */
import {
  allReadyWithin, defineScenario, invariant, noLostOrDuplicatedRequests, nothingLeftRunning, runIfMain,
} from 'wirewarden/chaos';

/** While the server is down, callers are refused at once: no acquire waits out its timeout. */
const failsFast = invariant('failsFastWhileDown', (ctx, phase) => {
  if (phase !== 'final') return undefined;
  const down = ctx.observed.phases().find((p) => p.label === 'server killed');
  if (down === undefined) return 'no "server killed" phase';
  const timedOut = down.failuresByCode.WW_POOL_TIMEOUT ?? 0;
  const open = down.failuresByCode.WW_CIRCUIT_OPEN ?? 0;
  if (timedOut > 0) return `${timedOut} requests waited out acquireTimeoutMs while the server was down`;
  if (open === 0) return `no request failed fast with WW_CIRCUIT_OPEN while the server was down (${JSON.stringify(down.failuresByCode)})`;
  return undefined;
});

const scenario = defineScenario({
  name: 'circuit-breaker',
  description: 'The server is down for 2.5 s; the breaker fails callers fast and finds the server back by itself.',
  durationMs: 5000,
  heartbeat: { intervalMs: 200, minTimeoutMs: 50, maxTimeoutMs: 400, suspectProbes: 2 },
  backoff: { initialMs: 20, maxMs: 200 },
  target: {
    pool: {
      acquireTimeoutMs: 3000,
      // A short open wait (growing to at most 600 ms) so that the scenario sees recovery soon.
      breaker: { waitDurationInOpenStateMs: 300, maxWaitDurationInOpenStateMs: 600, randomizationFactor: 0 },
    },
  },
  timeline: [
    { atMs: 500, label: 'server killed', action: (ctx) => ctx.server.kill() },
    { atMs: 3000, label: 'server back', action: (ctx) => ctx.server.start() },
  ],
  invariants: [noLostOrDuplicatedRequests(), failsFast, allReadyWithin(1500), nothingLeftRunning()],
});

export default scenario;

// `npx tsx examples/chaos/circuit-breaker.ts [--simulated] [--seed n]` runs it on its own.
runIfMain(import.meta.url);
