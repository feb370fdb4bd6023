/** A file that exports two scenarios: one that passes and one whose recovery bound is too tight. */
import { allReadyWithin, defineScenario, noLostOrDuplicatedRequests } from '../../../src/chaos/index.js';

export default [
  defineScenario({ name: 'calm', durationMs: 200, connections: 1, invariants: [noLostOrDuplicatedRequests()] }),
  defineScenario({
    name: 'too-tight',
    durationMs: 1200,
    connections: 2,
    backoff: { initialMs: 100, maxMs: 400, jitter: 'none' },
    timeline: [{ atMs: 200, label: 'crash and restart', action: (ctx) => ctx.server.restart(100) }],
    invariants: [allReadyWithin(1)],
  }),
];
