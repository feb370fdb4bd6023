import { describe, expect, test } from 'vitest';
import { RestartIntensity } from '../../src/supervisor/restart-intensity.js';
import { constantBackoff } from '../../src/supervisor/backoff.js';
import { hasCode } from '../../src/errors.js';
import { virtualRuntime } from './helpers/virtual-runtime.js';
import { workerMachine } from './helpers/worker-machine.js';

describe('RestartIntensity (sliding window)', () => {
  test('counts restarts inside the window and forgets older ones', () => {
    const w = new RestartIntensity(3, 1000);
    expect([0, 400, 800].map((t) => w.record(t))).toEqual([1, 2, 3]);
    expect(w.exceeds(3)).toBe(false);
    // At 1200 the restart at 0 has left the window (200, 1200].
    expect(w.record(1200)).toBe(3);
    expect(w.record(1300)).toBe(4);
    expect(w.exceeds(4)).toBe(true);
    expect(w.window(1300)).toEqual([400, 800, 1200, 1300]);
    expect(w.window(5000)).toEqual([]);
  });

  test('a restart exactly withinMs ago is outside the window', () => {
    const w = new RestartIntensity(1, 100);
    w.record(0);
    expect(w.record(100)).toBe(1);
  });

  test('Infinity never exceeds and memory stays bounded by the window', () => {
    const w = new RestartIntensity(Number.POSITIVE_INFINITY, 10);
    for (let t = 0; t < 10_000; t++) w.record(t);
    expect(w.exceeds(1e9)).toBe(false);
    expect(w.window(9_999)).toHaveLength(10);
  });
});

describe('restart intensity of a supervisor', () => {
  const spec = (maxRestarts: number, withinMs: number) => ({
    id: 'edge', maxRestarts, withinMs,
    children: [
      { id: 'x', logic: workerMachine, input: { ignoreClose: true }, shutdownMs: 300 },
      { id: 'y', logic: workerMachine },
      { id: 'z', logic: workerMachine, backoff: constantBackoff({ delayMs: 0 }) },
    ],
  });

  test('restarts spread wider than withinMs never exceed it (old restarts expire)', async () => {
    const v = virtualRuntime();
    const edge = v.rt.createSupervisor(spec(3, 1000));
    for (let i = 0; i < 8; i++) {
      edge.childRef('z')!.send({ type: 'DIE' });
      v.advance(400);
    }
    expect(v.of('restart')).toHaveLength(8);
    expect(v.of('escalation')).toHaveLength(0);
    expect(edge.ref?.getSnapshot().context.restartLog).toEqual([2000, 2400, 2800]);
    await v.shutdown();
  });

  test('one restart too many within the window: stop all children in reverse order (forcing the stubborn one), then escalate', async () => {
    const v = virtualRuntime({ maxRestarts: 5 });
    const edge = v.rt.createSupervisor(spec(3, 1000));
    for (const t of [0, 400, 800, 1200]) {
      v.advance(t - v.vts.frame);
      edge.childRef('z')!.send({ type: 'DIE' });
    }
    // The restart at 0 expired by 1200: still 3 in the window. The next one, at 1300, is the 4th.
    expect(v.of('escalation')).toHaveLength(0);
    v.advance(100);
    v.events.length = 0;
    edge.childRef('z')!.send({ type: 'DIE' });

    const [esc] = v.of('escalation');
    expect(esc).toMatchObject({ id: 'edge', path: 'root/edge', reason: 'restart-intensity', child: 'z', restarts: 4, at: 1300 });
    expect(esc!.error.message).toBe(
      'supervisor root/edge gave up: child "z" exited (dead-ish) and 4 restarts within 1000 ms exceed maxRestarts 3',
    );
    expect(hasCode(esc!.error, 'WW_RESTART_INTENSITY')).toBe(true);
    // y (started after x) is stopped first; x ignores CLOSE and is forced after its 300 ms.
    expect(v.of('child-exit').map((e) => `${e.id}:${e.reason}@${e.at}`)).toEqual(['z:dead-ish@1300', 'y:closed@1300']);
    v.advance(299);
    expect(edge.ref?.getSnapshot().value).toBe('failing');
    v.advance(1);
    expect(v.of('child-exit').map((e) => `${e.path}:${e.reason}:${e.normal}@${e.at}`)).toEqual([
      'root/edge/z:dead-ish:false@1300', 'root/edge/y:closed:true@1300', 'root/edge/x:killed:false@1600',
      'root/edge:restart-intensity:false@1600',
    ]);
    // The root treats the failure as its child's abnormal exit: it restarts edge (maxRestarts 5), children and all.
    expect(v.of('restart').map((e) => [e.path, e.reason])).toEqual([['root/edge', 'restart-intensity']]);
    v.advance(100);
    expect(edge.children().map((c) => [c.id, c.state, c.restarts])).toEqual([['x', 'ready', 0], ['y', 'ready', 0], ['z', 'ready', 0]]);
    await v.shutdown();
    expect(v.vts.actions).toHaveLength(0);
  });

  test('the escalation reaches the root supervisor: the runtime fails, it does not throw', async () => {
    const v = virtualRuntime();
    const edge = v.rt.createSupervisor(spec(0, 1000));
    edge.childRef('z')!.send({ type: 'DIE' });
    v.advance(300);
    expect(v.rt.state).toBe('failed');
    await expect(v.rt.done).rejects.toMatchObject({ code: 'WW_RESTART_INTENSITY' });
    expect(v.of('runtime-failed')).toHaveLength(1);
    expect(v.vts.actions).toHaveLength(0);
  });
});
