/**
 * Random event sequences (fast-check) through both logics:
 * - pure: any sequence of events, with every guard case, through XState's `transition()`
 *   of `connectionModel` and of `connectionMachine`, agrees step by step (next state,
 *   context, output, effects — reported, and as run on a live half);
 * - live: random outside happenings (steps settling, the peer writing or leaving, requests
 *   timing out, CLOSE/KILL) and clock advances, produced for real on a fast actor and on
 *   an interpreted model actor side by side in virtual time, leave them in the same
 *   snapshot after every step.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { transition as xstateTransition, type AnyMachineSnapshot } from 'xstate';
import { connectionMachine } from '../../src/actors/connection-machine.js';
import { connectionModel } from '../../src/actors/connection-model.js';
import type { ConnectionEvent } from '../../src/actors/connection-events.js';
import type { ConnectionSnapshot } from '../../src/actors/connection-snapshot.js';
import type { HeartbeatInput } from '../../src/actors/connection-types.js';
import { ACTIVE_STATES, actionsOf, CONTEXTS, EVENT_CASES, fastSnapshot, liveEffects, modelSnapshot, view } from './helpers/model-fixtures.js';
import { ScriptedConnection, type ScriptMode } from './helpers/scripted-connection.js';

describe('random event sequences, pure', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(80_000);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('agree step by step from any state, whatever the events', () => {
    const events = Object.values(EVENT_CASES);
    fc.assert(fc.property(
      fc.constantFrom(...ACTIVE_STATES),
      fc.constantFrom(...Object.keys(CONTEXTS)),
      fc.array(fc.constantFrom(...events), { maxLength: 40 }),
      (start, contextName, sequence) => {
        let model: AnyMachineSnapshot = modelSnapshot(start, CONTEXTS[contextName]!);
        let fast: ConnectionSnapshot = fastSnapshot(start, CONTEXTS[contextName]!);
        for (const event of sequence) {
          const [m, mActions] = xstateTransition(connectionModel, model, event);
          const [f, fActions] = xstateTransition(connectionMachine, fast, event);
          expect(view(f)).toEqual(view(m));
          expect(actionsOf(fActions)).toEqual(actionsOf(mActions));
          expect(liveEffects(fast.value, fast.context, event, Date.now())).toEqual(actionsOf(mActions));
          model = m;
          fast = f as ConnectionSnapshot;
        }
      },
    ), { numRuns: 500 });
  });
});

/**
 * What the outside world can do to a connection, besides time passing: what keeps it
 * going, and (rarer, or every run would end at once) what ends it.
 */
const GOING: ConnectionEvent[] = [
  { type: 'ww.dial.done' },
  { type: 'ww.connect.done' },
  { type: 'ww.handshake.done' },
  { type: 'ww.probe.ok', rttMs: 0 },
  { type: 'ww.probe.alive' },
  { type: 'ww.request.timedout' },
];
const ENDING: ConnectionEvent[] = [
  { type: 'CLOSE' },
  { type: 'KILL', reason: 'max-lifetime' },
  { type: 'KILL', reason: 'leak-reclaimed', retire: true },
  { type: 'ww.dial.failed', error: undefined as never },
  { type: 'ww.handshake.failed', error: undefined as never },
  { type: 'ww.stream.closed', reason: 'peer-closed' },
  { type: 'ww.close.done' },
];

const HEARTBEATS: HeartbeatInput[] = [
  { intervalMs: 1000, maxTimeoutMs: 300, suspectProbes: 2 },
  { intervalMs: 500, minTimeoutMs: 20, maxTimeoutMs: 200, suspicionWindowMs: 450, adaptive: true },
  { intervalMs: 2000, maxTimeoutMs: 1000, suspectProbes: 0 },
];

type Step = { kind: 'happen'; event: ConnectionEvent } | { kind: 'advance'; ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 1500 }).map((ms) => ({ kind: 'advance' as const, ms })) },
  { weight: 4, arbitrary: fc.constantFrom(...GOING).map((event) => ({ kind: 'happen' as const, event })) },
  { weight: 1, arbitrary: fc.constantFrom(...ENDING).map((event) => ({ kind: 'happen' as const, event })) },
);

describe('random happenings, live in virtual time', () => {
  it('leave the fast actor and the interpreted model in the same snapshot after every step', async () => {
    await fc.assert(fc.asyncProperty(
      fc.constantFrom<ScriptMode>('stream', 'connect'),
      fc.constantFrom(...HEARTBEATS),
      fc.array(step, { minLength: 1, maxLength: 30 }),
      async (mode, heartbeat, steps) => {
        const fast = new ScriptedConnection(connectionMachine, mode, heartbeat);
        const model = new ScriptedConnection(connectionModel, mode, heartbeat);
        try {
          for (const s of steps) {
            if (s.kind === 'advance') {
              await fast.advanceBy(s.ms);
              await model.advanceBy(s.ms);
            } else {
              const possible = fast.canProduce(s.event);
              expect(model.canProduce(s.event)).toBe(possible);
              if (!possible) continue;
              await fast.produce(s.event);
              await model.produce(s.event);
            }
            expect(view(fast.actor.getSnapshot() as never)).toEqual(view(model.actor.getSnapshot() as never));
          }
          expect([...fast.errors, ...model.errors]).toEqual([]);
        } finally {
          fast.actor.stop();
          model.actor.stop();
        }
      },
    ), { numRuns: 60 });
  }, 120_000);
});
