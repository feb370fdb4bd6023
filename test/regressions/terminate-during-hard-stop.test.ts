/**
 * Regression: a `terminateChild` / `restartChild` waiting for a child that ignores CLOSE
 * never settled when the supervisor itself was hard-stopped first (its parent's
 * `shutdownMs` ran out): the waiter was parked on an entry the hard stop cleared.
 */
import { describe, expect, it } from 'vitest';
import { virtualRuntime } from '../supervisor/helpers/virtual-runtime.js';
import { workerMachine } from '../supervisor/helpers/worker-machine.js';

describe('terminate/restart during a hard stop', () => {
  it('settle when the parent forces the supervisor before the child stops', async () => {
    const v = virtualRuntime();
    const edge = v.rt.createSupervisor(
      {
        id: 'edge',
        children: [
          { id: 'a', logic: workerMachine, input: { ignoreClose: true }, shutdownMs: 10_000 },
          { id: 'b', logic: workerMachine, input: { ignoreClose: true }, shutdownMs: 10_000 },
        ],
      },
      { shutdownMs: 100 },
    );
    const settled: string[] = [];
    const terminated = edge.terminateChild('a').then(() => settled.push('terminate:ok'), () => settled.push('terminate:rejected'));
    const restarted = edge.restartChild('b').then(() => settled.push('restart:ok'), () => settled.push('restart:rejected'));
    const done = v.rt.shutdown();
    v.advance(100); // the root forces `edge` long before its children's 10 s grace
    await done;
    await Promise.all([terminated, restarted]);
    expect(settled.sort()).toEqual(['restart:rejected', 'terminate:ok']);
    expect(edge.children()).toEqual([]);
    expect(v.vts.actions).toHaveLength(0);
  });
});
