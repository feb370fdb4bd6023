/**
 * `jitter: 'phased'` through a real supervisor in virtual time: the engine draws one phase
 * per child, keeps it across attempts, redraws it when the attempt counter resets, and a
 * population that failed together comes back at a flat dial rate once its peer returns.
 *
 * The runtime's random is a golden-ratio sequence, so 200 children get evenly spread
 * phases and the flatness checks test the schedule, not the luck of 200 draws.
 */
import { describe, expect, test } from 'vitest';
import { setup } from 'xstate';
import { exponentialBackoff, type BackoffPolicy, type Jitter } from '../../src/supervisor/backoff.js';
import { virtualRuntime } from './helpers/virtual-runtime.js';

/** A shared "server": while it is down, every incarnation dies at once, as a refused dial. */
interface Server {
  up: boolean;
}

const dialer = setup({
  types: { input: {} as { server: Server }, context: {} as { server: Server }, output: {} as { reason: string } },
  guards: { serverUp: ({ context }) => context.server.up },
}).createMachine({
  context: ({ input }) => ({ server: input.server }),
  initial: 'dialing',
  output: { reason: 'dial-failed' },
  states: {
    dialing: { always: [{ guard: 'serverUp', target: 'ready' }, { target: 'refused' }] },
    ready: { on: { DIE: 'refused', CLOSE: 'closed' } },
    refused: { type: 'final' },
    closed: { type: 'final' },
  },
});

/** Evenly spread draws in (0, 1): i·φ mod 1 (a Weyl sequence). */
function goldenRandom(): () => number {
  let i = 0;
  return () => (++i * 0.618_033_988_749_895) % 1;
}

const INITIAL_MS = 100;
const MAX_MS = 2000;
const N = 200;
const BUCKET_MS = 100;

/** Every argument a policy saw, per child. */
function recording(inner: BackoffPolicy, calls: Map<string, Array<{ attempt: number; phase: number | undefined }>>, id: string): BackoffPolicy {
  return {
    name: 'recording', options: {},
    delayMs(attempt, prevMs, random, phase) {
      const list = calls.get(id) ?? [];
      list.push({ attempt, phase });
      calls.set(id, list);
      return inner.delayMs(attempt, prevMs, random, phase);
    },
  };
}

/**
 * N children die together at 0 while the server is down; it is back at `downMs`. Returns
 * the restart events, each child's dial instant after the restart, and peak/mean of those
 * dials per 100 ms from `downMs` to the last one.
 */
async function storm(jitter: Jitter, downMs: number) {
  const v = virtualRuntime({ random: goldenRandom() });
  const server: Server = { up: true };
  const policy = exponentialBackoff({ initialMs: INITIAL_MS, maxMs: MAX_MS, multiplier: 2, jitter });
  const calls = new Map<string, Array<{ attempt: number; phase: number | undefined }>>();
  const s = v.rt.createSupervisor({
    id: 's', maxRestarts: Number.POSITIVE_INFINITY,
    children: Array.from({ length: N }, (_, i) => ({
      id: `c${i}`, logic: dialer, input: { server }, backoff: recording(policy, calls, `c${i}`), resetAfterMs: 60_000,
    })),
  });
  v.advance(10);
  const t0 = v.vts.now();
  server.up = false;
  for (let i = 0; i < N; i++) s.childRef(`c${i}`)!.send({ type: 'DIE' });
  v.advance(downMs);
  server.up = true;
  const back = v.vts.now();
  v.advance(3 * MAX_MS);
  expect(s.children().every((c) => c.state === 'ready')).toBe(true);

  const dials = v.of('state').filter((e) => e.to === 'ready' && e.at > back).map((e) => e.at - back);
  expect(dials).toHaveLength(N);
  const span = Math.max(...dials);
  const buckets = new Array<number>(Math.ceil(span / BUCKET_MS)).fill(0);
  for (const t of dials) buckets[Math.min(buckets.length - 1, Math.floor(t / BUCKET_MS))]!++;
  const mean = N / (span / BUCKET_MS);
  const restarts = v.of('restart').filter((e) => e.at >= t0);
  await v.shutdown();
  return { restarts, calls, buckets, peakToMean: Math.max(...buckets) / mean, t0, policy };
}

