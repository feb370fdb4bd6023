/**
 * A fleet: 1,000 connections for one virtual hour, with the heartbeat a production pool
 * would run (a probe every 5 s per idle connection) and a steady trickle of requests.
 * A slow quarter of an hour that must stay invisible (replies 60 ± 20 ms late, under the
 * probe timeout's 100 ms floor), then a 30 s network partition every connection must
 * detect and recover from, then a server crash and restart: two reconnect storms of
 * 1,000 connections. Past 30 minutes the pool also retires and replaces every connection
 * (`maxLifetimeMs`), as it would in production.
 *
 * On the simulated network the hour takes about 20–30 s on a 2-core machine (the report
 * prints the speed-up); docs/chaos-scenarios.md, "Simulations at scale", says how to size
 * your own. Real sockets would take the hour it says.
 *
 *   npx tsx src/cli.ts chaos run examples/chaos/fleet.ts --simulated --seed 1
 *   npx tsx src/cli.ts chaos run examples/chaos/fleet.ts --simulated --seeds 4   # on worker threads
 *
 * `fleetScenario({ connections, minutes })` builds the same story at another size (the
 * regression test runs 100 connections for an hour).
 */
import {
  allReadyWithin, defineScenario, detectedWithin, detectionBoundMs, noFalseDeath, noLostOrDuplicatedRequests, nothingLeftRunning,
  runIfMain, type ScenarioDefinition,
} from 'wirewarden/chaos';

const MINUTE_MS = 60_000;
const heartbeat = { intervalMs: 5000, minTimeoutMs: 100, maxTimeoutMs: 1000, suspectProbes: 2 };
const workload = { concurrency: 20, intervalMs: 1000, timeoutMs: 2000 };

export interface FleetSize {
  /** Default 1000. */
  readonly connections?: number;
  /** Virtual minutes, at least 10; the faults sit at the same fractions of the run. Default 60. */
  readonly minutes?: number;
}

/**
 * The fleet story as a plain definition, at any size.
 *
 * @example
 * const result = await runScenario(defineScenario(fleetDefinition({ connections: 100, minutes: 60 })), { seed: 1 });
 */
export function fleetDefinition({ connections = 1000, minutes = 60 }: FleetSize = {}): ScenarioDefinition {
  const durationMs = minutes * MINUTE_MS;
  const at = (fraction: number) => Math.round(durationMs * fraction);
  return {
    name: 'fleet',
    description: `${connections} connections for ${minutes} virtual minutes: slow link, partition, server restart.`,
    durationMs,
    connections,
    heartbeat,
    backoff: { initialMs: 100, maxMs: 5000 },
    workload,
    // Once a second is plenty for an hour; every 50 ms (the default) would cost 72,000 checks.
    checkEveryMs: 1000,
    warmupTimeoutMs: 30_000,
    timeline: [
      {
        atMs: at(0.25),
        label: 'slow link: +60 ± 20 ms on replies',
        action: (ctx) => void ctx.link.addToxic({ name: 'slow', type: 'latency', stream: 'downstream', attributes: { latency: 60, jitter: 20 } }),
      },
      { atMs: at(0.5), label: 'link back to normal', action: (ctx) => ctx.link.removeToxic('slow') },
      {
        atMs: at(0.6),
        label: 'partition: every byte dropped both ways',
        action: (ctx) => {
          ctx.link.addToxic({ name: 'partition_up', type: 'timeout', stream: 'upstream', attributes: { timeout: 0 } });
          ctx.link.addToxic({ name: 'partition_down', type: 'timeout', stream: 'downstream', attributes: { timeout: 0 } });
        },
      },
      { atMs: at(0.6) + 30_000, label: 'partition healed', action: (ctx) => ctx.link.resetToxics() },
      { atMs: at(0.8), label: 'server crash, back after 2 s', action: (ctx) => ctx.server.restart(2000) },
    ],
    invariants: [
      noLostOrDuplicatedRequests(),
      // A request in flight times out (2 s) or two idle intervals pass, then the suspicion window.
      detectedWithin(detectionBoundMs(heartbeat, workload.timeoutMs)),
      // Backoff caps at 5 s: every connection is back within a few of its retries.
      allReadyWithin(20_000),
      noFalseDeath(),
      nothingLeftRunning(),
    ],
  };
}

/** The same story at another size. */
export function fleetScenario(size: FleetSize = {}) {
  return defineScenario(fleetDefinition(size));
}

export default fleetScenario();

// `npx tsx examples/chaos/fleet.ts --simulated [--seed n]` runs it on its own.
runIfMain(import.meta.url);
