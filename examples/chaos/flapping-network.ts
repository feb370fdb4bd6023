/**
 * A flapping network: every 300 ms the link switches between clean and slow (150 ms
 * ± 50 ms on replies), as a congested path does. The added round trip stays below the
 * detector's threshold (`heartbeat.maxTimeoutMs`, 400 ms), so a probe may be suspected
 * but no connection may be declared dead, and every request must still succeed.
 *
 *   npx tsx src/cli.ts chaos run examples/chaos/flapping-network.ts --simulated --seeds 20
 */
import {
  allReadyWithin, defineScenario, everyRequestSucceeds, noFalseDeath, noLostOrDuplicatedRequests, nothingLeftRunning, type TimelineStep,
  runIfMain,
} from 'wirewarden/chaos';

const FLAPS = 6;
const PERIOD_MS = 300;

const timeline: TimelineStep[] = [];
for (let i = 0; i < FLAPS; i++) {
  const at = 300 + 2 * i * PERIOD_MS;
  timeline.push(
    {
      atMs: at,
      label: `flap ${i + 1}: slow`,
      action: (ctx) => void ctx.link.addToxic({ name: 'flap', type: 'latency', stream: 'downstream', attributes: { latency: 150, jitter: 50 } }),
    },
    { atMs: at + PERIOD_MS, label: `flap ${i + 1}: clean`, action: (ctx) => ctx.link.removeToxic('flap') },
  );
}

const scenario = defineScenario({
  name: 'flapping-network',
  description: `The link flaps ${FLAPS} times between clean and +150 ± 50 ms, below the detector's threshold.`,
  durationMs: 300 + 2 * FLAPS * PERIOD_MS + 500,
  heartbeat: { intervalMs: 200, minTimeoutMs: 50, maxTimeoutMs: 400, suspectProbes: 2 },
  timeline,
  invariants: [
    noFalseDeath(),
    noLostOrDuplicatedRequests(),
    everyRequestSucceeds(),
    allReadyWithin(1000),
    nothingLeftRunning(),
  ],
});

export default scenario;

// `npx tsx examples/chaos/flapping-network.ts [--simulated] [--seed n]` runs it on its own.
runIfMain(import.meta.url);
