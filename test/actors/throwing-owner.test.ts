/**
 * One connection's throw must not stop the heartbeat of the others, nor its own ticker.
 *
 * Probe deadlines are shared by every connection with the same timeout (one timer per
 * list), and the heartbeat ticker is a self-rescheduling action: a throw out of the
 * callback (an XState inspect observer throwing inside `send`, a throwing `loadSource`)
 * reached RxJS, which unsubscribed the action the list or ticker had just re-armed — every
 * connection probing with that timeout then stayed `probing` for good. The throw is now
 * reported as XState reports a throwing handler (rethrown in a macrotask), and the timers
 * keep going.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { VirtualTimeScheduler } from 'rxjs';
import { createActor, type InspectionEvent } from 'xstate';
import { connectionMachine } from '../../src/actors/connection-machine.js';
import { connectionState } from '../../src/actors/live-connection.js';
import type { HeartbeatInput } from '../../src/actors/connection-types.js';
import { FakeProtocol } from './helpers/fake-protocol.js';
import { FakeTransport } from './helpers/fake-transport.js';
import { advanceTo, virtualConnection } from './helpers/virtual-connection.js';

beforeEach(() => {
  // The rethrow is a `setTimeout` (as XState's reportUnhandledError): caught here, not by the runner.
  vi.useFakeTimers({ toFake: ['setTimeout'] });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Runs the rethrows queued so far and returns their messages. */
function reported(): string[] {
  const messages: string[] = [];
  for (;;) {
    if (vi.getTimerCount() === 0) return messages;
    try {
      vi.runOnlyPendingTimers();
    } catch (e) {
      messages.push((e as Error).message);
    }
  }
}

const HEARTBEAT: HeartbeatInput = { intervalMs: 1000, minTimeoutMs: 50, maxTimeoutMs: 50, suspectProbes: 5 };

function connectionOn(vts: VirtualTimeScheduler, inspect?: (e: InspectionEvent) => void) {
  const protocol = new FakeProtocol({ scheduler: vts, probe: 'hang' });
  const actor = createActor(connectionMachine, {
    input: {
      endpoint: { host: '127.0.0.1', port: 7000 },
      protocol,
      transport: new FakeTransport({ scheduler: vts }),
      scheduler: vts,
      random: () => 0.5,
      loadSource: () => 0,
      heartbeat: HEARTBEAT,
    },
    inspect,
  });
  actor.start();
  return { actor, protocol, state: () => connectionState(actor.getSnapshot()) };
}

describe('a throw in one connection', () => {
  it('leaves the shared probe timeout running for the connections probing with it, and for later ones', async () => {
    const vts = new VirtualTimeScheduler();
    let thrown = false;
    const a = connectionOn(vts, (e) => {
      if (e.type === '@xstate.event' && e.event.type === 'ww.probe.failed' && !thrown) {
        thrown = true;
        throw new Error('inspector broke');
      }
    });
    const b = connectionOn(vts);
    // All three probe at 500 (same phase) and share the 50 ms deadline list.
    await advanceTo(vts, 500);
    expect([a.state(), b.state()]).toEqual(['probing', 'probing']);
    await advanceTo(vts, 550);
    expect(thrown).toBe(true);
    // B's probe expired in the same fire, after A's throw.
    expect(b.state()).toBe('suspect');
    expect(reported()).toEqual(['inspector broke']);
    // B keeps probing on its suspect grid and dies when its window ends (6 × 50 ms after 500).
    await advanceTo(vts, 800);
    expect(b.state()).toBe('dead');
    expect(b.actor.getSnapshot().output).toMatchObject({ reason: 'heartbeat-timeout' });
    // A connection that starts probing after the throw still gets its timeout
    // (ready at 800, first tick half an interval later).
    const c = connectionOn(vts);
    await advanceTo(vts, 1300);
    expect(c.state()).toBe('probing');
    await advanceTo(vts, 1350);
    expect(c.state()).toBe('suspect');
    for (const x of [a, b, c]) x.actor.stop();
  });

  it('keeps its own ticker ticking after a throw from send', async () => {
    let throws = 1;
    const c = virtualConnection({
      heartbeat: { intervalMs: 1000 },
      protocol: { probe: { replyMs: 5 } },
      inspect: (e) => {
        if (e.type === '@xstate.event' && e.event.type === 'ww.heartbeat.idle' && throws > 0) {
          throws--;
          throw new Error('inspector broke on a tick');
        }
      },
    });
    await c.advanceTo(500);
    // The first tick's event was lost to the throw: still ready, no probe.
    expect(c.state()).toBe('ready');
    expect(c.protocol.probes).toHaveLength(0);
    expect(reported()).toEqual(['inspector broke on a tick']);
    // The next tick of the same grid probes.
    await c.advanceTo(1500);
    expect(c.protocol.probes.map((p) => p.at)).toEqual([1500]);
    await c.advanceTo(1505);
    expect(c.state()).toBe('ready');
    await c.advanceTo(2500);
    expect(c.protocol.probes.map((p) => p.at)).toEqual([1500, 2500]);
    expect(c.errors).toEqual([]);
    c.actor.stop();
  });

  it('still reports the failed probe when loadSource throws at its expiry (counted as no load)', async () => {
    let calls = 0;
    const c = virtualConnection({
      heartbeat: HEARTBEAT,
      protocol: { probe: 'hang' },
      loadSource: () => {
        // 1st: the probe's timeout at 500; 2nd: the window at its expiry.
        if (++calls === 2) throw new Error('load source broke');
        return 0;
      },
    });
    await c.advanceTo(500);
    expect(c.state()).toBe('probing');
    await c.advanceTo(550);
    expect(c.state()).toBe('suspect');
    expect(c.actor.getSnapshot().context).toMatchObject({ probesFailed: 1 });
    expect(reported()).toEqual(['load source broke']);
    expect(c.errors).toEqual([]);
    c.actor.stop();
  });
});
