/**
 * Nothing outlives the actor: after a final state or `actor.stop()` from outside (which
 * skips exit actions) no scheduler action remains, the stream is destroyed, the dial or
 * probe is aborted — in virtual time, and with real timers on `asyncScheduler`. Also:
 * snapshots are plain data and never show the protocol's secret.
 */
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { connectionMachine } from '../../src/actors/connection-machine.js';
import { liveConnection } from '../../src/actors/live-connection.js';
import { FakeProtocol } from './helpers/fake-protocol.js';
import { FakeTransport } from './helpers/fake-transport.js';
import { settle, virtualConnection } from './helpers/virtual-connection.js';
import { asyncScheduler } from 'rxjs';

describe('stop from outside', () => {
  it('in connecting: the dial is aborted, no action left', async () => {
    const c = virtualConnection({ transport: { hang: true } });
    await c.advanceTo(5);
    expect(c.vts.actions.length).toBeGreaterThan(0); // the connect deadline
    c.actor.stop();
    await settle();
    expect(c.transport.last.aborted).toBe(true);
    expect(c.vts.actions).toHaveLength(0);
  });

  it('in handshaking: handshake timer gone, protocol signal aborted, stream destroyed', async () => {
    const c = virtualConnection({ protocol: { handshake: 'hang' } });
    await c.advanceTo(5);
    c.actor.stop();
    await settle();
    expect(c.vts.actions).toHaveLength(0);
    expect(c.protocol.openSignal?.aborted).toBe(true);
    expect(c.transport.last.client!.destroyed).toBe(true);
  });

  it('in ready: the heartbeat ticker is disposed, stream destroyed, session released', async () => {
    const c = virtualConnection({ heartbeat: { intervalMs: 1000 } });
    await c.advanceTo(100);
    expect(c.state()).toBe('ready');
    expect(c.vts.actions).toHaveLength(1); // the ticker
    c.actor.stop();
    await settle();
    expect(c.vts.actions).toHaveLength(0);
    expect(c.transport.last.client!.destroyed).toBe(true);
    expect(c.protocol.session!.ctx.signal.aborted).toBe(true);
    expect(liveConnection(c.actor)?.session).toBeUndefined();
    await c.advanceTo(10_000);
    expect(c.protocol.probes).toHaveLength(0);
    expect(c.errors).toEqual([]);
  });

  it('in probing and suspect: the probe is aborted and its timeout cancelled', async () => {
    for (const target of ['probing', 'suspect']) {
      const c = virtualConnection({ heartbeat: { intervalMs: 1000 }, protocol: { probe: 'hang' } });
      await c.runUntil(target);
      c.actor.stop();
      await settle();
      expect(c.vts.actions).toHaveLength(0);
      expect(c.protocol.probes.at(-1)!.settled).toBe('aborted');
      expect(c.transport.last.client!.destroyed).toBe(true);
    }
  });

  it('even when the transport or protocol ignores its abort signal', async () => {
    const dialing = virtualConnection({ transport: { deaf: true } });
    const handshaking = virtualConnection({ protocol: { handshake: 'deaf' } });
    for (const c of [dialing, handshaking]) {
      await c.advanceTo(5);
      expect(c.vts.actions).toHaveLength(1); // the connect or handshake deadline
      c.actor.stop();
      await settle();
      expect(c.vts.actions).toHaveLength(0);
    }
    expect(handshaking.transport.last.client!.destroyed).toBe(true);
  });

  it('in closing: the close deadline is cancelled', async () => {
    const c = virtualConnection({ protocol: { close: 'hang' }, heartbeat: { intervalMs: 10_000 } });
    await c.advanceTo(1);
    c.actor.send({ type: 'CLOSE' });
    c.actor.stop();
    await settle();
    expect(c.vts.actions).toHaveLength(0);
    expect(c.transport.last.client!.destroyed).toBe(true);
  });

  it('a stream closing after stop sends nothing and raises nothing', async () => {
    const c = virtualConnection({ heartbeat: { intervalMs: 1000 } });
    await c.advanceTo(1);
    c.actor.stop();
    await settle();
    // A late 'error' on the (destroyed) client must not escape as an uncaught exception.
    expect(() => c.transport.last.client!.emit('error', new Error('late'))).not.toThrow();
    c.transport.last.server!.end();
    await settle();
    expect(c.errors).toEqual([]);
  });
});

describe('final states leave nothing behind', () => {
  it('dead (heartbeat-timeout) and closed', async () => {
    const dead = virtualConnection({ heartbeat: { intervalMs: 1000, suspectProbes: 1 }, protocol: { probe: 'hang' } });
    await dead.runUntil('dead');
    await settle();
    expect(dead.vts.actions).toHaveLength(0);
    expect(dead.transport.last.client!.destroyed).toBe(true);

    const closed = virtualConnection({ heartbeat: { intervalMs: 1000 } });
    await closed.advanceTo(1);
    closed.actor.send({ type: 'CLOSE' });
    await closed.runUntil('closed');
    await settle();
    expect(closed.vts.actions).toHaveLength(0);
    expect(closed.transport.last.client!.destroyed).toBe(true);
  });
});

describe('real timers', () => {
  it('leaves no active timer after stop (asyncScheduler)', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const baseline = timers();
    const transport = new FakeTransport({ scheduler: asyncScheduler });
    const protocol = new FakeProtocol({ scheduler: asyncScheduler, probe: 'hang' });
    const actors = Array.from({ length: 20 }, () =>
      createActor(connectionMachine, {
        input: { endpoint: { port: 7000 }, protocol, transport, heartbeat: { intervalMs: 60_000 }, loadSource: () => 0 },
      }).start());
    await new Promise<void>((resolve) => {
      const check = () => (actors.every((a) => a.getSnapshot().value === 'ready') ? resolve() : setImmediate(check));
      check();
    });
    expect(timers()).toBeGreaterThan(baseline);
    for (const a of actors) a.stop();
    await settle();
    // At most the baseline: a timer another test left at the start may have fired since.
    expect(timers()).toBeLessThanOrEqual(baseline);
    expect(transport.dials.every((d) => d.client!.destroyed)).toBe(true);
  });
});

describe('snapshots are plain data', () => {
  function assertPlain(value: unknown, path = 'context'): void {
    if (value === null || value === undefined) return;
    const t = typeof value;
    if (t === 'string' || t === 'number' || t === 'boolean') return;
    expect(t, path).toBe('object');
    const proto = Object.getPrototypeOf(value);
    expect(proto === Object.prototype || proto === Array.prototype || proto === null, `${path} is a plain object`).toBe(true);
    for (const [k, v] of Object.entries(value as object)) assertPlain(v, `${path}.${k}`);
  }

  it('in every state, context holds only plain data and no secret', async () => {
    const c = virtualConnection({ heartbeat: { intervalMs: 1000 }, protocol: { probe: 'hang' } });
    const seen = new Set<string>();
    c.actor.subscribe((s) => {
      assertPlain(s.context);
      const json = JSON.stringify(s);
      expect(json).not.toContain(c.protocol.secret);
      seen.add(c.state());
    });
    assertPlain(c.actor.getSnapshot().context);
    await c.runUntil('dead');
    expect([...seen]).toEqual(expect.arrayContaining(['ready', 'probing', 'suspect', 'dead']));
    const persisted = JSON.stringify(c.actor.getPersistedSnapshot());
    expect(persisted).not.toContain(c.protocol.secret);
    expect(persisted).not.toMatch(/_readableState|_writableState/);
    expect(Object.keys(c.actor.getSnapshot().context.endpoint)).toEqual(['host', 'port']);
  });
});
