/**
 * Scenarios against the user's own system (`target`), on the simulated network in
 * virtual time: their handler on the runner's wire server, their own server and
 * protocol, their pool options or their own pool — and the contradictions refused when
 * the scenario is defined.
 */
import { describe, expect, it } from 'vitest';
import {
  allReadyWithin, defineScenario, detectedWithin, invariant, noLostOrDuplicatedRequests, nothingLeftRunning, runScenario,
} from '../../src/chaos/index.js';
import { ExternalServer } from '../../src/chaos/scenario-server.js';
import { formatReport } from '../../src/chaos/format-report.js';
import { constantBackoff, InvalidOptionError, wire, type WireSession } from '../../src/index.js';
import { lineProtocol, lineServer } from './line-protocol.js';
import { deterministicPart, expectPassed } from './scenario-helpers.js';

describe('target.handler: your request handler on the runner\'s wire server', () => {
  it('serves the workload, survives a server restart, and still checks lost and duplicated requests', async () => {
    const store = new Map<string, number>();
    const scenario = defineScenario({
      name: 'kv-handler',
      durationMs: 2000,
      target: {
        handler: (payload) => {
          const { id, key } = payload as { id: number; key: string };
          store.set(key, id);
          return { stored: key };
        },
        request: (conn, { id, signal }) => conn.request<{ stored: string }>({ id, key: `k${id}` }, { signal }),
      },
      timeline: [{ atMs: 500, label: 'restart the server', action: (ctx) => ctx.server.restart(200) }],
      invariants: [noLostOrDuplicatedRequests(), allReadyWithin(1000), nothingLeftRunning()],
    });
    const result = await runScenario(scenario, { seed: 3 });
    expectPassed(result);
    const counts = result.report.requests;
    expect(counts.executionsObserved).toBe(true);
    expect(counts.ok).toBeGreaterThan(20);
    // Every acknowledged request reached the handler, which stored its key.
    expect(store.size).toBeGreaterThanOrEqual(counts.ok);
    expect(result.report.faults.map((f) => f.label)).toEqual(['server killed']);
  });
});

describe('target.server + target.protocol: your own server and client protocol', () => {
  const scenario = defineScenario({
    name: 'line-service',
    durationMs: 5000,
    connections: 3,
    target: {
      server: lineServer,
      protocol: lineProtocol(1000),
      request: (conn, { id, signal }) => conn.request(id, signal),
    },
    timeline: [
      { atMs: 500, label: 'freeze the service', action: (ctx) => ctx.server.freeze() },
      { atMs: 3500, label: 'thaw', action: (ctx) => ctx.server.thaw() },
    ],
    invariants: [noLostOrDuplicatedRequests(), detectedWithin(3400), allReadyWithin(1500), nothingLeftRunning()],
  });

  it('detects the frozen server by heartbeat, recovers, and accounts every request the server reported', async () => {
    const result = await runScenario(scenario, { seed: 11 });
    expectPassed(result);
    const { report } = result;
    expect(report.connections).toBe(3);
    expect(report.detection.samples).toBe(3); // every connection declared dead while frozen
    expect(report.requests.executionsObserved).toBe(true);
    expect(report.requests.failuresByCode).toHaveProperty('LINE_TIMEOUT');
    const [before, frozen, thawed] = report.phases;
    expect(before).toMatchObject({ label: 'before the first step', startedAt: 0, endedAt: 500, failed: 0 });
    expect(before!.ok).toBeGreaterThan(0);
    expect(frozen).toMatchObject({ label: 'freeze the service', startedAt: 500, endedAt: 3500 });
    expect(frozen!.failed).toBeGreaterThan(0);
    expect(thawed!.label).toBe('thaw');
    expect(thawed!.ok).toBeGreaterThan(0);
  });

  it('replays exactly from its seed', async () => {
    const a = await runScenario(scenario, { seed: 5 });
    const b = await runScenario(scenario, { seed: 5 });
    expect(deterministicPart(b.report)).toEqual(deterministicPart(a.report));
  });

  it('a server that reports no execution makes noLostOrDuplicatedRequests say it cannot check', async () => {
    const silent = defineScenario({
      name: 'silent-server',
      durationMs: 500,
      target: {
        server: (env) => lineServer({ ...env, executed: () => {} }),
        protocol: lineProtocol(),
        request: (conn, { id, signal }) => conn.request(id, signal),
      },
      invariants: [noLostOrDuplicatedRequests()],
    });
    const result = await runScenario(silent, { seed: 1 });
    expect(result.report.requests).toMatchObject({ executionsObserved: false, lost: 0 });
    expect(result.violations).toEqual([
      expect.objectContaining({ invariant: 'noLostOrDuplicatedRequests', phase: 'final', message: expect.stringMatching(/^cannot check: the server reported no execution/) }),
    ]);
  });
});

