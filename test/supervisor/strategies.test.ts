import { describe, expect, test } from 'vitest';
import { restartSet } from '../../src/supervisor/strategies.js';
import { constantBackoff } from '../../src/supervisor/backoff.js';
import type { Strategy } from '../../src/supervisor/supervisor-spec.js';
import { virtualRuntime } from './helpers/virtual-runtime.js';
import { workerMachine, type WorkerInput } from './helpers/worker-machine.js';

const backoff = constantBackoff({ delayMs: 100 });

function start(strategy: Strategy, inputs: Record<string, WorkerInput> = {}, extra: Record<string, object> = {}) {
  const v = virtualRuntime();
  const sup = v.rt.createSupervisor({
    id: 's', strategy,
    children: ['a', 'b', 'c'].map((id) => ({ id, logic: workerMachine, input: inputs[id] ?? {}, backoff, ...extra[id] })),
  });
  const refs = Object.fromEntries(['a', 'b', 'c'].map((id) => [id, sup.childRef(id)]));
  v.events.length = 0;
  return { ...v, sup, refs };
}

/** Child ids in the order they exited / became ready, with the time. */
const exits = (v: ReturnType<typeof start>) => v.of('child-exit').map((e) => `${e.id}:${e.reason}@${e.at}`);
const readies = (v: ReturnType<typeof start>) => v.of('state').filter((e) => e.to === 'ready').map((e) => `${e.id}@${e.at}`);

describe('restartSet', () => {
  const all = ['a', 'b', 'c', 'd'];
  test('one-for-one: only the failed child', () => expect(restartSet('one-for-one', all, 'b')).toEqual(['b']));
  test('one-for-all: every child in start order', () => expect(restartSet('one-for-all', all, 'c')).toEqual(['a', 'b', 'c', 'd']));
  test('rest-for-one: the failed child and those started after it', () => expect(restartSet('rest-for-one', all, 'b')).toEqual(['b', 'c', 'd']));
});

describe('strategies in a running supervisor', () => {
  test('one-for-one restarts only the child that died; its siblings keep their actors', async () => {
    const v = start('one-for-one');
    v.refs.b!.send({ type: 'DIE' });
    v.advance(100);
    expect(exits(v)).toEqual(['b:dead-ish@0']);
    expect(readies(v)).toEqual(['b@100']);
    expect(v.sup.childRef('a')).toBe(v.refs.a);
    expect(v.sup.childRef('c')).toBe(v.refs.c);
    expect(v.sup.childRef('b')).not.toBe(v.refs.b);
    expect(v.sup.children().map((c) => [c.id, c.state, c.restarts])).toEqual([['a', 'ready', 0], ['b', 'ready', 1], ['c', 'ready', 0]]);
    await v.shutdown();
  });

  test('one-for-all stops the others in reverse start order, one at a time, then starts all in order after the delay', async () => {
    // c takes 50 ms to close: a must not get CLOSE before c is down (sequential), and the delay starts after both.
    const v = start('one-for-all', { c: { closeMs: 50 } });
    v.refs.b!.send({ type: 'DIE' });
    v.advance(49);
    expect(exits(v)).toEqual(['b:dead-ish@0']);
    expect(v.refs.a!.getSnapshot().value).toBe('ready');
    v.advance(1);
    expect(exits(v)).toEqual(['b:dead-ish@0', 'c:closed@50', 'a:closed@50']);
    v.advance(99);
    expect(readies(v)).toEqual([]);
    expect(v.sup.children().map((c) => c.state)).toEqual(['restarting', 'restarting', 'restarting']);
    v.advance(1);
    expect(readies(v)).toEqual(['a@150', 'b@150', 'c@150']);
    const restarts = v.of('restart');
    expect(restarts.map((e) => [e.id, e.trigger, e.reason, e.delayMs])).toEqual([
      ['a', 'b', 'dead-ish', 100], ['b', undefined, 'dead-ish', 100], ['c', 'b', 'dead-ish', 100],
    ]);
    for (const id of ['a', 'b', 'c']) expect(v.sup.childRef(id)).not.toBe(v.refs[id]);
    await v.shutdown();
  });

  test('rest-for-one restarts the child and the ones started after it, not the ones before', async () => {
    const v = start('rest-for-one');
    v.refs.b!.send({ type: 'DIE' });
    v.advance(100);
    expect(exits(v)).toEqual(['b:dead-ish@0', 'c:closed@0']);
    expect(readies(v)).toEqual(['b@100', 'c@100']);
    expect(v.sup.childRef('a')).toBe(v.refs.a);
    expect(v.sup.children().map((c) => c.restarts)).toEqual([0, 1, 1]);
    await v.shutdown();
  });

  test('rest-for-one: an earlier child failing while a later group waits absorbs that group (one restart each)', async () => {
    const v = start('rest-for-one');
    v.refs.c!.send({ type: 'DIE' });
    v.advance(50);
    v.refs.a!.send({ type: 'DIE' });
    v.advance(99);
    expect(readies(v)).toEqual([]);
    v.advance(1);
    expect(readies(v)).toEqual(['a@150', 'b@150', 'c@150']);
    expect(v.sup.children().map((c) => c.state)).toEqual(['ready', 'ready', 'ready']);
    await v.shutdown();
  });

  test('one-for-all stops all children at once with shutdownOrder "parallel"', async () => {
    const v = virtualRuntime();
    const sup = v.rt.createSupervisor({
      id: 's', strategy: 'one-for-all', shutdownOrder: 'parallel',
      children: ['a', 'b', 'c'].map((id) => ({ id, logic: workerMachine, input: { closeMs: 50 }, backoff })),
    });
    v.events.length = 0;
    sup.childRef('a')!.send({ type: 'DIE' });
    v.advance(50);
    expect(v.of('child-exit').map((e) => `${e.id}@${e.at}`)).toEqual(['a@0', 'c@50', 'b@50']);
    v.advance(100);
    expect(v.of('state').filter((e) => e.to === 'ready').map((e) => `${e.id}@${e.at}`)).toEqual(['a@150', 'b@150', 'c@150']);
    await v.shutdown();
  });

  test('a temporary sibling is stopped with the group and not restarted (OTP)', async () => {
    const v = start('one-for-all', {}, { c: { restart: 'temporary' } });
    v.refs.a!.send({ type: 'DIE' });
    v.advance(100);
    expect(exits(v)).toEqual(['a:dead-ish@0', 'c:closed@0', 'b:closed@0']);
    expect(v.sup.children().map((c) => c.id)).toEqual(['a', 'b']);
    expect(readies(v)).toEqual(['a@100', 'b@100']);
    await v.shutdown();
  });

  test('regression: a temporary sibling dropped by a group that a newer group absorbs is still stopped and removed', async () => {
    const v = start('rest-for-one', { c: { closeMs: 50 } }, { c: { restart: 'temporary' } });
    v.refs.b!.send({ type: 'DIE' }); // drops c (temporary), which takes 50 ms to close
    v.advance(10);
    v.refs.a!.send({ type: 'DIE' }); // absorbs b's group before c is down
    v.advance(200);
    expect(exits(v)).toEqual(['b:dead-ish@0', 'a:dead-ish@10', 'c:closed@50']);
    expect(v.refs.c!.getSnapshot().status).toBe('done');
    expect(v.sup.children().map((c) => `${c.id}:${c.state}`)).toEqual(['a:ready', 'b:ready']);
    expect(readies(v)).toEqual(['a@150', 'b@150']);
    await v.shutdown();
  });
});
