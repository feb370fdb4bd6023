import { expect, test } from 'vitest';
import { exponentialBackoff, type BackoffPolicy } from '../../src/supervisor/backoff.js';
import { virtualRuntime } from './helpers/virtual-runtime.js';
import { workerMachine } from './helpers/worker-machine.js';

test('delays grow per attempt, run on the runtime scheduler, and the attempt resets after the child stayed up resetAfterMs', async () => {
  const v = virtualRuntime();
  const calls: Array<[number, number | undefined]> = [];
  const inner = exponentialBackoff({ initialMs: 100, maxMs: 10_000, multiplier: 2, jitter: 'none' });
  const spy: BackoffPolicy = {
    name: 'spy', options: {},
    delayMs(attempt, prevMs, random) {
      expect(random).toBe(v.rt.random);
      calls.push([attempt, prevMs]);
      return inner.delayMs(attempt, prevMs, random);
    },
  };
  const s = v.rt.createSupervisor({ id: 's', children: [{ id: 'w', logic: workerMachine, backoff: spy, resetAfterMs: 1000 }] });
  const die = () => s.childRef('w')!.send({ type: 'DIE' });
  const state = () => s.children()[0]!.state;

  die(); // t=0, attempt 1 → 100
  v.advance(99);
  expect(state()).toBe('restarting');
  v.advance(1);
  expect(state()).toBe('ready');
  v.advance(50);
  die(); // t=150, up 50 ms → attempt 2 → 200
  v.advance(200);
  v.advance(50);
  die(); // t=400 → attempt 3 → 400 → ready at 800
  v.advance(400);
  expect(s.children()[0]).toEqual({ id: 'w', state: 'ready', restarts: 3, since: 800, attempt: 3 });
  v.advance(999);
  die(); // up 999 ms < 1000: attempt 4
  v.advance(800);
  v.advance(1000);
  die(); // up exactly 1000 ms: the counter resets, attempt 1 again
  expect(calls).toEqual([[1, undefined], [2, 100], [3, 200], [4, 400], [1, undefined]]);
  expect(v.of('restart').map((e) => `${e.attempt}:${e.delayMs}@${e.at}`)).toEqual([
    '1:100@0', '2:200@150', '3:400@400', '4:800@1799', '1:100@3599',
  ]);
  expect(s.children()[0]).toMatchObject({ state: 'restarting', attempt: 1, restarts: 5 });
  expect(s.ref?.getSnapshot().context).toMatchObject({ childCounts: { restarting: 1, running: 0 }, restartLog: [0, 150, 400, 1799, 3599] });
  await v.shutdown();
});
