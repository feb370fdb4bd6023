import { describe, expect, test } from 'vitest';
import { createActor } from 'xstate';
import { constantBackoff } from '../../src/supervisor/backoff.js';
import { supervisorChild, supervisorLogic } from '../../src/supervisor/supervisor-logic.js';
import { createSupervisorHandle } from '../../src/supervisor/supervisor-handle.js';
import { hasCode } from '../../src/errors.js';
import { virtualRuntime } from './helpers/virtual-runtime.js';
import { workerMachine } from './helpers/worker-machine.js';

describe('shutdown', () => {
  test('a child that ignores CLOSE is forced after its shutdownMs; the others stop in reverse start order', async () => {
    const v = virtualRuntime();
    let completed = false;
    v.rt.events$.subscribe({ complete: () => (completed = true) });
    const s = v.rt.createSupervisor({
      id: 's',
      children: [
        { id: 'a', logic: workerMachine },
        { id: 'b', logic: workerMachine, input: { ignoreClose: true }, shutdownMs: 500 },
        { id: 'c', logic: workerMachine },
      ],
    });
    const refs = ['a', 'b', 'c'].map((id) => s.childRef(id)!);
    v.events.length = 0;
    const done = v.rt.shutdown();
    expect(v.rt.shutdown()).toBe(done);
    expect(v.rt.state).toBe('stopping');
    v.advance(499);
    expect(v.of('child-exit').map((e) => e.id)).toEqual(['c']);
    v.advance(1);
    await done;
    expect(v.of('child-exit').map((e) => `${e.path}:${e.reason}@${e.at}`)).toEqual([
      'root/s/c:closed@0', 'root/s/b:killed@500', 'root/s/a:closed@500', 'root/s:shutdown@500',
    ]);
    expect(v.events.at(-1)).toEqual({ type: 'shutdown', at: 500 });
    expect(v.rt.state).toBe('stopped');
    expect(refs.map((r) => r.getSnapshot().status)).toEqual(['done', 'stopped', 'done']);
    expect(v.rt.root.getSnapshot()).toMatchObject({ status: 'done', output: { reason: 'shutdown' } });
    expect(v.vts.actions).toHaveLength(0);
    expect(completed).toBe(true);
    await expect(v.rt.done).resolves.toBeUndefined();
  });

  test('shutdownMs 0 forces at once, without CLOSE', async () => {
    const v = virtualRuntime();
    const s = v.rt.createSupervisor({ id: 's', children: [{ id: 'a', logic: workerMachine, input: { closeMs: 100 }, shutdownMs: 0 }] });
    const ref = s.childRef('a')!;
    const done = v.rt.shutdown();
    expect(ref.getSnapshot().status).toBe('stopped');
    expect(v.of('child-exit')[0]).toMatchObject({ id: 'a', reason: 'killed', normal: false, at: 0 });
    await done;
  });

  test('a nested supervisor stops its own children (reverse order) before its parent moves on', async () => {
    const v = virtualRuntime();
    v.rt.createSupervisor({
      id: 'edge',
      children: [
        { id: 'a', logic: workerMachine },
        supervisorChild({ id: 'inner', children: [{ id: 'x', logic: workerMachine }, { id: 'y', logic: workerMachine, input: { closeMs: 30 } }] }),
        { id: 'b', logic: workerMachine, input: { closeMs: 20 } },
      ],
    });
    v.events.length = 0;
    await v.shutdown();
    expect(v.of('child-exit').map((e) => `${e.path}@${e.at}`)).toEqual([
      'root/edge/b@20', 'root/edge/inner/y@50', 'root/edge/inner/x@50', 'root/edge/inner@50', 'root/edge/a@50', 'root/edge@50',
    ]);
    expect(v.vts.actions).toHaveLength(0);
  });

  test('pending restart delays are cancelled: nothing stays scheduled', async () => {
    const v = virtualRuntime();
    const s = v.rt.createSupervisor({ id: 's', children: [{ id: 'w', logic: workerMachine, backoff: constantBackoff({ delayMs: 60_000 }) }] });
    s.childRef('w')!.send({ type: 'DIE' });
    expect(v.vts.actions.length).toBeGreaterThan(0);
    const done = v.rt.shutdown();
    expect(v.vts.actions).toHaveLength(0);
    await done;
    expect(v.vts.frame).toBe(0);
  });

  test('after shutdown every entry point refuses with WW_RUNTIME_SHUT_DOWN', async () => {
    const v = virtualRuntime();
    const s = v.rt.createSupervisor({ id: 's', children: [{ id: 'w', logic: workerMachine }] });
    await v.shutdown();
    expect(() => v.rt.createSupervisor({ id: 't' })).toThrow(expect.objectContaining({ code: 'WW_RUNTIME_SHUT_DOWN' }));
    expect(() => s.startChild({ id: 'z', logic: workerMachine })).toThrow(expect.objectContaining({ code: 'WW_RUNTIME_SHUT_DOWN' }));
    expect(() => v.rt.register({ close() {} })).toThrow(expect.objectContaining({ code: 'WW_RUNTIME_SHUT_DOWN' }));
    await expect(s.terminateChild('w')).rejects.toSatisfy((e: unknown) => hasCode(e, 'WW_RUNTIME_SHUT_DOWN'));
    expect(s.children()).toEqual([]);
    expect(s.ref).toBeUndefined();
  });

  test('stopping a standalone supervisor actor (xstate.stop) stops its children at once', () => {
    const actor = createActor(supervisorLogic, {
      input: { id: 'solo', children: [{ id: 'a', logic: workerMachine }, { id: 'b', logic: workerMachine, input: { ignoreClose: true } }] },
    });
    actor.subscribe({ error: () => {} });
    actor.start();
    const snapshot = actor.getSnapshot();
    // The first snapshot already counts the static children (XState publishes it right after start).
    expect(snapshot.context).toMatchObject({ path: 'solo', childCounts: { running: 2, stopping: 0, restarting: 0, stopped: 0 } });
    const handle = createSupervisorHandle('solo', 'solo', () => actor);
    const refs = ['a', 'b'].map((id) => handle.childRef(id)!);
    actor.stop();
    expect(actor.getSnapshot().status).toBe('stopped');
    expect(refs.map((r) => r.getSnapshot().status)).toEqual(['stopped', 'stopped']);
  });
});
