import { describe, expect, test } from 'vitest';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { VirtualTimeScheduler } from 'rxjs';
import { createRuntime } from '../src/runtime.js';
import { servicesOf } from '../src/services.js';
import { EventBus, type RuntimeEvent } from '../src/observe/events.js';
import { EVENT_CHANNEL } from '../src/observe/diagnostics.js';
import { constantBackoff } from '../src/supervisor/backoff.js';
import { hasCode } from '../src/errors.js';
import { virtualRuntime } from './supervisor/helpers/virtual-runtime.js';
import { workerMachine } from './supervisor/helpers/worker-machine.js';

const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('createRuntime', () => {
  test('binds its scheduler and random source to the actor system and runs the root on them', async () => {
    const vts = new VirtualTimeScheduler();
    const random = () => 0.25;
    const rt = createRuntime({ scheduler: vts, random });
    expect(rt.scheduler).toBe(vts);
    expect(servicesOf(rt.root.system)).toMatchObject({ scheduler: vts, random });
    expect(rt.root.getSnapshot()).toMatchObject({ status: 'active', value: 'running', context: { path: 'root', maxRestarts: 0 } });
    // The XState clock is the scheduler too: a machine's `after` waits in virtual time.
    const s = rt.createSupervisor({ id: 's', children: [{ id: 'w', logic: workerMachine, input: { dialMs: 1000 } }] });
    vts.maxFrames = 999;
    vts.flush();
    expect(s.children()[0]!.state).toBe('dialing');
    vts.maxFrames = Number.POSITIVE_INFINITY;
    vts.flush();
    expect(s.children()[0]!.state).toBe('ready');
    const done = rt.shutdown();
    vts.flush();
    await done;
    await rt.done;
    expect(rt.state).toBe('stopped');
  });

  test('on the real clock, shutdown leaves no timer behind (restart delays, machine delays, shutdown deadlines)', async () => {
    const before = timeouts();
    const rt = createRuntime();
    const s = rt.createSupervisor({
      id: 's',
      children: [
        { id: 'dialer', logic: workerMachine, input: { dialMs: 60_000 } },
        { id: 'flappy', logic: workerMachine, backoff: constantBackoff({ delayMs: 60_000 }) },
        { id: 'slow', logic: workerMachine, input: { closeMs: 20 } },
      ],
    });
    s.childRef('flappy')!.send({ type: 'DIE' });
    expect(timeouts()).toBeGreaterThan(before);
    await rt.shutdown();
    expect(timeouts()).toBe(before);
    expect(rt.root.getSnapshot().status).toBe('done');
  });

  test('Symbol.asyncDispose shuts down; done resolves after shutdown', async () => {
    const v = virtualRuntime();
    let settled = false;
    void v.rt.done.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    const p = v.rt[Symbol.asyncDispose]();
    v.vts.flush();
    await p;
    await v.rt.done;
    expect(settled).toBe(true);
  });

  test('events$ carries typed events with paths, including the root’s own state', async () => {
    const v = virtualRuntime();
    v.rt.createSupervisor({ id: 'edge', children: [{ id: 'a', logic: workerMachine }] });
    await v.shutdown();
    const types = new Set(v.events.map((e) => e.type));
    expect(types).toEqual(new Set(['state', 'child-exit', 'shutdown']));
    expect(v.of('state').filter((e) => e.path === 'root').map((e) => `${e.from}→${e.to}`)).toEqual(['running→stopping', 'stopping→stopped']);
    expect(v.of('state').find((e) => e.path === 'root/edge/a')).toEqual({ type: 'state', id: 'a', path: 'root/edge/a', from: 'starting', to: 'ready', at: 0 });
  });

  test('publishes every event on the wirewarden:event diagnostics channel while it has subscribers', async () => {
    const vts = new VirtualTimeScheduler();
    const rt = createRuntime({ scheduler: vts });
    const seen: RuntimeEvent[] = [];
    const listener = (message: unknown) => seen.push(message as RuntimeEvent);
    subscribe(EVENT_CHANNEL, listener);
    try {
      const s = rt.createSupervisor({ id: 's', children: [{ id: 'w', logic: workerMachine, backoff: constantBackoff({ delayMs: 5 }) }] });
      s.childRef('w')!.send({ type: 'DIE' });
      vts.flush();
    } finally {
      unsubscribe(EVENT_CHANNEL, listener);
    }
    expect(seen.map((e) => e.type)).toEqual(['state', 'state', 'state', 'child-exit', 'restart', 'state', 'state']);
    const done = rt.shutdown();
    vts.flush();
    await done;
  });

  test('an idle bus reports inactive, so producers skip building events', () => {
    const bus = new EventBus();
    expect(bus.active).toBe(false);
    const sub = bus.events$.subscribe(() => {});
    expect(bus.active).toBe(true);
    sub.unsubscribe();
    expect(bus.active).toBe(false);
    bus.complete();
    expect(bus.active).toBe(false);
  });
});

