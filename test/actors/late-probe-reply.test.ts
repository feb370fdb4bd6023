/**
 * A PONG that comes after its probe timed out is a round trip all the same (ping ids are
 * unique: no retransmission ambiguity), so it feeds the RTT estimator. Without that, a
 * path that became slower than `minTimeoutMs` makes every probe a false suspicion for as
 * long as the latency lasts: the suspicion ends as plain traffic and the timeout never
 * adapts. Real `wire()` session over an in-memory stream, in virtual time.
 */
import { describe, expect, it } from 'vitest';
import { advanceTo } from './helpers/virtual-connection.js';
import { wirePeerConnection } from './helpers/wire-peer.js';

const connection = () => wirePeerConnection({ intervalMs: 1000, minTimeoutMs: 100, maxTimeoutMs: 2000 });

describe('a probe answered after its timeout', () => {
  it('is an RTT sample: the timeout grows above a 150 ms latency and suspicions stop', async () => {
    const c = connection();
    // Fast replies first: the estimator settles on the 100 ms floor.
    await advanceTo(c.vts, 4900);
    expect(c.actor.getSnapshot().context).toMatchObject({ probeTimeoutMs: 100, falseSuspicions: 0 });
    c.peer.state.delayMs = 150;
    await advanceTo(c.vts, 30_000);
    const ctx = c.actor.getSnapshot().context;
    // The first slow probe times out and its late PONG (150 ms) is measured...
    expect(ctx.falseSuspicions).toBeLessThanOrEqual(2);
    expect(ctx.probesFailed).toBeLessThanOrEqual(2);
    // ...so the timeout adapted above the latency, and every later probe is answered in time.
    expect(ctx.probeTimeoutMs).toBeGreaterThan(150);
    expect(ctx.rttMs).toBe(150);
    expect(ctx.srttMs).toBeGreaterThan(100);
    expect(ctx.probesSent).toBe(30); // 500, 1500, …, 29_500
    expect(c.actor.getSnapshot().value).toBe('ready');
    const suspicionsSoFar = ctx.falseSuspicions;
    await advanceTo(c.vts, 60_000);
    expect(c.actor.getSnapshot().context.falseSuspicions).toBe(suspicionsSoFar);
    c.actor.stop();
  });

  it('a peer that never answers still goes suspect → dead within its bound', async () => {
    const c = connection();
    await advanceTo(c.vts, 4900);
    c.peer.state.delayMs = null;
    // Probe at 5500 (timeout 100), then suspect probes; window (1 + 2) × 2000 = 6000 ms.
    await advanceTo(c.vts, 5500 + 6000 + 1);
    expect(c.actor.getSnapshot().status).toBe('done');
    expect(c.states.slice(-3)).toEqual(['probing', 'suspect', 'dead']);
    expect(c.actor.getSnapshot().context.reason).toBe('heartbeat-timeout');
    expect(c.actor.getSnapshot().context.falseSuspicions).toBe(0);
  });

  it('its chunk is not traffic: the next idle tick still probes', async () => {
    const c = connection();
    await advanceTo(c.vts, 4900);
    expect(c.peer.state.pings).toBe(5); // 500, …, 4500
    c.peer.state.delayMs = 150;
    // Probe at 5500 times out at 5600 (suspect, a second ping, left unanswered so that no
    // other chunk arrives); the first PONG, at 5650, is late.
    await advanceTo(c.vts, 5550);
    c.peer.state.delayMs = null;
    await advanceTo(c.vts, 5650);
    expect(c.states.slice(-3)).toEqual(['probing', 'suspect', 'ready']);
    expect(c.actor.getSnapshot().context).toMatchObject({ rttMs: 150, since: 5650 });
    expect(c.peer.state.pings).toBe(7);
    // The tick at 6500 finds no traffic since it was armed at 5650 (the PONG's chunk
    // does not count): it probes.
    await advanceTo(c.vts, 6500);
    expect(c.peer.state.pings).toBe(8);
    c.actor.stop();
  });
});
