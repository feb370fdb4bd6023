/**
 * The names of DESIGN.md's public API sketch are a contract: they must all be importable
 * from the package entry point, and behave as sketched.
 */
import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';
import * as chaos from '../src/chaos/index.js';

describe('public API', () => {
  it('exports every name of the sketch', () => {
    for (const name of [
      'createRuntime', 'createSupervisor', 'exponentialBackoff', 'constantBackoff', 'grpcBackoff',
      'wire', 'createWireServer', 'resp', 'custom', 'tcp', 'tls', 'unix', 'connectionMachine', 'liveConnection',
      'Pool', 'Lease', 'Subscriber', 'WirewardenError', 'EVENT_CHANNEL', 'connectionChart',
    ]) {
      expect(typeof (api as Record<string, unknown>)[name], name).not.toBe('undefined');
    }
    for (const name of ['ChaosProxy', 'createChaosProxy', 'createToxiproxyServer', 'defineScenario', 'runScenario', 'createSimulatedNetwork']) {
      expect(typeof (chaos as Record<string, unknown>)[name], name).toBe('function');
    }
  });

  it('the runtime creates pools and subscribers', async () => {
    const rt = api.createRuntime();
    expect(typeof rt.createPool).toBe('function');
    expect(typeof rt.createSubscriber).toBe('function');
    await rt.shutdown();
  });

  it('createSupervisor builds a nestable supervisor spec that rt.createSupervisor runs', async () => {
    const rt = api.createRuntime();
    const edge = rt.createSupervisor({ id: 'edge', children: [api.createSupervisor({ id: 'inner', children: [] })] });
    expect(edge.children().map((c) => [c.id, c.state])).toEqual([['inner', 'running']]);
    await rt.shutdown();
  });

  it('backoff policies are pure: same inputs, same delay', () => {
    const p = api.exponentialBackoff({ initialMs: 100, maxMs: 10_000, multiplier: 2, jitter: 'decorrelated' });
    expect(p.delayMs(3, 400, () => 0.25)).toBe(p.delayMs(3, 400, () => 0.25));
  });
});
