/**
 * A blackholed server: for 2.5 s the link swallows every byte both ways (Toxiproxy's
 * `timeout` toxic with timeout 0), as a dead host behind a firewall does. Nothing is
 * closed, so only the heartbeat can tell: every connection must be declared dead within
 * the detector's bound, and all must be back once the link heals.
 *
 *   npx tsx src/cli.ts chaos run examples/chaos/blackholed-server.ts               # real sockets
 *   npx tsx src/cli.ts chaos run examples/chaos/blackholed-server.ts --simulated --seeds 20
 */
import {
  allReadyWithin, defineScenario, detectedWithin, detectionBoundMs, noFalseDeath, noLostOrDuplicatedRequests, nothingLeftRunning,
  runIfMain,
} from 'wirewarden/chaos';

const heartbeat = { intervalMs: 200, minTimeoutMs: 50, maxTimeoutMs: 400, suspectProbes: 2 };

const scenario = defineScenario({
  name: 'blackholed-server',
  description: 'Every byte is dropped both ways for 2.5 s, then the link heals.',
  durationMs: 4500,
  heartbeat,
  timeline: [
    {
      atMs: 500,
      label: 'blackhole both directions',
      action: (ctx) => {
        ctx.link.addToxic({ name: 'blackhole_up', type: 'timeout', stream: 'upstream', attributes: { timeout: 0 } });
        ctx.link.addToxic({ name: 'blackhole_down', type: 'timeout', stream: 'downstream', attributes: { timeout: 0 } });
      },
    },
    { atMs: 3000, label: 'heal the link', action: (ctx) => ctx.link.resetToxics() },
  ],
  invariants: [
    noLostOrDuplicatedRequests(),
    // Heartbeat bound: a request in flight times out (the workload's 1000 ms) or two intervals
    // pass without traffic, then the peer stays silent for the suspicion window, 3 × 400 ms (× 1.5 under load).
    detectedWithin(detectionBoundMs(heartbeat, 1000)),
    allReadyWithin(1500),
    noFalseDeath(),
    nothingLeftRunning(),
  ],
});

export default scenario;

// `npx tsx examples/chaos/blackholed-server.ts [--simulated] [--seed n]` runs it on its own.
runIfMain(import.meta.url);
