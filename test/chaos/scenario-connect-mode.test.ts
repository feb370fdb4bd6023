/**
 * A scenario whose clients dial by themselves (`custom({ connect })`, as node-postgres or
 * mysql2 do). On real sockets the runner's chaos proxy is the endpoint the library is
 * given, so the faults reach it: a blackholed link is detected by the heartbeat within
 * its bound and every connection comes back once it heals. Simulated, the library would
 * dial around the in-memory network: the run fails at setup, saying why.
 */
import { once } from 'node:events';
import { connect as netConnect } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  allReadyWithin, defineScenario, detectedWithin, detectionBoundMs, noFalseDeath, nothingLeftRunning, runScenario,
} from '../../src/chaos/index.js';
import { custom, type ConnectProtocol } from '../../src/index.js';
import { lineProtocol, lineServer, type LineSession } from './line-protocol.js';
import { expectRealRunPasses } from './scenario-helpers.js';

/**
 * The test's line protocol in connect mode: the "library" opens its own socket towards
 * `endpoint`, then speaks over it; the socket's end is reported through `lost`.
 */
function selfDialingLines(dialed: string[]): ConnectProtocol<LineSession> {
  const lines = lineProtocol(1000);
  return custom<LineSession>({
    connect: async (ctx) => {
      const { endpoint, signal, lost } = ctx;
      dialed.push(`${endpoint.host}:${endpoint.port}`);
      const socket = netConnect({ host: endpoint.host, port: endpoint.port! });
      socket.on('error', lost);
      socket.on('close', () => lost());
      const abort = (): void => void socket.destroy();
      signal.addEventListener('abort', abort, { once: true });
      try {
        await once(socket, 'connect');
      } finally {
        signal.removeEventListener('abort', abort);
      }
      const session = await lines.open(socket, ctx);
      // The library's own request timeout is liveness evidence too: a leased connection is
      // never probed, so without it a busy pool would hear of a blackhole only when idle.
      const request = session.request;
      return Object.assign(session, {
        request: (id: number, s: AbortSignal) => request(id, s).catch((err: unknown) => {
          if ((err as { code?: string }).code === 'LINE_TIMEOUT') ctx.requestTimedOut?.();
          throw err;
        }),
      });
    },
    probe: (session, signal) => session.ping(signal),
    close: async (session, signal) => {
      if (session.stream.destroyed) return;
      const closed = once(session.stream, 'close');
      const destroy = (): void => void session.stream.destroy();
      signal?.addEventListener('abort', destroy, { once: true });
      session.stream.end();
      await closed;
      signal?.removeEventListener('abort', destroy);
    },
  });
}

const heartbeat = { intervalMs: 200, minTimeoutMs: 50, maxTimeoutMs: 400, suspectProbes: 2 };

function blackholeScenario(dialed: string[]) {
  return defineScenario<unknown, LineSession>({
    name: 'self-dialing-blackhole',
    durationMs: 4500,
    connections: 2,
    heartbeat,
    target: {
      server: (env) => lineServer(env),
      protocol: selfDialingLines(dialed),
      request: (conn, { id, signal }) => conn.request(id, signal),
    },
    timeline: [
      {
        atMs: 300,
        label: 'blackhole both directions',
        action: (ctx) => {
          ctx.link.addToxic({ name: 'blackhole_up', type: 'timeout', stream: 'upstream', attributes: { timeout: 0 } });
          ctx.link.addToxic({ name: 'blackhole_down', type: 'timeout', stream: 'downstream', attributes: { timeout: 0 } });
        },
      },
      { atMs: 3000, label: 'heal the link', action: (ctx) => ctx.link.resetToxics() },
    ],
    invariants: [detectedWithin(detectionBoundMs(heartbeat, 1000)), allReadyWithin(1000), noFalseDeath(), nothingLeftRunning()],
  });
}

describe('a connect-mode protocol as scenario.target.protocol', () => {
  it('on real sockets dials the chaos proxy by itself: a blackhole is detected within the bound and every connection comes back', async () => {
    const dialed: string[] = [];
    const scenario = blackholeScenario(dialed);
    const { report } = await expectRealRunPasses(scenario as never);
    // The library reached the server only through the proxy: every dial went to one 127.0.0.1 port.
    expect(new Set(dialed).size).toBe(1);
    expect(dialed[0]).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(dialed.length).toBeGreaterThanOrEqual(4); // 2 at start, 2 after the blackhole
    expect(report.detection.samples).toBeGreaterThanOrEqual(2);
    expect(report.deaths).toBeGreaterThanOrEqual(2);
    expect(report.recovery.episodes).toHaveLength(1);
    expect(report.recovery.episodes[0]!.recoveredAt).toBeDefined();
    expect(report.requests.ok).toBeGreaterThan(0);
  });

  it('simulated, the run fails at setup saying the library dials around the simulated network, having dialed nothing', async () => {
    const dialed: string[] = [];
    const result = await runScenario(blackholeScenario(dialed), { mode: 'simulated', seed: 1 });
    expect(result.passed).toBe(false);
    expect(result.violations.map((v) => v.invariant)).toEqual(['setup']);
    expect(result.violations[0]!.message).toBe(
      'target.protocol is a connect-mode protocol (custom({ connect })): its library dials by itself, around the simulated network, ' +
        "so it cannot run simulated; run the scenario on real sockets (mode 'real', the CLI's default), where it dials the chaos proxy's endpoint",
    );
    expect(dialed).toEqual([]);
  });

  it('simulated, a createPool whose protocol dials by itself is refused the same way, its pool closed', async () => {
    const dialed: string[] = [];
    let live: (() => boolean) | undefined;
    const scenario = defineScenario<unknown, LineSession>({
      name: 'self-dialing-own-pool',
      durationMs: 100,
      connections: 1,
      workload: false,
      target: {
        server: (env) => lineServer(env),
        createPool: (env) => {
          const pool = env.runtime.createPool({ endpoints: env.endpoints, protocol: selfDialingLines(dialed), min: 1, max: 1 });
          live = () => pool.health().live;
          return pool;
        },
      },
    });
    const result = await runScenario(scenario, { mode: 'simulated', seed: 1 });
    expect(result.violations.map((v) => v.invariant)).toEqual(['setup']);
    expect(result.violations[0]!.message).toMatch(/^target\.createPool\(\.\.\.\) returned a pool whose protocol is a connect-mode protocol/);
    expect(live?.()).toBe(false);
  });

  it('defineScenario accepts a connect-mode protocol and still refuses an object with both open and connect', () => {
    const both = { ...lineProtocol(), connect: () => Promise.resolve({}) };
    expect(() => defineScenario({
      name: 'both', durationMs: 100, workload: false, target: { protocol: both as never },
    })).toThrow(/scenario\.target\.protocol must be a Protocol \(wire\(\), resp\(\), custom\(\{ open \| connect, \.\.\. \}\)\)/);
    expect(() => defineScenario({
      name: 'connect-only', durationMs: 100, workload: false, target: { protocol: selfDialingLines([]) },
    })).not.toThrow();
  });
});
