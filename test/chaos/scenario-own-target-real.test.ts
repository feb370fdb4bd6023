/**
 * A scenario against a system already running elsewhere (`target.endpoints`), on real
 * loopback sockets: a Redis-speaking server (the test suite's fake Redis) reached
 * through one chaos proxy per endpoint, with `resp()` and the scenario's own request.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { allReadyWithin, defineScenario, noLostOrDuplicatedRequests, nothingLeftRunning, runScenario } from '../../src/chaos/index.js';
import { createWireServer, resp, type WireServer } from '../../src/index.js';
import { FakeRedis } from '../transport/resp-helpers/fake-redis.js';
import { lineProtocol, lineServer } from './line-protocol.js';
import { expectPassed, handleCounts } from './scenario-helpers.js';

let redis: FakeRedis | undefined;
afterEach(async () => {
  await redis?.close();
  redis = undefined;
});

describe('target.endpoints on real sockets', () => {
  it('runs the workload against your server through a proxy, survives a cut, and leaves nothing behind', async () => {
    redis = await new FakeRedis({ password: 'hunter2' }).listen();
    const port = redis.port;
    const scenario = defineScenario({
      name: 'your-redis',
      durationMs: 1500,
      connections: 2,
      target: {
        endpoints: [{ host: '127.0.0.1', port }],
        protocol: resp({ password: 'hunter2', requestTimeoutMs: 1000 }),
        request: (conn, { id, signal }) => conn.command(['SET', `order:${id}`, 'paid'], { signal }),
      },
      timeline: [
        { atMs: 500, label: 'cut every connection', action: (ctx) => void ctx.link.cut() },
        {
          atMs: 600,
          label: 'ctx.server cannot kill a server it does not host',
          action: async (ctx) => {
            await expect(ctx.server.kill()).rejects.toThrow(/targets 127\.0\.0\.1:\d+ \(target\.endpoints\): fault the link instead/);
          },
        },
      ],
      invariants: [allReadyWithin(1000), nothingLeftRunning()],
    });
    const before = handleCounts();
    const result = await runScenario(scenario, { mode: 'real', seed: 1 });
    expectPassed(result);
    const { report } = result;
    expect(report.deaths).toBe(2); // both connections cut, both back
    expect(report.requests.ok).toBeGreaterThan(5);
    expect(report.requests.executionsObserved).toBe(false);
    // The server really executed them, with our credentials, through the proxy.
    expect(redis.commands.filter((c) => c[0] === 'SET').length).toBeGreaterThanOrEqual(report.requests.ok);
    expect(report.phases.map((p) => p.label)).toEqual([
      'before the first step', 'cut every connection', 'ctx.server cannot kill a server it does not host',
    ]);
    // The password never reaches the report.
    expect(JSON.stringify(report)).not.toContain('hunter2');
    const after = handleCounts();
    expect(after.TCPServerWrap).toBeLessThanOrEqual(before.TCPServerWrap!);
  });

  it('noLostOrDuplicatedRequests says it cannot check a server that reports no executions', async () => {
    redis = await new FakeRedis().listen();
    const scenario = defineScenario({
      name: 'unverifiable',
      durationMs: 300,
      connections: 1,
      target: {
        endpoints: [{ host: '127.0.0.1', port: redis.port }],
        protocol: resp(),
        request: (conn, { id, signal }) => conn.command(['SET', `k${id}`, '1'], { signal }),
      },
      invariants: [noLostOrDuplicatedRequests()],
    });
    const result = await runScenario(scenario, { mode: 'real', seed: 1 });
    expect(result.violations.map((v) => [v.invariant, v.phase])).toEqual([['noLostOrDuplicatedRequests', 'final']]);
    expect(result.violations[0]!.message).toMatch(/a target\.endpoints system cannot report them, so leave this invariant out/);
  });
});

describe('target.server on real sockets', () => {
  it('hosts your server on a loopback port behind the proxy; ctx.server kills and restarts it on the same port', async () => {
    const scenario = defineScenario({
      name: 'line-service-real',
      durationMs: 1200,
      connections: 2,
      target: { server: lineServer, protocol: lineProtocol(500), request: (conn, { id, signal }) => conn.request(id, signal) },
      timeline: [{ atMs: 400, label: 'restart the service', action: (ctx) => ctx.server.restart(100) }],
      invariants: [noLostOrDuplicatedRequests(), allReadyWithin(600), nothingLeftRunning()],
    });
    const result = await runScenario(scenario, { mode: 'real', seed: 1 });
    expectPassed(result);
    expect(result.report.requests.executionsObserved).toBe(true);
    // Both die with the server; a reconnect through the proxy while it is down may die again
    // (this protocol has no handshake, so the proxy's accept looks like a connection).
    expect(result.report.deaths).toBeGreaterThanOrEqual(2);
    expect(result.report.falseDeaths).toBe(0);
    expect(result.report.faults.map((f) => f.label)).toEqual(['server killed']);
  });
});

describe('several target.endpoints', () => {
  it('puts a proxy in front of each: ctx.links[i] faults one endpoint (the pool fails over), ctx.link all of them', async () => {
    const servers: WireServer[] = [];
    try {
      const ports: number[] = [];
      for (let i = 0; i < 2; i++) {
        const server = createWireServer({ handler: (p) => p });
        servers.push(server);
        ports.push((await server.listen()).port);
      }
      let cutByLink = -1;
      const scenario = defineScenario({
        name: 'two-endpoints',
        durationMs: 1500,
        connections: 2,
        target: { endpoints: ports.map((port) => ({ host: '127.0.0.1', port })) },
        timeline: [
          { atMs: 300, label: 'partition the first endpoint', action: (ctx) => ctx.links[0]!.disable() },
          { atMs: 700, label: 'heal it', action: (ctx) => ctx.links[0]!.enable() },
          { atMs: 1000, label: 'cut everything', action: (ctx) => void (cutByLink = ctx.link.cut()) },
        ],
        invariants: [allReadyWithin(800), nothingLeftRunning()],
      });
      const result = await runScenario(scenario, { mode: 'real', seed: 1 });
      expectPassed(result);
      // The default request still checks every reply carries its own id.
      expect(result.report.requests).toMatchObject({ mismatched: 0, lost: 0 });
      expect(result.report.requests.ok).toBeGreaterThan(20);
      const labels = result.report.faults.map((f) => f.label);
      expect(labels).toEqual(['link two-endpoints-1 disabled', 'link two-endpoints-1+two-endpoints-2 cut']);
      expect(cutByLink).toBe(2); // the fan-out link cut both connections, wherever they were
      expect(result.report.requests.executionsObserved).toBe(false);
    } finally {
      for (const server of servers) await server.close({ graceful: false });
    }
  });
});
