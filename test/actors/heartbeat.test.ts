/**
 * The heartbeat: idle detection by counter compare (no event per frame), probing,
 * suspect escalation, death by heartbeat-timeout with the exact virtual time it took,
 * ELU scaling and the phase jitter of the first tick.
 */
import { describe, expect, it } from 'vitest';
import { VirtualTimeScheduler } from 'rxjs';
import { createActor } from 'xstate';
import { RequestTimeoutError } from '../../src/errors.js';
import { connectionMachine } from '../../src/actors/connection-machine.js';
import { idleProbeControllers, returnProbeController } from '../../src/actors/probe-controllers.js';
import { FakeProtocol } from './helpers/fake-protocol.js';
import { FakeTransport } from './helpers/fake-transport.js';
import { advanceTo, virtualConnection } from './helpers/virtual-connection.js';

describe('idle → probing → ready', () => {
  it('probes after a tick without traffic and records the RTT', async () => {
    const c = virtualConnection({ heartbeat: { intervalMs: 1000 }, protocol: { probe: { replyMs: 7 } } });
    await c.advanceTo(499);
    expect(c.state()).toBe('ready');
    await c.advanceTo(500);
    expect(c.state()).toBe('probing');
    expect(c.protocol.probes.map((p) => p.at)).toEqual([500]);
    await c.advanceTo(507);
    expect(c.state()).toBe('ready');
    const ctx = c.actor.getSnapshot().context;
    expect(ctx).toMatchObject({ rttMs: 7, srttMs: 7, rttvarMs: 3.5, probeTimeoutMs: 100, probesSent: 1, probesFailed: 0, since: 507 });
    // Ticks keep the connection's own grid (phase 500, period 1000): the next idle check
    // is a full interval after the previous tick, and the reply did not count as traffic.
    await c.advanceTo(1500);
    expect(c.protocol.probes.map((p) => p.at)).toEqual([500, 1500]);
    expect(c.states).toEqual(['dialing', 'ready', 'probing', 'ready', 'probing']);
  });

  it('never probes a busy connection and sends no event per frame', async () => {
    const c = virtualConnection({ heartbeat: { intervalMs: 1000 } });
    await c.advanceTo(0);
    const server = c.transport.last.server!;
    c.vts.schedule(function tick() {
      server.write('x');
      this.schedule(undefined, 100);
    }, 50);
    let snapshots = 0;
    c.actor.subscribe(() => snapshots++);
    await c.advanceTo(60_000);
    expect(c.protocol.probes).toHaveLength(0);
    expect(c.actor.getSnapshot().context.probesSent).toBe(0);
    expect(c.states).toEqual(['dialing', 'ready']);
    expect(snapshots).toBe(0); // 600 frames, not one transition
  });

  it('inbound traffic while a probe is out ends probing at once (no event per chunk, the probe is dropped)', async () => {
    const c = virtualConnection({ heartbeat: { intervalMs: 1000, maxTimeoutMs: 300 }, protocol: { probe: 'hang' } });
    await c.advanceTo(500);
    expect(c.state()).toBe('probing');
    let snapshots = 0;
    c.actor.subscribe(() => snapshots++);
    c.transport.last.server!.write('late data');
    c.transport.last.server!.write('more data');
    await c.advanceTo(500);
    expect(c.state()).toBe('ready');
    expect(snapshots).toBe(1); // two chunks, one transition
    expect(c.actor.getSnapshot().context).toMatchObject({ probesFailed: 0, rttMs: undefined, since: 500 });
    expect(c.protocol.probes[0]!.settled).toBe('aborted');
    // The next tick, on the grid, probes again (the data was seen by that probe's check).
    await c.advanceTo(1500);
    expect(c.state()).toBe('probing');
  });

  it('inbound traffic while suspect returns to ready at once, as a false suspicion', async () => {
    const c = virtualConnection({ heartbeat: { intervalMs: 1000, maxTimeoutMs: 300 }, protocol: { probe: 'hang' } });
    await c.advanceTo(850);
    expect(c.state()).toBe('suspect');
    c.transport.last.server!.write('x');
    await c.advanceTo(850);
    expect(c.state()).toBe('ready');
    expect(c.actor.getSnapshot().context).toMatchObject({ falseSuspicions: 1, probesFailed: 1, since: 850 });
  });

  it('the peer closing while probing is peer-closed, not a heartbeat timeout', async () => {
    const c = virtualConnection({ heartbeat: { intervalMs: 1000 }, protocol: { probe: 'hang' } });
    await c.advanceTo(600);
    c.transport.last.server!.end();
    await c.advanceTo(601);
    expect(c.actor.getSnapshot().output?.reason).toBe('peer-closed');
  });
});