describe('shutdown ordering and failures', () => {
  test('registered closeables close last-first, before the supervision tree stops', async () => {
    const v = virtualRuntime();
    const s = v.rt.createSupervisor({ id: 's', children: [{ id: 'w', logic: workerMachine }] });
    const log: string[] = [];
    v.rt.register({ close: async () => void log.push(`first (w ${s.children()[0]?.state})`) });
    const unregister = v.rt.register({ close: () => void log.push('never') });
    v.rt.register({ close: async () => void log.push(`last (w ${s.children()[0]?.state})`) });
    unregister();
    v.rt.events$.subscribe((e) => e.type === 'child-exit' && log.push(`exit ${e.id}`));
    const done = v.rt.shutdown();
    await new Promise((resolve) => setImmediate(resolve));
    v.vts.flush();
    await done;
    expect(log).toEqual(['last (w ready)', 'first (w ready)', 'exit w', 'exit s']);
  });

  test('a closeable that fails does not stop the shutdown; shutdown rejects with its error afterwards', async () => {
    const v = virtualRuntime();
    v.rt.createSupervisor({ id: 's', children: [{ id: 'w', logic: workerMachine }] });
    const boom = new Error('pool close failed');
    v.rt.register({ close: () => Promise.reject(boom) });
    const done = v.rt.shutdown();
    await expect(done).rejects.toBe(boom);
    expect(v.rt.state).toBe('stopped');
    expect(v.rt.root.getSnapshot().status).toBe('done');
    await v.rt.done;
  });

  test('a root failure emits runtime-failed, rejects done, closes the closeables and ends the stream', async () => {
    const v = virtualRuntime();
    let completed = false;
    v.rt.events$.subscribe({ complete: () => (completed = true) });
    let closed = false;
    v.rt.register({ close: () => void (closed = true) });
    const s = v.rt.createSupervisor({ id: 's', maxRestarts: 0, children: [{ id: 'w', logic: workerMachine }] });
    s.childRef('w')!.send({ type: 'DIE' });
    await expect(v.rt.done).rejects.toSatisfy((e: unknown) => hasCode(e, 'WW_RESTART_INTENSITY'));
    expect(v.of('runtime-failed')).toHaveLength(1);
    await v.rt.shutdown();
    expect(closed).toBe(true);
    expect(completed).toBe(true);
    expect(v.vts.actions).toHaveLength(0);
  });

  test('maxRestarts lets the root restart a failed top-level supervisor instead of failing', async () => {
    const v = virtualRuntime({ maxRestarts: 1 });
    const s = v.rt.createSupervisor({ id: 's', maxRestarts: 0, children: [{ id: 'w', logic: workerMachine }] });
    const first = s.ref;
    s.childRef('w')!.send({ type: 'DIE' });
    v.advance(1000);
    expect(v.rt.state).toBe('running');
    expect(s.ref).not.toBe(first);
    expect(s.children()).toMatchObject([{ id: 'w', state: 'ready' }]);
    await v.shutdown();
  });
});
