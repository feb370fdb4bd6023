import { describe, expect, test } from 'vitest';
import { constantBackoff } from '../../src/supervisor/backoff.js';
import { exitFromError, exitFromOutput, shouldRestart } from '../../src/supervisor/child-exit.js';
import type { RestartType } from '../../src/supervisor/supervisor-spec.js';
import { virtualRuntime } from './helpers/virtual-runtime.js';
import { workerMachine, type WorkerEvent } from './helpers/worker-machine.js';

type ExitKind = 'closed' | 'shutdown' | 'dead' | 'crash';
const send: Record<ExitKind, WorkerEvent> = {
  closed: { type: 'FINISH' },
  shutdown: { type: 'DIE', reason: 'shutdown' },
  dead: { type: 'DIE' },
  crash: { type: 'CRASH' },
};
const expectedExit: Record<ExitKind, [string, boolean]> = {
  closed: ['closed', true],
  shutdown: ['shutdown', true],
  dead: ['dead-ish', false],
  crash: ['error', false],
};
const restarts: Record<RestartType, Record<ExitKind, boolean>> = {
  permanent: { closed: true, shutdown: true, dead: true, crash: true },
  transient: { closed: false, shutdown: false, dead: true, crash: true },
  temporary: { closed: false, shutdown: false, dead: false, crash: false },
};

describe('restart type × exit kind', () => {
  const cases = (Object.keys(restarts) as RestartType[]).flatMap((restart) =>
    (Object.keys(send) as ExitKind[]).map((kind) => ({ restart, kind, restarted: restarts[restart][kind] })),
  );

  test.each(cases)('$restart child, $kind exit → restarted: $restarted', async ({ restart, kind, restarted }) => {
    const v = virtualRuntime();
    const sup = v.rt.createSupervisor({
      id: 's', children: [{ id: 'w', logic: workerMachine, restart, backoff: constantBackoff({ delayMs: 10 }) }],
    });
    const first = sup.childRef('w')!;
    first.send(send[kind]);
    const exit = v.of('child-exit');
    expect(exit.map((e) => [e.reason, e.normal])).toEqual([expectedExit[kind]]);
    if (kind === 'crash') expect((exit[0]!.error as Error).message).toBe('worker crashed');
    v.advance(10);
    expect(v.of('restart')).toHaveLength(restarted ? 1 : 0);
    if (restarted) {
      expect(sup.children()).toEqual([{ id: 'w', state: 'ready', restarts: 1, since: 10, attempt: 1 }]);
      expect(sup.childRef('w')).not.toBe(first);
    } else {
      // Not restarted: the child is gone from the supervisor, which keeps running.
      expect(sup.children()).toEqual([]);
      expect(sup.ref?.getSnapshot().value).toBe('running');
    }
    await v.shutdown();
  });

  test('a child that fails while starting is an abnormal exit and is retried with backoff', async () => {
    const v = virtualRuntime();
    const sup = v.rt.createSupervisor({
      id: 's', maxRestarts: 100,
      children: [{ id: 'w', logic: workerMachine, input: { crashOnStart: true }, backoff: constantBackoff({ delayMs: 10 }) }],
    });
    v.advance(35);
    expect(v.of('child-exit').map((e) => `${e.reason}@${e.at}`)).toEqual(['error@0', 'error@10', 'error@20', 'error@30']);
    expect(sup.children()[0]).toMatchObject({ state: 'restarting', restarts: 4 });
    await v.shutdown();
  });
});

describe('exit classification (DESIGN.md)', () => {
  test('closed, normal and shutdown are normal; any other output or an error is abnormal', () => {
    expect(exitFromOutput({ reason: 'closed', uptimeMs: 5 })).toEqual({ reason: 'closed', normal: true, uptimeMs: 5 });
    expect(exitFromOutput({ reason: 'leak-reclaimed', uptimeMs: -1, restartPace: 'immediate' })).toEqual({ reason: 'leak-reclaimed', normal: false, restartPace: 'immediate' });
    expect(exitFromOutput({ reason: 'handshake-failed', restartPace: 'later' })).toEqual({ reason: 'handshake-failed', normal: false });
    expect(exitFromOutput({ reason: 'normal' }).normal).toBe(true);
    expect(exitFromOutput({ reason: 'shutdown' }).normal).toBe(true);
    const err = new Error('x');
    expect(exitFromOutput({ reason: 'heartbeat-timeout', error: err })).toEqual({ reason: 'heartbeat-timeout', normal: false, error: err });
    expect(exitFromOutput({ reason: 'restart-intensity' }).normal).toBe(false);
    expect(exitFromOutput(undefined)).toEqual({ reason: 'normal', normal: true });
    expect(exitFromOutput({ status: 'whatever' })).toEqual({ reason: 'unknown', normal: false });
    expect(exitFromOutput(42)).toEqual({ reason: 'unknown', normal: false });
    expect(exitFromError(err)).toEqual({ reason: 'error', normal: false, error: err });
  });

  test('shouldRestart follows OTP', () => {
    const normal = exitFromOutput({ reason: 'closed' });
    const abnormal = exitFromOutput({ reason: 'dead' });
    expect([shouldRestart('permanent', normal), shouldRestart('permanent', abnormal)]).toEqual([true, true]);
    expect([shouldRestart('transient', normal), shouldRestart('transient', abnormal)]).toEqual([false, true]);
    expect([shouldRestart('temporary', normal), shouldRestart('temporary', abnormal)]).toEqual([false, false]);
  });
});