describe('suspect', () => {
  it('one probe timeout → suspect; a reply there → ready as a false suspicion', async () => {
    const c = virtualConnection({ heartbeat: { intervalMs: 1000 } });
    c.protocol.probeBehaviour.push('hang', { replyMs: 5 });
    await c.advanceTo(2499);
    expect(c.state()).toBe('probing'); // no RTT sample yet: timeout = maxTimeoutMs 2000
    await c.advanceTo(2500);
    expect(c.state()).toBe('suspect');
    expect(c.protocol.probes[0]!.settled).toBe('aborted');
    await c.advanceTo(2505);
    expect(c.state()).toBe('ready');
    expect(c.actor.getSnapshot().context).toMatchObject({
      falseSuspicions: 1, probesSent: 2, probesFailed: 1, rttMs: 5, suspectAttempt: 0,
    });
    expect(c.states).toEqual(['dialing', 'ready', 'probing', 'suspect', 'ready']);
  });

  it('dies with heartbeat-timeout once the peer was silent for the window (default (1 + suspectProbes) × maxTimeoutMs)', async () => {
    const c = virtualConnection({ protocol: { probe: 'hang' } }); // defaults: 5000 / 2000 / 2 probes → window 6000
    const deadAt = await c.runUntil('dead');
    expect(deadAt).toBe(2500 + 3 * 2000); // phase 0.5·interval, then 2000 + min(4000, 2000) + 2000
    const out = c.actor.getSnapshot().output!;
    expect(out.reason).toBe('heartbeat-timeout');
    expect(out.error).toBeInstanceOf(RequestTimeoutError);
    expect(out.error?.message).toBe(
      'heartbeat: 127.0.0.1:7000 silent for 6000 ms (suspicion window 6000 ms): 3 probes got no reply; no RTT measured yet',
    );
    // The cause is the last probe's own timeout.
    expect(out.error?.cause).toBeInstanceOf(RequestTimeoutError);
    expect((out.error?.cause as Error).message).toBe('probe to 127.0.0.1:7000 got no reply within 2000 ms');
    expect(c.actor.getSnapshot().context).toMatchObject({ probesSent: 3, probesFailed: 3 });
    expect(c.protocol.probes.map((p) => p.at)).toEqual([2500, 4500, 6500]);
    expect(c.transport.last.client!.destroyed).toBe(true);
  });

  it('after RTT samples, suspicion is fast (RTO) and the probes grow, but death waits for the whole window', async () => {
    const c = virtualConnection({ heartbeat: { intervalMs: 5000, suspectProbes: 3, suspectBackoffMultiplier: 3 } });
    c.protocol.probeBehaviour.push({ replyMs: 10 });
    c.protocol.defaultProbe = 'hang';
    expect(await c.runUntil('suspect')).toBe(7600);
    const deadAt = await c.runUntil('dead');
    // RTO after one 10 ms sample: 10 + 4·5 = 30 → clamped to minTimeoutMs 100: suspect at 7600.
    // Then 300, 900, min(2700, 2000), 2000, 2000 and the rest of the (1 + 3) × 2000 window.
    expect(c.protocol.probes.map((p) => p.at)).toEqual([2500, 7500, 7600, 7900, 8800, 10_800, 12_800, 14_800]);
    expect(deadAt).toBe(7500 + 8000);
    expect(c.actor.getSnapshot().output?.reason).toBe('heartbeat-timeout');
    expect(c.actor.getSnapshot().output?.error?.message).toMatch(/silent for 8000 ms \(suspicion window 8000 ms\): 7 probes got no reply; last RTT 10\.00 ms/);
  });

  it('suspectProbes 0: the window is one maxTimeoutMs, so the first probe at that timeout is fatal', async () => {
    const c = virtualConnection({ heartbeat: { intervalMs: 1000, suspectProbes: 0, maxTimeoutMs: 500 }, protocol: { probe: 'hang' } });
    expect(await c.runUntil('dead')).toBe(1000);
    expect(c.states).toEqual(['dialing', 'ready', 'probing', 'dead']);
  });

  it('a rejected probe is a failed one, but its deadline still paces the next (no hot loop)', async () => {
    const c = virtualConnection({ heartbeat: { intervalMs: 1000, suspectProbes: 1 }, protocol: { probe: 'fail' } });
    expect(await c.runUntil('dead')).toBe(500 + 4000);
    expect(c.actor.getSnapshot().context.probesFailed).toBe(2);
    expect(c.protocol.probes.map((p) => p.at)).toEqual([500, 2500]);
    expect((c.actor.getSnapshot().output?.error?.cause as Error).message).toMatch(/probe failed/);
  });
});

