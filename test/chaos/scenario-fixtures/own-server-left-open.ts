/**
 * A user's scenario file as it is often first written: the system under test (a wire
 * server echoing each request) listens at module top level and is never closed, and
 * the scenario points `target.endpoints` at it. The CLI must still exit, with the
 * status of the run, and say what was left open. Its invariant always fails, so the
 * status (1) shows it is the run's, not a default.
 */
import { defineScenario, invariant } from '../../../src/chaos/index.js';
import { createWireServer } from '../../../src/index.js';

const server = createWireServer({ handler: (payload) => payload });
const { port } = await server.listen();

export default defineScenario({
  name: 'own-server-left-open',
  durationMs: 300,
  connections: 1,
  workload: { concurrency: 1, intervalMs: 50 },
  target: { endpoints: [{ host: '127.0.0.1', port }] },
  invariants: [invariant('never holds', (ctx, phase) => (phase === 'final' ? `broken on purpose after ${ctx.observed.requests().ok} requests` : undefined))],
});
