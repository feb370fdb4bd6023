import { RESTART_BATCH } from '../../src/supervisor/restart-pacer.js';
import { describe, expect, test } from 'vitest';
import { constantBackoff } from '../../src/supervisor/backoff.js';
import { hasCode } from '../../src/errors.js';
import { virtualRuntime } from './helpers/virtual-runtime.js';
import { workerMachine } from './helpers/worker-machine.js';

const code = (c: string) => (e: unknown) => hasCode(e, c as never);

describe('dynamic children', () => {
  test('startChild, children(), terminateChild, and the errors of each', async () => {
    const v = virtualRuntime();
    const s = v.rt.createSupervisor({ id: 's' });
    s.startChild({ id: 'a', logic: workerMachine, input: { dialMs: 100 } });
    v.advance(30);
    s.startChild({ id: 'b', logic: workerMachine });
    expect(s.children()).toEqual([
      { id: 'a', state: 'dialing', restarts: 0, since: 0, attempt: 0 },
      { id: 'b', state: 'ready', restarts: 0, since: 30, attempt: 0 },
    ]);
    expect(() => s.startChild({ id: 'a', logic: workerMachine })).toThrow(expect.objectContaining({
      code: 'WW_CHILD_EXISTS', message: 'supervisor root/s already has a child "a"',
    }));
    expect(() => s.startChild({ id: 'c', logic: workerMachine, restart: 'sometimes' as never })).toThrow(
      'child.restart must be one of "permanent", "transient", "temporary", got "sometimes"',
    );
    await expect(s.terminateChild('nope')).rejects.toSatisfy(code('WW_CHILD_NOT_FOUND'));
    await expect(s.restartChild('nope')).rejects.toThrow('supervisor root/s has no child "nope"');

    const a = s.childRef('a')!;
    await s.terminateChild('a');
    expect(a.getSnapshot().status).toBe('done');
    expect(s.children().map((c) => c.id)).toEqual(['b']);
    // A terminated child is forgotten: its id is free again, and it is not restarted.
    s.startChild({ id: 'a', logic: workerMachine });
    expect(s.children().map((c) => c.id)).toEqual(['b', 'a']);
    expect(v.of('restart')).toHaveLength(0);
    await v.shutdown();
  });

  test('terminateChild of a child that ignores CLOSE resolves once it is forced', async () => {
    const v = virtualRuntime();
    const s = v.rt.createSupervisor({ id: 's', children: [{ id: 'w', logic: workerMachine, input: { ignoreClose: true }, shutdownMs: 250 }] });
    let resolved = false;
    const p = s.terminateChild('w').then(() => (resolved = true));
    v.advance(249);
    await Promise.resolve();
    expect(resolved).toBe(false);
    v.advance(1);
    await p;
    expect(v.of('child-exit')[0]).toMatchObject({ reason: 'killed', at: 250 });
    expect(s.children()).toEqual([]);
    await v.shutdown();
  });

  test('restartChild restarts at once, resets the attempt, and cancels a pending backoff', async () => {
    const v = virtualRuntime();
    const s = v.rt.createSupervisor({ id: 's', children: [{ id: 'w', logic: workerMachine, backoff: constantBackoff({ delayMs: 10_000 }) }] });
    const first = s.childRef('w')!;
    await s.restartChild('w');
    expect(first.getSnapshot().status).toBe('done');
    expect(s.childRef('w')).not.toBe(first);
    expect(s.children()[0]).toMatchObject({ state: 'ready', restarts: 1 });

    s.childRef('w')!.send({ type: 'DIE' });
    expect(s.children()[0]!.state).toBe('restarting');
    await s.restartChild('w');
    expect(s.children()[0]).toMatchObject({ state: 'ready', restarts: 3 });
    expect(s.children()[0]!.attempt).toBe(0);
    // The 10 s backoff timer is gone: nothing restarts the child a second time.
    const current = s.childRef('w');
    v.advance(20_000);
    expect(s.childRef('w')).toBe(current);
    await v.shutdown();
  });

  test('whenChildState resolves on the state, rejects when the child goes away or the signal aborts', async () => {
    const v = virtualRuntime();
    const s = v.rt.createSupervisor({ id: 's' });
    s.startChild({ id: 'a', logic: workerMachine, input: { dialMs: 100 }, restart: 'temporary' });
    const ready = s.whenChildState('a', 'ready');
    v.advance(100);
    await ready;
    await expect(s.whenChildState('a', (st) => st.startsWith('rea'))).resolves.toBeUndefined();

    const gone = s.whenChildState('a', 'never');
    s.childRef('a')!.send({ type: 'DIE' });
    await expect(gone).rejects.toSatisfy(code('WW_CHILD_NOT_FOUND'));

    s.startChild({ id: 'b', logic: workerMachine });
    const ac = new AbortController();
    const aborted = s.whenChildState('b', 'never', { signal: ac.signal });
    ac.abort(new Error('enough'));
    await expect(aborted).rejects.toSatisfy(code('WW_ABORTED'));
    await expect(s.whenChildState('zzz', 'ready')).rejects.toSatisfy(code('WW_CHILD_NOT_FOUND'));
    await v.shutdown();
  });

  test('1,000 dynamic children under one-for-one: start, restart a tenth, report, shut down', async () => {
    const v = virtualRuntime({ maxRestarts: 0 });
    const s = v.rt.createSupervisor({ id: 'pool', maxRestarts: 1000, withinMs: 60_000 });
    const started = performance.now();
    for (let i = 0; i < 1000; i++) {
      s.startChild({ id: `c${i}`, logic: workerMachine, input: { dialMs: 10 }, backoff: constantBackoff({ delayMs: 100 }) });
    }
    v.advance(10);
    expect(s.children().filter((c) => c.state === 'ready')).toHaveLength(1000);
    for (let i = 0; i < 1000; i += 10) s.childRef(`c${i}`)!.send({ type: 'DIE' });
    expect(s.children().filter((c) => c.state === 'restarting')).toHaveLength(100);
    v.advance(110);
    // 100 restarts fall due at once: RESTART_BATCH start in that turn, the next batch one
    // turn (1 ms) later, and so on.
    expect(s.children().filter((c) => c.state !== 'ready')).toHaveLength(100 - RESTART_BATCH);
    v.advance(Math.ceil(100 / RESTART_BATCH) - 1);
    const children = s.children();
    expect(children).toHaveLength(1000);
    expect(children.every((c) => c.state === 'ready')).toBe(true);
    expect(children.filter((c) => c.restarts === 1).map((c) => c.id)).toEqual(Array.from({ length: 100 }, (_, k) => `c${k * 10}`));
    expect(children.map((c) => c.id).slice(0, 3)).toEqual(['c0', 'c1', 'c2']);
    await v.shutdown();
    expect(v.of('child-exit').filter((e) => e.reason === 'closed')).toHaveLength(1000);
    expect(v.vts.actions).toHaveLength(0);
    // Generous bound on a shared 2-core machine; quadratic bookkeeping would blow through it.
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
