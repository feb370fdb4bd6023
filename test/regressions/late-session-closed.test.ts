/**
 * Regression: a session whose `open` resolved after the handshake timed out (or after
 * CLOSE) was dropped without `protocol.close`, leaking whatever a custom session holds.
 */
import { describe, expect, it } from 'vitest';
import { VirtualTimeScheduler } from 'rxjs';
import { createActor } from 'xstate';
import { PassThrough } from 'node:stream';
import { connectionMachine } from '../../src/actors/connection-machine.js';
import { connectionState } from '../../src/actors/live-connection.js';
import { custom } from '../../src/transport/custom.js';
import { advanceTo, settle } from '../actors/helpers/virtual-connection.js';

function lateProtocol(vts: VirtualTimeScheduler, openAfterMs: number) {
  const closed: string[] = [];
  const protocol = custom<{ name: string }>({
    open: () => new Promise((resolve) => vts.schedule(() => resolve({ name: 'late' }), openAfterMs)),
    probe: async () => {},
    close: async (session) => {
      closed.push(session.name);
    },
  });
  return { protocol, closed };
}

function start(vts: VirtualTimeScheduler, protocol: ReturnType<typeof lateProtocol>['protocol']) {
  const actor = createActor(connectionMachine, {
    input: {
      endpoint: { host: '127.0.0.1', port: 7000 },
      protocol,
      transport: { kind: 'memory', dial: async () => new PassThrough() },
      scheduler: vts,
      handshakeTimeoutMs: 100,
      loadSource: () => 0,
    },
  });
  actor.subscribe({ error: () => {} });
  return actor.start();
}

describe('a session that opens too late', () => {
  it('is closed when the handshake already timed out', async () => {
    const vts = new VirtualTimeScheduler();
    const { protocol, closed } = lateProtocol(vts, 500);
    const actor = start(vts, protocol);
    await advanceTo(vts, 150);
    expect(actor.getSnapshot().output?.reason).toBe('handshake-failed');
    await advanceTo(vts, 600);
    await settle();
    expect(closed).toEqual(['late']);
  });

  it('is closed when CLOSE came first', async () => {
    const vts = new VirtualTimeScheduler();
    const { protocol, closed } = lateProtocol(vts, 50);
    const actor = start(vts, protocol);
    await advanceTo(vts, 10);
    expect(connectionState(actor.getSnapshot())).toBe('dialing');
    actor.send({ type: 'CLOSE' });
    await advanceTo(vts, 100);
    await settle();
    expect(actor.getSnapshot().output?.reason).toBe('closed');
    expect(closed).toEqual(['late']);
  });
});
