/**
 * Chaos against your own service instead of the runner's echo server: an inventory
 * service (a wire server with a token and a real handler) hosted by the runner, clients
 * with your protocol options, and a workload that sends your requests. Its network is
 * blackholed for 2.5 s, then it crashes and comes back; the report says what callers saw
 * in each phase, and the invariants hold your service to the heartbeat's promises.
 *
 *   npx tsx src/cli.ts chaos run examples/chaos/your-service.ts                  # real sockets
 *   npx tsx src/cli.ts chaos run examples/chaos/your-service.ts --simulated --seeds 20
 *
 * For a service that already runs elsewhere, replace `server` with
 * `endpoints: [{ host, port }]` (real sockets only; docs/chaos-scenarios.md).
 */
import {
  allReadyWithin, defineScenario, detectedWithin, detectionBoundMs, invariant, noFalseDeath, noLostOrDuplicatedRequests,
  nothingLeftRunning, runIfMain,
} from 'wirewarden/chaos';
import { createWireServer, wire } from 'wirewarden';

const token = 'inventory-token';
const heartbeat = { intervalMs: 200, minTimeoutMs: 50, maxTimeoutMs: 400, suspectProbes: 2 };
const stock = new Map<string, number>();

/** What the service answers: one reservation per request. */
function reserve(payload: unknown): { sku: string; left: number } {
  const { sku } = payload as { sku: string };
  const left = (stock.get(sku) ?? 1_000_000) - 1;
  stock.set(sku, left);
  return { sku, left };
}

const scenario = defineScenario({
  name: 'your-service',
  description: 'An inventory service: blackholed for 2.5 s, then crashed and restarted.',
  durationMs: 6000,
  connections: 3,
  heartbeat,
  target: {
    // Hosted in-process (both modes); called again on every ctx.server.start().
    server: ({ scheduler, executed }) => createWireServer({
      token,
      scheduler,
      handler: (payload) => {
        executed((payload as { id: number }).id); // lets noLostOrDuplicatedRequests check the service
        return reserve(payload);
      },
    }),
    protocol: wire({ token, requestTimeoutMs: 1000 }),
    pool: { acquireTimeoutMs: 1000 },
    request: (conn, { id, signal }) => conn.request<{ sku: string; left: number }>({ id, sku: `sku-${id % 7}` }, { signal }),
  },
  timeline: [
    {
      atMs: 500,
      label: 'blackhole the service',
      action: (ctx) => {
        ctx.link.addToxic({ name: 'up', type: 'timeout', stream: 'upstream', attributes: { timeout: 0 } });
        ctx.link.addToxic({ name: 'down', type: 'timeout', stream: 'downstream', attributes: { timeout: 0 } });
      },
    },
    { atMs: 3000, label: 'heal the network', action: (ctx) => ctx.link.resetToxics() },
    { atMs: 4000, label: 'crash and restart', action: (ctx) => ctx.server.restart(300) },
    { atMs: 5000, label: 'steady again', action: () => {} },
  ],
  invariants: [
    noLostOrDuplicatedRequests(),
    detectedWithin(detectionBoundMs(heartbeat, 1000)),
    allReadyWithin(1500),
    noFalseDeath(),
    invariant('callers are served once it is steady again', (ctx, phase) => {
      if (phase !== 'final') return undefined;
      const steady = ctx.observed.phases().find((p) => p.label === 'steady again');
      if (!steady || steady.issued === 0) return 'no request was issued after the service was steady again';
      return steady.failed === 0 ? undefined : `${steady.failed} of ${steady.issued} requests failed while steady (${JSON.stringify(steady.failuresByCode)})`;
    }),
    nothingLeftRunning(),
  ],
});

export default scenario;

runIfMain(import.meta.url);
