import { expect, test } from 'vitest';
import { constantBackoff } from '../../src/supervisor/backoff.js';
import { supervisorChild } from '../../src/supervisor/supervisor-logic.js';
import { RestartIntensityError } from '../../src/errors.js';
import { virtualRuntime } from './helpers/virtual-runtime.js';
import { workerMachine } from './helpers/worker-machine.js';

const backoff = constantBackoff({ delayMs: 10 });

test('escalation through three levels fails the runtime with a chain of causes naming each child and count', async () => {
  const v = virtualRuntime();
  let completed = false;
  v.rt.events$.subscribe({ complete: () => (completed = true) });
  const l1 = v.rt.createSupervisor({
    id: 'l1', maxRestarts: 0,
    children: [supervisorChild({
      id: 'l2', maxRestarts: 1,
      children: [supervisorChild({
        id: 'l3', maxRestarts: 1,
        children: [{ id: 'leaf', logic: workerMachine, backoff }],
      }, { backoff })],
    })],
  });
  const l3 = l1.supervisor('l2').supervisor('l3');
  const kill = () => {
    l3.childRef('leaf')!.send({ type: 'CRASH' });
    v.advance(10);
  };

  kill(); // leaf restart 1 of 1 allowed
  kill(); // leaf restart 2 > 1: l3 fails; l2 restarts l3 (1 of 1)
  expect(v.of('escalation').map((e) => e.path)).toEqual(['root/l1/l2/l3']);
  expect(l3.children().map((c) => c.state)).toEqual(['ready']);
  kill();
  kill(); // l3 fails again: l2's second restart exceeds 1 → l2 fails → l1 (0 allowed) fails → root (0) fails
  expect(v.of('escalation').map((e) => `${e.path}:${e.child}:${e.restarts}`)).toEqual([
    'root/l1/l2/l3:leaf:2', 'root/l1/l2/l3:leaf:2', 'root/l1/l2:l3:2', 'root/l1:l2:1', 'root:l1:1',
  ]);

  expect(v.rt.state).toBe('failed');
  const error = await v.rt.done.then(() => undefined, (err: unknown) => err);
  expect(error).toBeInstanceOf(RestartIntensityError);
  const chain: string[] = [];
  for (let e = error as Error | undefined; e; e = e.cause as Error | undefined) chain.push(e.message);
  expect(chain).toEqual([
    'supervisor root gave up: child "l1" exited (restart-intensity) and 1 restart within 60000 ms exceed maxRestarts 0',
    'supervisor root/l1 gave up: child "l2" exited (restart-intensity) and 1 restart within 60000 ms exceed maxRestarts 0',
    'supervisor root/l1/l2 gave up: child "l3" exited (restart-intensity) and 2 restarts within 60000 ms exceed maxRestarts 1',
    'supervisor root/l1/l2/l3 gave up: child "leaf" exited (error) and 2 restarts within 60000 ms exceed maxRestarts 1',
    'worker crashed',
  ]);
  const failed = v.of('runtime-failed');
  expect(failed).toHaveLength(1);
  expect(failed[0]!.error).toBe(error);
  // The stream ends, nothing is scheduled, and shutdown() after a failure resolves (cleanup only).
  await v.rt.shutdown();
  expect(completed).toBe(true);
  expect(v.vts.actions).toHaveLength(0);
  expect(v.rt.root.getSnapshot().status).toBe('done');
});

test('a failed runtime nobody awaits produces no unhandled rejection', async () => {
  const v = virtualRuntime();
  const s = v.rt.createSupervisor({ id: 's', maxRestarts: 0, children: [{ id: 'w', logic: workerMachine }] });
  s.childRef('w')!.send({ type: 'DIE' });
  expect(v.rt.state).toBe('failed');
  // vitest fails the run on an unhandled rejection: give it a few turns to surface.
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
});
