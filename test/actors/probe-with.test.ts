/**
 * The callback probe (`probeWith`) of a real `wire()` session over an in-memory stream,
 * in virtual time: every idle tick probes (the PONG's chunk is not counted as traffic),
 * the RTT is recorded, and other inbound traffic while a probe is out ends `probing`.
 */
import { describe, expect, it } from 'vitest';
import type { ProbeListener } from '../../src/transport/types.js';
import { advanceTo, virtualConnection } from './helpers/virtual-connection.js';
import { wirePeerConnection } from './helpers/wire-peer.js';

const connection = () => wirePeerConnection({ intervalMs: 1000, maxTimeoutMs: 300 });

describe('probeWith over wire()', () => {
  it('probes on every idle tick and records each RTT (a reply is not traffic)', async () => {
    const c = connection();
    await advanceTo(c.vts, 5600);
    const ctx = c.actor.getSnapshot().context;
    expect(c.peer.state.pings).toBe(6); // 500, 1500, …, 5500
    expect(ctx).toMatchObject({ probesSent: 6, probesFailed: 0, falseSuspicions: 0 });
    expect(ctx.rttMs).toBe(0); // virtual time stands still while the stream answers
    expect(c.actor.getSnapshot().value).toBe('ready');
    c.actor.stop();
  });

  it('a push while the probe is out ends probing at once; the late PONG is ignored', async () => {
    const c = connection();
    await advanceTo(c.vts, 400);
    c.peer.state.delayMs = null;
    await advanceTo(c.vts, 500);
    expect(c.actor.getSnapshot().value).toBe('probing');
    c.peer.push({ hello: 'world' });
    await advanceTo(c.vts, 510);
    expect(c.actor.getSnapshot().value).toBe('ready');
    expect(c.actor.getSnapshot().context).toMatchObject({ probesSent: 1, probesFailed: 0, since: 500 });
    c.actor.stop();
  });
});

describe('probeWith of a custom protocol', () => {
  it('an answer settled outside any chunk (from a timer) does not make the next chunk invisible', async () => {
    const c = virtualConnection({ heartbeat: { intervalMs: 1000, maxTimeoutMs: 300 } });
    const sent: number[] = [];
    // Answers its first probe 5 ms later from a timer — no inbound chunk, so no markAlive
    // follows the answer — and never answers the second.
    Object.assign(c.protocol, {
      probeWith(_session: unknown, _signal: AbortSignal, listener: ProbeListener, token: number) {
        sent.push(c.vts.now());
        if (sent.length === 1) c.vts.schedule(() => listener.probeSettled(token, true), 5);
      },
    });
    await c.advanceTo(505);
    expect(c.state()).toBe('ready');
    expect(c.actor.getSnapshot().context.rttMs).toBe(5);
    await c.advanceTo(1500);
    expect(sent).toEqual([500, 1500]);
    expect(c.state()).toBe('probing');
    // Traffic while the second probe is out ends probing at once, as any traffic does.
    c.transport.last.server!.write('x');
    await c.advanceTo(1510);
    expect(c.state()).toBe('ready');
    expect(c.actor.getSnapshot().context).toMatchObject({ probesSent: 2, probesFailed: 0, since: 1500 });
    c.actor.stop();
  });
});
