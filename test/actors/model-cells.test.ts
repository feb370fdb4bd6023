/**
 * The fast path against the model, cell by cell: for every active state, every event with
 * each of its guard cases and two contexts, XState's `transition()` of `connectionModel`
 * and of `connectionMachine` give the same next state, context and output, and the same
 * effects (action types and parameters) — or both ignore the event. And the effects a
 * running connection performs (`runEffects` on its live half, which does not go through
 * the reported params) are the model's, with the model's params.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { transition as xstateTransition } from 'xstate';
import { connectionMachine } from '../../src/actors/connection-machine.js';
import { connectionTransition } from '../../src/actors/connection-transition.js';
import { doneSnapshot } from '../../src/actors/connection-snapshot.js';
import { ACTIVE_STATES, bothTransitions, CONTEXTS, EVENT_CASES, liveEffects } from './helpers/model-fixtures.js';

const NOW_MS = 50_000;

beforeEach(() => {
  // Both stamp `since` from the process clock when they run without a live half.
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW_MS);
});
afterEach(() => {
  vi.useRealTimers();
});

const label = (v: unknown): string => (typeof v === 'string' ? v : `dialing.${(v as { dialing: string }).dialing}`);

describe('connectionMachine and connectionModel, cell by cell', () => {
  const cells = ACTIVE_STATES.flatMap((value) =>
    Object.entries(EVENT_CASES).flatMap(([eventName, event]) =>
      Object.entries(CONTEXTS).map(([contextName, context]) => ({ value, eventName, event, contextName, context }))));

  it.each(cells.map((c) => [`${label(c.value)} × ${c.eventName} (${c.contextName})`, c] as const))('%s', (_name, cell) => {
    const { model, fast } = bothTransitions(cell.value, cell.context, cell.event);
    expect(fast.changed).toBe(model.changed);
    expect(fast.view).toEqual(model.view);
    expect(fast.actions).toEqual(model.actions);
    // What a running actor does: its live half's calls, with their arguments.
    expect(liveEffects(cell.value, cell.context, cell.event, NOW_MS)).toEqual(model.actions);
  });

  it('covers every edge of the chart, each guard case of ww.probe.failed, and ignores the rest', () => {
    const taken = new Set<string>();
    const perState = new Map<string, number>();
    for (const value of ACTIVE_STATES) {
      for (const [eventName, event] of Object.entries(EVENT_CASES)) {
        const { model } = bothTransitions(value, CONTEXTS.fresh!, event);
        if (!model.changed) continue;
        taken.add(`${label(value)} --${eventName}--> ${label(model.snapshot.value)}`);
        perState.set(label(value), (perState.get(label(value)) ?? 0) + 1);
      }
    }
    expect(taken).toContain('probing --probe failed, window left--> suspect');
    expect(taken).toContain('probing --probe failed, window ended--> dead');
    expect(taken).toContain('suspect --probe failed, window left--> suspect');
    expect(taken).toContain('suspect --probe failed, window passed--> dead');
    expect(taken).toContain('dialing.handshaking --stream closed (FIN)--> dead');
    // Event cases handled per state (CLOSE; KILL ×3; stream end ×3; probe failed ×3; …):
    expect(Object.fromEntries(perState)).toEqual({
      'dialing.connecting': 7, // CLOSE, KILL ×3, dial done, connect done, dial failed
      'dialing.handshaking': 10, // CLOSE, KILL ×3, stream end ×3, handshake done, failed, refused
      ready: 9, // CLOSE, KILL ×3, stream end ×3, heartbeat idle, request timed out
      probing: 12, // CLOSE, KILL ×3, stream end ×3, probe ok, alive, failed ×3
      suspect: 12,
      closing: 7, // KILL ×3, stream end ×3, close done
    });
  });

  it('ignores a stream end while connecting (there is no stream yet), in both', () => {
    for (const eventName of ['stream closed (FIN)', 'stream closed (reset)', 'stream closed (protocol)']) {
      const { model, fast } = bothTransitions({ dialing: 'connecting' }, CONTEXTS.fresh!, EVENT_CASES[eventName]!);
      expect(model.changed).toBe(false);
      expect(fast.changed).toBe(false);
    }
    expect(connectionTransition('connecting', CONTEXTS.fresh!, { type: 'ww.stream.closed', reason: 'peer-closed' }, NOW_MS)).toBeUndefined();
  });

  it('names the guard, the death and its error the same way: a heartbeat death reports the silence it measured', () => {
    const { fast } = bothTransitions('suspect', CONTEXTS.seasoned!, EVENT_CASES['probe failed, window passed']!);
    expect(fast.view).toMatchObject({
      value: 'dead',
      status: 'done',
      context: { reason: 'heartbeat-timeout', probesFailed: 3, since: NOW_MS },
      output: {
        reason: 'heartbeat-timeout',
        uptimeMs: NOW_MS - 1500,
        error: { code: 'WW_REQUEST_TIMEOUT', message: 'heartbeat: 127.0.0.1:7000 silent for 6201 ms (suspicion window 6000 ms): 2 probes got no reply; last RTT 2.00 ms' },
      },
    });
    expect(fast.actions).toEqual([{ type: 'quiesce', params: undefined }]);
  });

  it('leaves final states alone', () => {
    for (const value of ['dead', 'closed'] as const) {
      const done = doneSnapshot(value, CONTEXTS.fresh!, { reason: value === 'dead' ? 'peer-closed' : 'closed', uptimeMs: 0 });
      for (const event of Object.values(EVENT_CASES)) {
        const [next, actions] = xstateTransition(connectionMachine, done, event);
        expect(next).toBe(done);
        expect(actions).toEqual([]);
        expect(connectionTransition(value, CONTEXTS.fresh!, event, NOW_MS)).toBeUndefined();
      }
    }
  });
});
