/**
 * A restart storm: the server crashes four times in a row (every connection dropped,
 * the port closed) and comes back 200 ms later each time. Requests in flight fail, but
 * none acknowledged may be lost or run twice, and every connection must be back within
 * the bound after the last restart.
 *
 *   npx tsx src/cli.ts chaos run examples/chaos/server-restart-storm.ts --simulated --seeds 20
 */
import {
  allReadyWithin, defineScenario, noFalseDeath, noLostOrDuplicatedRequests, nothingLeftRunning, type TimelineStep,
  runIfMain,
} from 'wirewarden/chaos';

const RESTARTS = 4;
const DOWN_MS = 200;
const EVERY_MS = 700;

const timeline: TimelineStep[] = Array.from({ length: RESTARTS }, (_, i) => ({
  atMs: 500 + i * EVERY_MS,
  label: `crash ${i + 1}, back after ${DOWN_MS} ms`,
  action: (ctx) => ctx.server.restart(DOWN_MS),
}));

const scenario = defineScenario({
  name: 'server-restart-storm',
  description: `The server is killed ${RESTARTS} times, ${EVERY_MS} ms apart, and restarts ${DOWN_MS} ms after each crash.`,
  durationMs: 500 + RESTARTS * EVERY_MS + 1500,
  heartbeat: { intervalMs: 200, minTimeoutMs: 50, maxTimeoutMs: 400, suspectProbes: 2 },
  backoff: { initialMs: 20, maxMs: 400 },
  timeline,
  invariants: [noLostOrDuplicatedRequests(), allReadyWithin(1500), noFalseDeath(), nothingLeftRunning()],
});

export default scenario;

// `npx tsx examples/chaos/server-restart-storm.ts [--simulated] [--seed n]` runs it on its own.
runIfMain(import.meta.url);
