/**
 * What a child's output tells its supervisor about pacing its restart: `uptimeMs` (how
 * long it was healthy: the backoff starts over at `resetAfterMs`), `restartPace:
 * 'immediate'` (a retirement: at once, no backoff growth, no intensity) and `'slowest'`
 * (a refused handshake: the policy's longest delay).
 */
import { expect, test } from 'vitest';
import { assign, setup } from 'xstate';
import { exponentialBackoff } from '../../src/supervisor/backoff.js';
import { virtualRuntime } from './helpers/virtual-runtime.js';

type Exit = { uptimeMs?: number; restartPace?: 'immediate' | 'slowest' };

/** A child that dies when told, with the output fields the event carries. */
const pacedChild = setup({
  types: { context: {} as { exit: Exit }, events: {} as ({ type: 'DIE' } & Exit) | { type: 'CLOSE' } },
}).createMachine({
  context: { exit: {} },
  initial: 'ready',
  states: {
    ready: {
      on: {
        DIE: { target: 'dead', actions: assign({ exit: ({ event }) => ({ uptimeMs: event.uptimeMs, restartPace: event.restartPace }) }) },
        CLOSE: 'closed',
      },
    },
    dead: { type: 'final' },
    closed: { type: 'final' },
  },
  output: ({ context }) => ({ reason: 'dead', ...context.exit }),
});

const backoff = exponentialBackoff({ initialMs: 100, maxMs: 5000, multiplier: 2, jitter: 'none' });

function setupChild(options: { maxRestarts?: number } = {}) {
  const v = virtualRuntime();
  const s = v.rt.createSupervisor({
    id: 's', maxRestarts: options.maxRestarts ?? 100, withinMs: 60_000,
    children: [{ id: 'c', logic: pacedChild, backoff, resetAfterMs: 1000 }],
  });
  const die = (exit: Exit = {}) => s.childRef('c')!.send({ type: 'DIE', ...exit });
  const delays = () => v.of('restart').map((e) => e.delayMs);
  return { v, s, die, delays };
}

test('the backoff starts over when the output says the incarnation was healthy for resetAfterMs, whatever its age', async () => {
  const { v, die, delays } = setupChild();
  die({ uptimeMs: 0 }); // a peer that accepts and drops at once: growing delays
  v.advance(100);
  die({ uptimeMs: 0 });
  v.advance(200);
  die({ uptimeMs: 999 }); // not yet stable, though it lived long (the spawn age does not count)
  v.advance(400);
  expect(delays()).toEqual([100, 200, 400]);
  v.advance(5000);
  die({ uptimeMs: 1000 }); // held `ready` for the stability period: from the first delay again
  v.advance(100);
  die({ uptimeMs: 1500 });
  expect(delays()).toEqual([100, 200, 400, 100, 100]);
  await v.shutdown();
});

test('restartPace immediate (a retirement): at once, and neither the backoff nor the intensity grows', async () => {
  const { v, s, die, delays } = setupChild({ maxRestarts: 3 });
  for (let i = 0; i < 10; i++) {
    die({ uptimeMs: 5, restartPace: 'immediate' }); // never failed: nothing to pace
    v.advance(0);
    expect(s.children()[0]!.state).toBe('ready');
  }
  die({ uptimeMs: 0 });
  v.advance(100);
  die({ uptimeMs: 0 });
  v.advance(200);
  die({ uptimeMs: 5000, restartPace: 'immediate' }); // healthy for long: the counter starts over, at once
  v.advance(0);
  die({ uptimeMs: 0 }); // so the next failure waits the first delay again
  expect(delays()).toEqual([...new Array<number>(10).fill(0), 100, 200, 0, 100]);
  // Fourteen restarts in the window and no escalation: only the three failures count (maxRestarts 3).
  expect(v.of('escalation')).toHaveLength(0);
  expect(s.ref?.getSnapshot().context.restartLog).toHaveLength(3);
  await v.shutdown();
});

test('a retirement of a short-lived incarnation after failures waits its current delay: no dial loop, no growth', async () => {
  const { v, s, die, delays } = setupChild();
  die({ uptimeMs: 0 });
  v.advance(100);
  die({ uptimeMs: 0 });
  v.advance(200);
  for (let i = 0; i < 5; i++) {
    die({ uptimeMs: 10, restartPace: 'immediate' }); // e.g. `catch { lease.destroy() }` on every command
    v.advance(199);
    expect(s.children()[0]!.state).toBe('restarting');
    v.advance(1);
    expect(s.children()[0]!.state).toBe('ready');
  }
  expect(delays()).toEqual([100, 200, 200, 200, 200, 200, 200]);
  expect(s.children()[0]!.attempt).toBe(2);
  await v.shutdown();
});

test('a retirement restarts the child alone, whatever the strategy', async () => {
  const v = virtualRuntime();
  const s = v.rt.createSupervisor({
    id: 's', strategy: 'one-for-all',
    children: [{ id: 'a', logic: pacedChild, backoff }, { id: 'b', logic: pacedChild, backoff }],
  });
  const b = s.childRef('b');
  s.childRef('a')!.send({ type: 'DIE', uptimeMs: 0, restartPace: 'immediate' });
  v.advance(0);
  expect(s.childRef('b')).toBe(b); // the sibling kept running
  expect(v.of('restart').map((e) => e.id)).toEqual(['a']);
  await v.shutdown();
});

test('restartPace slowest (a refused handshake) waits the policy\'s longest delay; the counter keeps its own count', async () => {
  const { v, s, die, delays } = setupChild();
  die({ uptimeMs: 0, restartPace: 'slowest' });
  v.advance(5000);
  expect(s.children()[0]!.state).toBe('ready');
  die({ uptimeMs: 0, restartPace: 'slowest' });
  v.advance(5000);
  die({ uptimeMs: 2000 }); // accepted for long enough: back to the first delay
  expect(delays()).toEqual([5000, 5000, 100]);
  expect(v.of('restart').map((e) => e.attempt)).toEqual([1, 2, 1]);
  await v.shutdown();
});