describe('suspicion fast, death patient', () => {
  // An RTT sample first (5 ms → probe timeout at the 100 ms floor), then the peer stalls.
  const heartbeat = { intervalMs: 1000, minTimeoutMs: 100, maxTimeoutMs: 300, suspectProbes: 2 }; // window 900

  it('a stall shorter than the window (a fork, DEBUG SLEEP) makes the connection suspect, never dead', async () => {
    const c = virtualConnection({ heartbeat });
    c.protocol.probeBehaviour.push({ replyMs: 5 }, 'hang', 'hang', 'hang', 'hang', 'hang');
    c.protocol.defaultProbe = { replyMs: 5 };
    await c.advanceTo(1500);
    expect(c.state()).toBe('probing'); // second probe, sent at 1500
    await c.advanceTo(1600);
    expect(c.state()).toBe('suspect'); // suspicion after one RTO (100 ms)
    // Silent for 850 ms of the 900 ms window: the stall ends with traffic.
    await c.advanceTo(2350);
    expect(c.state()).toBe('suspect');
    c.transport.last.server!.write('the stalled reply');
    await c.advanceTo(2350);
    expect(c.state()).toBe('ready');
    expect(c.actor.getSnapshot().context).toMatchObject({ falseSuspicions: 1, silentSince: undefined });
    await c.advanceTo(10_000);
    expect(c.states).not.toContain('dead');
  });

  it('a frozen peer is dead exactly one window after the first unanswered probe, within intervalMs + window of its last reply', async () => {
    const c = virtualConnection({ heartbeat });
    c.protocol.probeBehaviour.push({ replyMs: 5 });
    c.protocol.defaultProbe = 'hang';
    // Last reply at 505; the next probe on the grid at 1500; dead at 1500 + 900.
    const deadAt = await c.runUntil('dead');
    expect(deadAt).toBe(1500 + 900);
    expect(deadAt - 505).toBeLessThanOrEqual(heartbeat.intervalMs + 900);
    // Timeouts 100 (fast suspicion), 200, 300, 300, then capped by the window's end.
    expect(c.protocol.probes.map((p) => p.at)).toEqual([500, 1500, 1600, 1800, 2100]);
    expect(c.actor.getSnapshot().context.silentSince).toBe(1500);
  });

  it('suspicionWindowMs overrides the default window', async () => {
    const c = virtualConnection({ heartbeat: { ...heartbeat, suspicionWindowMs: 5000 }, protocol: { probe: 'hang' } });
    // First probe at 500 (no RTT: maxTimeoutMs), dead 5000 ms later.
    expect(await c.runUntil('suspect')).toBe(800);
    expect(await c.runUntil('dead')).toBe(5500);
  });

  it('the window is scaled by event-loop utilisation like the probe timeouts (elu 1 → ×1.5)', async () => {
    const c = virtualConnection({ heartbeat, protocol: { probe: 'hang' }, loadSource: () => 1 });
    // Probe at 500 with 300 × 1.5 = 450 ms; window 900 × 1.5 = 1350.
    expect(await c.runUntil('suspect')).toBe(950);
    expect(await c.runUntil('dead')).toBe(500 + 1350);
  });
});

