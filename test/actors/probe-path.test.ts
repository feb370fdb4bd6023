/**
 * The probe path after its diet: answered probes hand their AbortController on (pooled),
 * abandoned probes abort theirs and never reuse it, a protocol that leaves a listener
 * behind gets a fresh signal each time, odd `probe` results keep their meaning, and
 * leaving the heartbeat for `closing` or `dead` (no exit actions any more) still stops
 * the probe and the ticker.
 */
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { idleProbeControllers } from '../../src/actors/probe-controllers.js';
import { isRecyclableAbortListener, PingTable } from '../../src/transport/ping-table.js';
import type { FakeProtocol } from './helpers/fake-protocol.js';
import { virtualConnection, type VirtualConnection } from './helpers/virtual-connection.js';

/**
 * Makes the connection's protocol answer after 2 ms (or hang) and remove its abort
 * listener once the probe settles, as a tidy protocol does; returns the signals it got.
 */
function tidyProbes(c: VirtualConnection): { signals: AbortSignal[]; hang: boolean } {
  const state = { signals: [] as AbortSignal[], hang: false };
  c.protocol.probe = (_session, signal) => {
    state.signals.push(signal);
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
      if (state.hang) return;
      c.vts.schedule(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, 2);
    });
  };
  return state;
}

describe('probe controllers', () => {
  it('an answered probe hands its signal to the next probe; an abandoned one aborts it for good', async () => {
    const c = virtualConnection({ heartbeat: { intervalMs: 1000, maxTimeoutMs: 300 } });
    const probes = tidyProbes(c);
    await c.advanceTo(500 + 1000 + 2); // two answered probes (ticks at 500 and 1500)
    const [first, second] = probes.signals;
    expect(probes.signals).toHaveLength(2);
    expect(second).toBe(first);
    expect(first!.aborted).toBe(false);
    expect(getEventListeners(first!, 'abort')).toHaveLength(0);
    expect(idleProbeControllers()).toBeGreaterThanOrEqual(1);

    probes.hang = true;
    // RTO after two 2 ms samples is clamped to minTimeoutMs (100).
    expect(await c.runUntil('suspect')).toBe(500 + 1000 + 1000 + 100);
    const abandoned = probes.signals[2]!;
    expect(abandoned).toBe(first);
    expect(abandoned.aborted).toBe(true);
    // The first suspect probe started (and hangs) on entering `suspect`; the next answers.
    probes.hang = false;
    await c.runUntil('ready');
    expect(c.actor.getSnapshot().context.falseSuspicions).toBe(1);
    // Two abandoned signals (the timed-out probe's and the first suspect probe's), each
    // handed out for no probe after its own.
    const aborted = [...new Set(probes.signals.filter((s) => s.aborted))];
    expect(aborted).toHaveLength(2);
    for (const s of aborted) expect(probes.signals.lastIndexOf(s)).toBe(aborted.indexOf(s) === 0 ? 2 : 3);
    expect(probes.signals.at(-1)!.aborted).toBe(false);
    expect(probes.signals.at(-1)).not.toBe(first);
    expect(c.errors).toEqual([]);
  });

  it("a signal that carries only the wire session's shared listener is recycled too", async () => {
    const c = virtualConnection({ heartbeat: { intervalMs: 1000 } });
    const table = new PingTable('peer');
    const signals: AbortSignal[] = [];
    let id = 0;
    c.protocol.probe = (_session, signal) => {
      signals.push(signal);
      const mine = ++id;
      // What a wire session does: the pending ping registers the signal, the PONG takes it.
      return new Promise<void>((resolve, reject) => {
        table.add(mine, { resolve: () => resolve(), reject, sentAt: 0, signal });
        c.vts.schedule(() => table.take(mine)?.resolve(1), 1);
      });
    };
    await c.advanceTo(500 + 1 + 1001);
    expect(signals).toHaveLength(2);
    expect(signals[1]).toBe(signals[0]);
    expect(getEventListeners(signals[0]!, 'abort')).toHaveLength(1);
  });

  it('a protocol that leaves its listener behind gets a fresh signal every probe (listeners stay bounded)', async () => {
    const c = virtualConnection({ heartbeat: { intervalMs: 1000 }, protocol: { probe: { replyMs: 1 } } });
    await c.advanceTo(500 + 5 * 1001);
    const signals = c.protocol.probes.map((p) => p.signal);
    expect(signals.length).toBeGreaterThanOrEqual(5);
    expect(new Set(signals).size).toBe(signals.length);
    // At most its own one, besides a wire session's shared one (the pool is process-wide).
    for (const s of signals) {
      expect(getEventListeners(s, 'abort').filter((l) => !isRecyclableAbortListener(l)).length).toBeLessThanOrEqual(1);
    }
  });
});

describe('odd probe results keep their meaning', () => {
  it('a probe that throws synchronously is a failed probe', async () => {
    const c = virtualConnection({ heartbeat: { intervalMs: 1000, suspectProbes: 0 } });
    c.protocol.probe = () => {
      throw new Error('no session');
    };
    // Failed at once, but decided at its deadline (maxTimeoutMs, the whole window here).
    expect(await c.runUntil('dead')).toBe(500 + 2000);
    expect(c.actor.getSnapshot().output?.reason).toBe('heartbeat-timeout');
    expect((c.actor.getSnapshot().output?.error?.cause as Error).message).toBe('no session');
  });

  it('a probe that returns a plain value counts as answered', async () => {
    const c = virtualConnection({ heartbeat: { intervalMs: 1000 } });
    c.protocol.probe = (() => undefined) as unknown as FakeProtocol['probe'];
    await c.advanceTo(501);
    expect(c.state()).toBe('ready');
    expect(c.actor.getSnapshot().context).toMatchObject({ probesSent: 1, probesFailed: 0 });
    expect(c.errors).toEqual([]);
  });
});

describe('leaving the heartbeat without exit actions', () => {
  it('CLOSE while probing aborts the probe and leaves nothing scheduled once closed', async () => {
    const c = virtualConnection({ heartbeat: { intervalMs: 1000 }, protocol: { probe: 'hang' } });
    await c.runUntil('probing');
    c.actor.send({ type: 'CLOSE' });
    expect(c.protocol.probes.at(-1)!.settled).toBe('aborted');
    await c.runUntil('closed');
    expect(c.vts.actions).toHaveLength(0);
    expect(c.states).toEqual(['dialing', 'ready', 'probing', 'closing', 'closed']);
  });

  it('KILL in ready or suspect stops the ticker and the probe', async () => {
    for (const target of ['ready', 'suspect']) {
      const c = virtualConnection({ heartbeat: { intervalMs: 1000 }, protocol: { probe: 'hang' } });
      await c.runUntil(target);
      c.actor.send({ type: 'KILL', reason: 'max-lifetime' });
      expect(c.state()).toBe('dead');
      expect(c.vts.actions).toHaveLength(0);
      if (target === 'suspect') expect(c.protocol.probes.at(-1)!.settled).toBe('aborted');
    }
  });
});
