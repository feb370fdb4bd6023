import { expect, test } from 'vitest';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { supervisorChild } from '../../src/supervisor/supervisor-logic.js';
import { virtualRuntime } from './helpers/virtual-runtime.js';
import { workerMachine } from './helpers/worker-machine.js';

test('inspector events carry the supervision tree: every actor’s parent is its supervisor, one root for all', async () => {
  const seen: InspectionEvent[] = [];
  const v = virtualRuntime({ inspect: (e) => seen.push(e) });
  const edge = v.rt.createSupervisor({
    id: 'edge',
    children: [{ id: 'a', logic: workerMachine }, supervisorChild({ id: 'inner', children: [{ id: 'x', logic: workerMachine }] })],
  });
  edge.childRef('a')!.send({ type: 'DIE' });
  v.advance(1000);

  const actors = seen.filter((e) => e.type === '@xstate.actor').map((e) => e.actorRef as AnyActorRef);
  const byId = (id: string) => actors.filter((a) => a.id === id);
  const root = v.rt.root;
  const edgeRef = edge.ref!;
  const inner = edge.childRef('inner')!;
  expect(byId('root')).toEqual([root]);
  expect(byId('edge')[0]!._parent).toBe(root);
  expect(byId('inner')[0]!._parent).toBe(edgeRef);
  expect(byId('x')[0]!._parent).toBe(inner);
  // Both incarnations of `a` (before and after the restart) hang under edge.
  expect(byId('a')).toHaveLength(2);
  for (const a of byId('a')) expect(a._parent?.sessionId).toBe(edgeRef.sessionId);
  expect(new Set(seen.map((e) => e.rootId))).toEqual(new Set([root.sessionId]));

  // Supervisor snapshots are plain data: they survive JSON without losing the bookkeeping.
  const snap = seen.filter((e) => e.type === '@xstate.snapshot' && e.actorRef === edgeRef).at(-1) as Extract<InspectionEvent, { type: '@xstate.snapshot' }>;
  const json = JSON.parse(JSON.stringify(snap.snapshot)) as unknown;
  expect(json).toEqual({
    status: 'active', value: 'running',
    context: {
      id: 'edge', path: 'root/edge', strategy: 'one-for-one', maxRestarts: 10, withinMs: 60_000, shutdownOrder: 'reverse',
      restartLog: [0], childCounts: { running: 2, stopping: 0, restarting: 0, stopped: 0 },
    },
  });
  await v.shutdown();
});

test('an inspector attached later is told about existing actors, sees new ones, and detaches cleanly', async () => {
  const v = virtualRuntime();
  v.rt.createSupervisor({ id: 'early', children: [supervisorChild({ id: 'inner', children: [{ id: 'x', logic: workerMachine }] })] });
  const seen: string[] = [];
  const sub = v.rt.inspect((e) => {
    if (e.type === '@xstate.actor') seen.push(`${(e.actorRef as AnyActorRef)._parent?.id ?? '-'}/${(e.actorRef as AnyActorRef).id}`);
  });
  const s = v.rt.createSupervisor({ id: 's', children: [{ id: 'w', logic: workerMachine }] });
  sub.unsubscribe();
  s.startChild({ id: 'later', logic: workerMachine });
  expect(seen).toEqual(['-/root', 'root/early', 'early/inner', 'inner/x', 'root/s', 's/w']);
  await v.shutdown();
});