describe('a probe never enters a leased or busy connection', () => {
  it('a leased connection is not probed however long it is silent; released, it is probed on the next tick', async () => {
    let leased = true;
    const c = virtualConnection({ heartbeat: { intervalMs: 1000 }, input: { leased: () => leased } });
    await c.advanceTo(10_000);
    expect(c.protocol.probes).toHaveLength(0);
    expect(c.states).toEqual(['dialing', 'ready']);
    leased = false;
    await c.advanceTo(10_500);
    expect(c.protocol.probes.map((p) => p.at)).toEqual([10_500]);
  });

  it('a held connection\'s request timing out (ctx.requestTimedOut) makes it suspect; no probe while held; dead after a silent window', async () => {
    const heartbeat = { intervalMs: 1000, maxTimeoutMs: 300, suspectProbes: 2 }; // window 900
    let leased = true;
    const c = virtualConnection({ heartbeat, input: { leased: () => leased } });
    await c.advanceTo(2000);
    returnProbeController(new AbortController()); // the pool has one to lose
    const pooled = idleProbeControllers();
    c.protocol.session!.ctx.requestTimedOut!();
    await c.advanceTo(2000);
    expect(c.state()).toBe('suspect');
    expect(c.actor.getSnapshot().context.silentSince).toBe(2000);
    // Still held: the window runs without a probe entering the lease.
    await c.advanceTo(2899);
    expect(c.protocol.probes).toHaveLength(0);
    expect(c.state()).toBe('suspect');
    expect(await c.runUntil('dead')).toBe(2900);
    expect(c.actor.getSnapshot().output?.reason).toBe('heartbeat-timeout');
    // The watches sent nothing: no pooled controller was taken (and aborted, so lost) for
    // them, and the failure says what was waited for.
    expect(idleProbeControllers()).toBe(pooled);
    const cause = (c.actor.getSnapshot().output?.error as { cause?: Error } | undefined)?.cause;
    expect(cause?.message).toBe('127.0.0.1:7000 sent nothing within 300 ms while held (watched, no probe sent)');
    leased = false;
  });

  it('leased while its probe is out: the suspect episode goes on without probes entering the lease', async () => {
    let leased = false;
    const c = virtualConnection({ heartbeat: { intervalMs: 1000, maxTimeoutMs: 300, suspectProbes: 2 }, input: { leased: () => leased }, protocol: { probe: 'hang' } });
    await c.advanceTo(500);
    expect(c.state()).toBe('probing');
    leased = true; // a pool leases a probing connection (it is alive as far as anyone knows)
    expect(await c.runUntil('suspect')).toBe(800);
    expect(await c.runUntil('dead')).toBe(500 + 900);
    expect(c.protocol.probes.map((p) => p.at)).toEqual([500]); // the one sent before the lease
  });

  it('a second suspicion episode gets the whole window again', async () => {
    const c = virtualConnection({ heartbeat: { intervalMs: 1000, maxTimeoutMs: 300, suspectProbes: 2 } });
    c.protocol.probeBehaviour.push('hang', 'hang', { replyMs: 5 }); // first episode: suspect, then recovered at ~1005
    c.protocol.defaultProbe = 'hang';
    await c.runUntil('suspect');
    await c.runUntil('ready');
    const readyAt = c.vts.now();
    // The next probe on the grid starts a new episode: dead one full window after it, not earlier.
    const deadAt = await c.runUntil('dead');
    const secondEpisode = c.actor.getSnapshot().context.silentSince!;
    expect(secondEpisode).toBeGreaterThan(readyAt);
    expect(deadAt).toBe(secondEpisode + 900);
  });

  it('a request timeout on a live peer is a false suspicion: the next inbound byte makes it ready again', async () => {
    const c = virtualConnection({ heartbeat: { intervalMs: 1000 }, input: { leased: () => true } });
    await c.advanceTo(2000);
    c.protocol.session!.ctx.requestTimedOut!();
    c.protocol.session!.ctx.requestTimedOut!(); // a second one while suspect changes nothing
    await c.advanceTo(2100);
    expect(c.state()).toBe('suspect');
    c.transport.last.server!.write('a late reply');
    await c.advanceTo(2100);
    expect(c.state()).toBe('ready');
    expect(c.actor.getSnapshot().context).toMatchObject({ falseSuspicions: 1 });
    expect(c.protocol.probes).toHaveLength(0);
  });

  it('a session with a request in flight (Protocol.busy) is not probed: the request\'s own timeout is the evidence', async () => {
    const c = virtualConnection({ heartbeat: { intervalMs: 1000 } });
    let busy = true;
    const seen: unknown[] = [];
    (c.protocol as { busy?: (s: unknown) => boolean }).busy = (session) => {
      seen.push(session);
      return busy;
    };
    await c.advanceTo(30_000);
    expect(c.protocol.probes).toHaveLength(0);
    expect(seen.length).toBe(30); // asked once per idle tick, with the live session
    expect(seen[0]).toBeDefined();
    busy = false;
    await c.advanceTo(30_500);
    expect(c.protocol.probes.map((p) => p.at)).toEqual([30_500]);
  });
});

