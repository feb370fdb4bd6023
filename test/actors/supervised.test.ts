/**
 * The connection actor as a supervisor's child in a virtual-time runtime: it takes the
 * runtime's scheduler, random and load gauge when its input names none; a death is
 * restarted by the supervisor (the machine itself never retries); CLOSE from the
 * supervisor's shutdown ends it normally and leaves nothing scheduled.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualTimeScheduler } from 'rxjs';
import { connectionMachine } from '../../src/actors/connection-machine.js';
import { connectionState, liveConnection } from '../../src/actors/live-connection.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { FakeProtocol } from './helpers/fake-protocol.js';
import { FakeTransport } from './helpers/fake-transport.js';
import { advanceTo, settle } from './helpers/virtual-connection.js';

let rt: Runtime | undefined;
afterEach(async () => {
  if (rt && rt.state === 'running') {
    const done = rt.shutdown();
    await settle();
    await done;
  }
  rt = undefined;
});

describe('under a supervisor', () => {
  it('uses the runtime services, is restarted after dying, and shuts down cleanly', async () => {
    const vts = new VirtualTimeScheduler();
    rt = createRuntime({ scheduler: vts, random: () => 0.25, loadSource: () => 0 });
    const transport = new FakeTransport({ scheduler: vts });
    const protocol = new FakeProtocol({ scheduler: vts, probe: { replyMs: 3 } });
    const edge = rt.createSupervisor({
      id: 'edge',
      children: [{ id: 'conn', logic: connectionMachine, input: { endpoint: { port: 7000 }, protocol, transport, heartbeat: { intervalMs: 4000 } } }],
    });
    await advanceTo(vts, 0);
    const first = edge.childRef('conn')!;
    expect(connectionState(first.getSnapshot())).toBe('ready');
    // The runtime's random (0.25) sets the phase; its scheduler runs the probe.
    await advanceTo(vts, 1003);
    expect(protocol.probes.map((p) => p.at)).toEqual([1000]);
    expect(liveConnection(first)?.rttMs).toBe(3);

    transport.last.server!.end();
    await advanceTo(vts, 1004);
    expect(first.getSnapshot().output?.reason).toBe('peer-closed');
    await advanceTo(vts, 60_000); // the supervisor's backoff, then a fresh incarnation
    const second = edge.childRef('conn')!;
    expect(second).not.toBe(first);
    expect(connectionState(second.getSnapshot())).toBe('ready');
    expect(transport.dials).toHaveLength(2);
    expect(edge.children()[0]).toMatchObject({ id: 'conn', restarts: 1 });

    const done = rt.shutdown();
    await advanceTo(vts, 61_000);
    await done;
    expect(second.getSnapshot().output?.reason).toBe('closed');
    expect(protocol.closeCalls).toBe(1);
    expect(transport.dials.every((d) => d.client!.destroyed)).toBe(true);
    expect(vts.actions).toHaveLength(0);
  });
});
