/**
 * XState's pure tools on `connectionMachine` give the model's answers and run nothing:
 * `getNextSnapshot` and `transition()` of a live actor's snapshot leave the actor (its
 * ticker, its probe, its socket) alone, and `initialTransition` builds the same first
 * snapshot as the model's.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { getNextSnapshot, initialTransition, transition } from 'xstate';
import { connectionMachine } from '../../src/actors/connection-machine.js';
import { connectionModel } from '../../src/actors/connection-model.js';
import { actionsOf, view } from './helpers/model-fixtures.js';
import { virtualConnection } from './helpers/virtual-connection.js';

const NOW_MS = 123_456;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW_MS);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('XState tools on connectionMachine', () => {
  it('getNextSnapshot(connectionMachine, snapshot, KILL) is the model\'s answer, and the live actor is untouched', async () => {
    const c = virtualConnection({ heartbeat: { intervalMs: 1000 } });
    await c.runUntil('ready');
    const live = c.actor.getSnapshot();
    const kill = { type: 'KILL', reason: 'max-lifetime' } as const;
    const next = getNextSnapshot(connectionMachine, live, kill);
    expect(next).toMatchObject({ value: 'dead', status: 'done', output: { reason: 'max-lifetime', uptimeMs: NOW_MS - live.context.readyAt! } });
    const model = getNextSnapshot(connectionModel, connectionModel.resolveState({ value: 'ready', context: live.context }), kill);
    expect(view(next)).toEqual(view(model));
    // Nothing ran: the actor is still ready and still ticking (its next tick probes).
    expect(c.actor.getSnapshot()).toBe(live);
    await c.advanceTo(600);
    expect(c.protocol.probes.map((p) => p.at)).toEqual([500]);
    expect(c.state()).toBe('ready');
    c.actor.stop();
  });

  it('transition() returns the effects unexecuted, with the model\'s names and parameters', async () => {
    const c = virtualConnection({ heartbeat: { intervalMs: 1000, maxTimeoutMs: 300 }, protocol: { probe: 'hang' } });
    await c.runUntil('probing');
    const probing = c.actor.getSnapshot();
    const failed = { type: 'ww.probe.failed', silentMs: 300, windowMs: 900 } as const;
    const [suspect, actions] = transition(connectionMachine, probing, failed);
    const [modelSuspect, modelActions] = transition(connectionModel, connectionModel.resolveState({ value: 'probing', context: probing.context }), failed);
    expect(suspect.value).toBe('suspect');
    expect(actionsOf(actions)).toEqual([{ type: 'startProbe', params: { timeoutMs: 300, capMs: 600, newEpisode: false, watchIfHeld: true } }]);
    expect(actionsOf(actions)).toEqual(actionsOf(modelActions));
    expect(view(suspect)).toEqual(view(modelSuspect));
    // The guard's other side: silent for the whole window.
    const [dead, deathActions] = transition(connectionMachine, probing, { ...failed, silentMs: 900 });
    expect(dead).toMatchObject({ value: 'dead', output: { reason: 'heartbeat-timeout' } });
    expect(actionsOf(deathActions)).toEqual([{ type: 'quiesce', params: undefined }]);
    // The live actor sent one probe and still waits for it.
    expect(c.actor.getSnapshot()).toBe(probing);
    expect(c.protocol.probes.map((p) => p.settled)).toEqual(['pending']);
    c.actor.stop();
  });

  it('initialTransition gives the model\'s first snapshot; the model reports its entry (startDial), which the fast path runs in start', () => {
    const input = {
      endpoint: { host: '127.0.0.1', port: 7000 },
      protocol: { name: 'stub', open: () => Promise.resolve({}), probe: () => Promise.resolve(), close: () => Promise.resolve() },
      heartbeat: { intervalMs: 1000 },
    };
    const [fast, fastActions] = initialTransition(connectionMachine, input);
    const [model, modelActions] = initialTransition(connectionModel, input);
    expect(view(fast)).toEqual(view(model));
    expect(fast.value).toEqual({ dialing: 'connecting' });
    expect(actionsOf(modelActions)).toEqual([{ type: 'startDial', params: undefined }]);
    expect(fastActions).toEqual([]);
  });
});
