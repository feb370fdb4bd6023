/**
 * A slow server: it takes 100 ms to answer, and its replies travel 120 ms late — slow,
 * but under the detector's threshold (`heartbeat.maxTimeoutMs`, 400 ms). A good failure
 * detector tells slow from dead: no connection may die, and every request must succeed.
 *
 *   npx tsx src/cli.ts chaos run examples/chaos/slow-server.ts --simulated --seeds 20
 */
import {
  allReadyWithin, defineScenario, everyRequestSucceeds, noFalseDeath, noLostOrDuplicatedRequests, nothingLeftRunning,
  runIfMain,
} from 'wirewarden/chaos';

const scenario = defineScenario({
  name: 'slow-server',
  description: 'Replies take 100 ms at the server plus 120 ms on the way back, for 3 s.',
  durationMs: 4000,
  heartbeat: { intervalMs: 200, minTimeoutMs: 50, maxTimeoutMs: 400, suspectProbes: 2 },
  timeline: [
    {
      atMs: 500,
      label: 'server slows down',
      action: (ctx) => {
        ctx.server.responseDelayMs = 100;
        ctx.link.addToxic({ name: 'slow_replies', type: 'latency', stream: 'downstream', attributes: { latency: 120, jitter: 0 } });
      },
    },
    {
      atMs: 3500,
      label: 'server back to normal',
      action: (ctx) => {
        ctx.server.responseDelayMs = 0;
        ctx.link.removeToxic('slow_replies');
      },
    },
  ],
  invariants: [
    noFalseDeath(),
    noLostOrDuplicatedRequests(),
    everyRequestSucceeds(),
    allReadyWithin(1000),
    nothingLeftRunning(),
  ],
});

export default scenario;

// `npx tsx examples/chaos/slow-server.ts [--simulated] [--seed n]` runs it on its own.
runIfMain(import.meta.url);
