/**
 * Endpoint health under chaos (issue 14): the breaker and shedding examples on the
 * simulated network for many seeds and on real sockets; failover/failback and outlier
 * ejection across several endpoints on real sockets (the runner's simulated network hosts
 * one server), through one chaos proxy per endpoint.
 */
import { afterEach, describe, expect, it } from 'vitest';
import breakerScenario from '../../examples/chaos/circuit-breaker.js';
import sheddingScenario from '../../examples/chaos/load-shedding.js';
import { defineScenario, invariant, nothingLeftRunning, runScenario } from '../../src/chaos/index.js';
import { createWireServer, wire, type PoolEvent, type WireServer, type WireSession } from '../../src/index.js';
import { expectPassed, expectRealRunPasses, expectSeedsPass } from './scenario-helpers.js';

const servers: WireServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close({ graceful: false });
});

async function wireServers(n: number): Promise<{ host: string; port: number }[]> {
  const out: { host: string; port: number }[] = [];
  for (let i = 0; i < n; i++) {
    const server = createWireServer({ handler: (payload) => payload });
    servers.push(server);
    const { port } = (await server.listen()) as { port: number };
    out.push({ host: '127.0.0.1', port });
  }
  return out;
}

describe('circuit-breaker (examples/chaos/circuit-breaker.ts)', () => {
  it('passes on the simulated network for 10 seeds: fails fast while down, back within the bound', async () => {
    for (const { report } of await expectSeedsPass(breakerScenario, 1, 10)) {
      const down = report.phases.find((p) => p.label === 'server killed')!;
      expect(down.failuresByCode.WW_CIRCUIT_OPEN).toBeGreaterThan(50);
      expect(down.failuresByCode.WW_POOL_TIMEOUT).toBeUndefined();
      expect(report.requests.lost).toBe(0);
    }
  });

  it('passes on real sockets', async () => {
    const { report } = await expectRealRunPasses(breakerScenario);
    expect(report.requests.failuresByCode.WW_CIRCUIT_OPEN).toBeGreaterThan(20);
  });
});

describe('load-shedding (examples/chaos/load-shedding.ts)', () => {
  it('passes on the simulated network for 5 seeds', async () => {
    for (const { report } of await expectSeedsPass(sheddingScenario, 1, 5)) {
      expect(report.requests.failuresByCode.WW_POOL_OVERLOADED).toBeGreaterThan(100);
    }
  });

  it('passes on real sockets', async () => {
    await expectRealRunPasses(sheddingScenario);
  });
});

describe('several endpoints on real sockets', () => {
  it('failover and failback: the primary\'s link goes down, traffic moves to the backup, and returns after failbackAfterMs', async () => {
    const [primary, backup] = await wireServers(2);
    const events: PoolEvent[] = [];
    const moves = invariant<unknown, WireSession>('movedAndReturned', (_ctx, phase) => {
      if (phase !== 'final') return undefined;
      const kinds = events.flatMap((e) => (e.type === 'priority-failover' || e.type === 'priority-failback' ? [`${e.type} ${e.from}->${e.to}`] : []));
      return kinds.join(',') === 'priority-failover 0->1,priority-failback 1->0' ? undefined : `moves: ${kinds.join(', ') || 'none'}`;
    });
    const scenario = defineScenario<unknown, WireSession>({
      name: 'failover-failback',
      durationMs: 4500,
      connections: 2,
      target: {
        endpoints: [primary!, backup!],
        createPool: (env) => {
          const pool = env.runtime.createPool({
            // The runner's proxies, in the order given: the first is the primary group.
            endpoints: env.endpoints.map((e, i) => ({ ...e, priority: i })),
            protocol: wire({ requestTimeoutMs: 1000 }), min: env.connections, max: env.connections + 1,
            heartbeat: env.heartbeat, backoff: env.backoff, failover: { failbackAfterMs: 1000 },
            ...(env.transport === undefined ? {} : { transport: env.transport }),
          });
          pool.events$.subscribe((e) => events.push(e));
          return pool;
        },
      },
      timeline: [
        { atMs: 500, label: 'primary link down', action: async (ctx) => { await ctx.links[0]!.disable(); ctx.links[0]!.cut(); } },
        { atMs: 1500, label: 'primary link back', harmful: false, action: (ctx) => ctx.links[0]!.enable() },
      ],
      // target.endpoints cannot report executions: no lost/duplicated check here.
      invariants: [
        moves,
        invariant('servedByTheBackup', (ctx, phase) => {
          if (phase !== 'final') return undefined;
          const down = ctx.observed.phases().find((p) => p.label === 'primary link down')!;
          return down.ok >= down.issued * 0.8 ? undefined : `only ${down.ok} of ${down.issued} served while the primary was down`;
        }),
        nothingLeftRunning(),
      ],
    });
    const result = await runScenario(scenario, { mode: 'real', seed: 1 });
    expectPassed(result);
    const back = events.find((e) => e.type === 'priority-failback') as { stableForMs: number; requiredStableMs: number } | undefined;
    expect(back?.requiredStableMs).toBe(1000);
    expect(back!.stableForMs).toBeGreaterThanOrEqual(1000);
  });

  it('outlier ejection: one endpoint of three starts refusing; it is ejected, and requests keep succeeding on the other two', async () => {
    const endpoints = await wireServers(3);
    const ejected: string[] = [];
    const scenario = defineScenario({
      name: 'outlier-ejection',
      durationMs: 2500,
      connections: 3,
      target: {
        endpoints,
        pool: { outlierDetection: { consecutiveGatewayFailure: 2, maxEjectionPercent: 34, baseEjectionTimeMs: 30_000 } },
      },
      timeline: [
        { atMs: 500, label: 'one endpoint refuses', action: async (ctx) => { await ctx.links[1]!.disable(); ctx.links[1]!.cut(); } },
        {
          atMs: 1200,
          label: 'check the ejection',
          harmful: false,
          action: (ctx) => {
            for (const [key, e] of Object.entries(ctx.pool.stats().endpoints)) if (e.outlier === 'ejected') ejected.push(key);
          },
        },
      ],
      invariants: [
        invariant('servedByThePeers', (ctx, phase) => {
          if (phase !== 'final') return undefined;
          const after = ctx.observed.phases().find((p) => p.label === 'check the ejection')!;
          return after.failed === 0 ? undefined : `${after.failed} requests failed after the ejection (${JSON.stringify(after.failuresByCode)})`;
        }),
        nothingLeftRunning(),
      ],
    });
    const result = await runScenario(scenario, { mode: 'real', seed: 1 });
    expectPassed(result);
    expect(ejected).toHaveLength(1);
  });
});
