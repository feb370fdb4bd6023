/** A scenario whose custom invariant always fails: the runner must report it with the seed and a replay command. */
import { defineScenario, invariant } from '../../../src/chaos/index.js';

export default defineScenario({
  name: 'always-broken',
  durationMs: 300,
  connections: 2,
  workload: { concurrency: 1, intervalMs: 50 },
  invariants: [invariant('never holds', (ctx, phase) => (phase === 'final' ? `broken on purpose after ${ctx.observed.requests().ok} requests` : undefined))],
});