describe("jitter: 'phased' under a supervisor", () => {
  test('each child keeps one phase across attempts; its delays are that phase in every window', async () => {
    const { restarts, calls, policy } = await storm('phased', 5000);
    const phases = new Set<number>();
    for (let i = 0; i < N; i++) {
      const id = `c${i}`;
      const seen = calls.get(id)!;
      // Attempts 1..k of one outage, all with the phase drawn at the first restart.
      expect(seen.map((c) => c.attempt)).toEqual(seen.map((_, k) => k + 1));
      const phase = seen[0]!.phase!;
      expect(phase).toBeGreaterThanOrEqual(0);
      expect(phase).toBeLessThan(1);
      expect(seen.every((c) => c.phase === phase)).toBe(true);
      phases.add(phase);

      // The events agree: attempt k fires at S(k−1) + round(φ·cap(k)) after the death.
      const mine = restarts.filter((e) => e.id === id);
      expect(mine.map((e) => e.delayMs)).toEqual(mine.map((e) => policy.delayMs(e.attempt, undefined, () => 0, phase)));
      let windowStart = 0;
      let cap = 0;
      let at = mine[0]!.at;
      for (const e of mine) {
        expect(e.at).toBe(at); // died again exactly when dialled
        cap = Math.min(MAX_MS, INITIAL_MS * 2 ** (e.attempt - 1));
        at += e.delayMs;
        expect(at - mine[0]!.at).toBe(windowStart + Math.round(phase * cap));
        windowStart += cap;
      }
    }
    expect(phases.size).toBe(N);
  });

  test.each([1000, 5000, 30_000])('after a %i ms outage the dials are flat: no 100 ms bucket above 1.5× the mean', async (downMs) => {
    const phased = await storm('phased', downMs);
    expect(phased.peakToMean, phased.buckets.join(' ')).toBeLessThanOrEqual(1.5);
    // The same storm with full jitter front-loads the recovery (the residual of a uniform delay).
    const full = await storm('full', downMs);
    expect(full.peakToMean, full.buckets.join(' ')).toBeGreaterThan(1.5);
  });

  test('the phase is redrawn when the attempt counter resets (uptime >= resetAfterMs, or restartChild)', async () => {
    const v = virtualRuntime({ random: goldenRandom() });
    const server: Server = { up: true };
    const calls = new Map<string, Array<{ attempt: number; phase: number | undefined }>>();
    const policy = exponentialBackoff({ initialMs: INITIAL_MS, maxMs: MAX_MS, multiplier: 2, jitter: 'phased' });
    const s = v.rt.createSupervisor({ id: 's', children: [{ id: 'c', logic: dialer, input: { server }, backoff: recording(policy, calls, 'c'), resetAfterMs: 1000 }] });
    const die = () => s.childRef('c')!.send({ type: 'DIE' });
    const seen = () => calls.get('c')!.map((c) => `${c.attempt}@${c.phase!.toFixed(3)}`);

    die(); // t=0: attempt 1, phase A = 0.618 → back at 62
    v.advance(500);
    die(); // t=500, up 438 ms < resetAfterMs: attempt 2, still phase A → back at 662
    v.advance(300 + 1000);
    die(); // t=1800, up 1138 ms: the counter resets, attempt 1 with a new phase B
    v.advance(MAX_MS);
    const restarted = s.restartChild('c'); // explicit restart: counter and phase reset
    v.advance(0);
    await restarted;
    die(); // attempt 1, phase C
    const [a, b, c] = [0.618, 0.236, 0.854];
    expect(seen()).toEqual([`1@${a}`, `2@${a}`, `1@${b}`, `1@${c}`]);
    await v.shutdown();
  });
});