describe('target.pool and target.createPool', () => {
  it('pool options reach the runner\'s pool', async () => {
    let seen: number | undefined;
    const scenario = defineScenario({
      name: 'pool-options',
      durationMs: 200,
      target: { pool: { acquireTimeoutMs: 1234, maxWaiting: 7 } },
      setup: (ctx) => {
        seen = ctx.pool.options.acquireTimeoutMs;
        expect(ctx.pool.options.maxWaiting).toBe(7);
      },
    });
    expectPassed(await runScenario(scenario, { seed: 1 }));
    expect(seen).toBe(1234);
  });

  it('your own pool, built on the run\'s runtime and endpoints, is watched through its min connections', async () => {
    const scenario = defineScenario({
      name: 'own-pool',
      durationMs: 2500,
      target: {
        createPool: (env) => env.runtime.createPool<WireSession>({
          id: 'orders-db',
          endpoints: [...env.endpoints],
          transport: env.transport,
          protocol: wire({ requestTimeoutMs: 800 }),
          min: 2,
          max: 4,
          heartbeat: { intervalMs: 200, maxTimeoutMs: 300 },
          backoff: constantBackoff({ delayMs: 50 }),
        }),
      },
      timeline: [{ atMs: 500, label: 'cut every connection', action: (ctx) => void ctx.link.cut() }],
      invariants: [noLostOrDuplicatedRequests(), allReadyWithin(1000), nothingLeftRunning()],
    });
    const result = await runScenario(scenario, { seed: 2 });
    expectPassed(result);
    expect(result.report.connections).toBe(2);
    expect(result.report.deaths).toBe(2);
    expect(result.report.recovery.samples).toBe(1);
  });
});

describe('target.endpoints (a system running elsewhere)', () => {
  it('is refused on the simulated network, naming the endpoint and the way out', async () => {
    const scenario = defineScenario({
      name: 'external',
      durationMs: 100,
      target: { endpoints: [{ host: '127.0.0.1', port: 6379 }] },
    });
    const result = await runScenario(scenario, { seed: 1 });
    expect(result.passed).toBe(false);
    expect(result.violations[0]).toMatchObject({ invariant: 'setup' });
    expect(result.violations[0]!.message).toMatch(/not 127\.0\.0\.1:6379: run a target\.endpoints scenario on real sockets/);
  });

  it('ctx.server refuses every control and says to fault the link instead', async () => {
    const server = new ExternalServer([{ host: '10.1.2.3', port: 5432 }]);
    expect(server.address).toBe('10.1.2.3:5432');
    await expect(server.kill()).rejects.toThrow(/ctx\.server\.kill\(\) controls an in-process server, but this scenario targets 10\.1\.2\.3:5432/);
    expect(() => server.freeze()).toThrow(/fault the link instead/);
    expect(() => (server.responseDelayMs = 10)).toThrow(/responseDelayMs/);
  });
});

describe('defineScenario refuses a contradictory target', () => {
  const base = { name: 't', durationMs: 100 };
  const cases: [string, object, RegExp][] = [
    ['two places', { handler: () => 1, endpoints: [{ host: '127.0.0.1', port: 1 }] }, /target\.handler and scenario\.target\.endpoints exclude each other/],
    ['a protocol and nothing to send', { protocol: lineProtocol() }, /scenario\.target\.request is required with scenario\.target\.protocol/],
    ['pool options the scenario owns', { pool: { min: 3 } }, /scenario\.target\.pool\.min is set by the scenario/],
    ['a pool and a pool factory', { pool: {}, createPool: () => undefined }, /pool and scenario\.target\.createPool exclude each other/],
    ['a unix socket endpoint', { endpoints: [{ path: '/tmp/s.sock' }] }, /scenario\.target\.endpoints\[0\] must be a host and port/],
    ['an unknown key', { hanlder: () => 1 }, /scenario\.target\.hanlder/],
  ];
  for (const [what, target, message] of cases) {
    it(what, () => {
      const define = () => defineScenario({ ...base, target } as Parameters<typeof defineScenario>[0]);
      expect(define).toThrow(InvalidOptionError);
      expect(define).toThrow(message);
    });
  }

  it('a protocol needs no request when there is no workload', () => {
    expect(() => defineScenario({ ...base, workload: false, target: { protocol: lineProtocol() } })).not.toThrow();
  });
});

describe('the report', () => {
  it('prints the outcomes by phase', async () => {
    const scenario = defineScenario({
      name: 'phases',
      durationMs: 1500,
      timeline: [{ atMs: 500, label: 'kill', action: (ctx) => ctx.server.restart(300) }],
      invariants: [invariant('runs', () => undefined)],
    });
    const result = await runScenario(scenario, { seed: 4 });
    const text = formatReport(result.report);
    expect(text).toMatch(/by phase\s+0–500 ms\s+before the first step: ok \d+\/\d+/);
    expect(text).toMatch(/500–1500 ms\s+kill: ok \d+\/\d+ · failed \d+ \(/);
  });
});