describe('load scaling', () => {
  it('scales the probe timeout by 1 + eluWeight·elu (elu 1 → ×1.5)', async () => {
    const idle = virtualConnection({ heartbeat: { intervalMs: 1000 }, protocol: { probe: 'hang' }, loadSource: () => 0 });
    const busy = virtualConnection({ heartbeat: { intervalMs: 1000 }, protocol: { probe: 'hang' }, loadSource: () => 1 });
    expect(await idle.runUntil('suspect')).toBe(500 + 2000);
    expect(await busy.runUntil('suspect')).toBe(500 + 3000);
    // A load gauge out of range is clamped: never more than ×(1 + eluWeight).
    const wild = virtualConnection({ heartbeat: { intervalMs: 1000, eluWeight: 1 }, protocol: { probe: 'hang' }, loadSource: () => 7 });
    expect(await wild.runUntil('suspect')).toBe(500 + 4000);
  });
});

describe('phase jitter', () => {
  it('with random() = 0.5 the first probe happens at half the interval', async () => {
    const c = virtualConnection({ heartbeat: { intervalMs: 4000 }, random: () => 0.5 });
    await c.advanceTo(10_000);
    expect(c.protocol.probes[0]!.at).toBe(2000);
  });

  it('1000 connections with a seeded random spread their first probes across the interval', async () => {
    const vts = new VirtualTimeScheduler();
    const random = mulberry32(42);
    const transport = new FakeTransport({ scheduler: vts });
    const protocol = new FakeProtocol({ scheduler: vts, probe: { replyMs: 1 } });
    const intervalMs = 10_000;
    const actors = Array.from({ length: 1000 }, () =>
      createActor(connectionMachine, {
        input: { endpoint: { port: 7000 }, protocol, transport, scheduler: vts, random, loadSource: () => 0, heartbeat: { intervalMs } },
      }).start());
    await advanceTo(vts, intervalMs - 1);
    const firsts = protocol.probes.map((p) => p.at);
    expect(firsts).toHaveLength(1000);
    const buckets = new Array<number>(10).fill(0);
    for (const t of firsts) buckets[Math.floor(t / 1000)]!++;
    for (const n of buckets) expect(n).toBeGreaterThan(60); // ~100 each; all in one tick would be 1000
    expect(new Set(firsts).size).toBeGreaterThan(900);
    for (const a of actors) a.stop();
    expect(vts.actions).toHaveLength(0);
  });
});

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('the ticker keeps its grid', () => {
  it('skips the ticks that fall while a probe is in flight, then probes on the next one', async () => {
    // Interval 1000, phase 500; the first probe answers after 1700 ms (timeout 2000).
    const c = virtualConnection({ heartbeat: { intervalMs: 1000, maxTimeoutMs: 2000 } });
    c.protocol.probeBehaviour.push({ replyMs: 1700 });
    c.protocol.defaultProbe = { replyMs: 5 };
    await c.advanceTo(2200);
    expect(c.protocol.probes.map((p) => p.at)).toEqual([500]); // ticks at 1500 skipped
    expect(c.state()).toBe('ready');
    await c.advanceTo(2505);
    expect(c.protocol.probes.map((p) => p.at)).toEqual([500, 2500]);
    expect(c.states).toEqual(['dialing', 'ready', 'probing', 'ready', 'probing', 'ready']);
    expect(c.actor.getSnapshot().context).toMatchObject({ probesSent: 2, probesFailed: 0, rttMs: 5 });
  });
});

describe('the ticker on a synchronous scheduler', () => {
  it('keeps ticking when the first tick (phase 0) runs inside schedule()', async () => {
    const { queueScheduler } = await import('rxjs');
    const { ConnectionResources } = await import('../../src/actors/connection-resources.js');
    const { parseConnectionInput } = await import('../../src/actors/connection-input.js');
    const sent: string[] = [];
    const owner = { send: (e: { type: string }) => sent.push(e.type), subscribe: () => ({ unsubscribe() {} }) };
    const input = { endpoint: { host: '127.0.0.1', port: 7000 }, protocol: new FakeProtocol({ scheduler: queueScheduler }) };
    const live = new ConnectionResources(owner as never, parseConnectionInput(input), input.endpoint, queueScheduler, () => 0, () => 0);
    live.ticker.arm(1000);
    expect(sent).toEqual(['ww.heartbeat.idle']); // the phase-0 tick ran at once
    expect(live.ticker.armed).toBe(true); // and it rescheduled itself for the next interval
    live.dispose();
    expect(live.ticker.armed).toBe(false);
  });
});
