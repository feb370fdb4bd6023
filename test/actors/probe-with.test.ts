/**
 * The callback probe (`probeWith`) of a real `wire()` session over an in-memory stream,
 * in virtual time: every idle tick probes (the PONG's chunk is not counted as traffic),
 * the RTT is recorded, and other inbound traffic while a probe is out ends `probing`.
 */
import { describe, expect, it } from 'vitest';
import { advanceTo } from './helpers/virtual-connection.js';
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
