import { describe, expect, test } from 'vitest';
import { createActor } from 'xstate';
import { parseSupervisorSpec, supervisorDefaults } from '../../src/supervisor/supervisor-spec.js';
import { supervisorChild, supervisorLogic } from '../../src/supervisor/supervisor-logic.js';
import { createRuntime } from '../../src/runtime.js';
import { hasCode } from '../../src/errors.js';
import { workerMachine } from './helpers/worker-machine.js';

const message = (value: unknown) => {
  try {
    parseSupervisorSpec('supervisor', value);
  } catch (err) {
    expect(hasCode(err, 'WW_INVALID_OPTION')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected a throw');
};

describe('supervisor spec validation', () => {
  test('defaults are documented values and every child gets them', () => {
    const s = parseSupervisorSpec('supervisor', { id: 's', children: [{ id: 'a', logic: workerMachine }] });
    expect(s).toMatchObject({ strategy: 'one-for-one', maxRestarts: 10, withinMs: 60_000, shutdownOrder: 'reverse' });
    expect(s.children[0]).toMatchObject({ restart: 'permanent', shutdownMs: 5000, resetAfterMs: 30_000, supervisor: false });
    expect(s.children[0]!.backoff.options).toEqual({ initialMs: 100, maxMs: 30_000, multiplier: 2, jitter: 'full' });
    expect(Object.isFrozen(supervisorDefaults)).toBe(true);
    const nested = parseSupervisorSpec('supervisor', { id: 's', children: [supervisorChild({ id: 'inner' })] });
    expect(nested.children[0]).toMatchObject({ supervisor: true, shutdownMs: Number.POSITIVE_INFINITY, input: { id: 'inner', strategy: 'one-for-one' } });
  });

  test('messages name the path, the expected shape and the value', () => {
    expect(message({ id: 's', strategy: 'one-for-many' })).toBe(
      'supervisor.strategy must be one of "one-for-one", "one-for-all", "rest-for-one", got "one-for-many"',
    );
    expect(message({ id: 's', maxRestarts: -1 })).toBe('supervisor.maxRestarts must be an integer >= 0 or Infinity, got -1');
    expect(message({ id: 's', withinMs: 0 })).toBe('supervisor.withinMs must be an integer in [1, 2147483647] (ms), got 0');
    expect(message({ id: 's', within: 5 })).toMatch(/^supervisor\.within is not a known option \(known: id, strategy/);
    expect(message({ id: 'a/b' })).toBe('supervisor.id must be a non-empty string without "/", got "a/b"');
    expect(message({ id: 's', children: [{ id: 'a' }] })).toBe(
      'supervisor.children[0].logic must be an actor logic (with transition and getInitialSnapshot), got undefined',
    );
    expect(message({ id: 's', children: [{ id: 'a', logic: workerMachine, shutdownMs: 1.5 }] })).toBe(
      'supervisor.children[0].shutdownMs must be an integer in [0, 2147483647] (ms) or Infinity, got 1.5',
    );
    expect(message({ id: 's', children: [{ id: 'a', logic: workerMachine, backoff: { delay: 5 } }] })).toBe(
      'supervisor.children[0].backoff must be a backoff policy (an object with delayMs(attempt, prevMs, random)), got an object',
    );
    expect(message({ id: 's', children: [{ id: 'a', logic: workerMachine }, { id: 'a', logic: workerMachine }] })).toBe(
      'supervisor.children[1].id must be unique among siblings, got "a"',
    );
    expect(message({ id: 's', children: [supervisorChild({ id: 'inner', strategy: 'nope' as never })] })).toBe(
      'supervisor.children[0].input.strategy must be one of "one-for-one", "one-for-all", "rest-for-one", got "nope"',
    );
    expect(message({ id: 's', children: [{ id: 'x', logic: supervisorLogic, input: { id: 'y' } }] })).toBe(
      'supervisor.children[0].input.id must be the child id "x", got "y"',
    );
  });

  test('the runtime validates its options and createSupervisor its spec, at construction', () => {
    expect(() => createRuntime({ scheduler: {} as never })).toThrow('runtime.scheduler must be a SchedulerLike (schedule and now), got an object');
    expect(() => createRuntime({ maxRestart: 1 } as never)).toThrow(/^runtime\.maxRestart is not a known option/);
    const rt = createRuntime();
    expect(() => rt.createSupervisor({ id: 'e', strategy: 'x' as never })).toThrow(/^supervisor\.strategy must be one of/);
    expect(() => rt.createSupervisor({ id: 'e' }, { restart: 'always' as never })).toThrow(/^createSupervisor\.restart must be one of/);
    return rt.shutdown();
  });

  test('a supervisor actor created with invalid input errors (it does not throw from createActor)', () => {
    const actor = createActor(supervisorLogic, { input: { id: 's', strategy: 'bad' as never } });
    const errors: unknown[] = [];
    actor.subscribe({ error: (e) => errors.push(e) });
    actor.start();
    expect(hasCode(errors[0], 'WW_INVALID_OPTION')).toBe(true);
  });
});
