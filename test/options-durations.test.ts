/**
 * One rule for every duration in the public API: an integer in [min, 2^31 − 1] ms (or
 * Infinity where documented). Node stores a timer's delay in 32 bits and fires a longer
 * one after 1 ms, so 2^31 must be refused where it is written (`WW_INVALID_OPTION`), and
 * 2^31 − 1 accepted. Each entry sets one duration through a public entry point.
 */
import { createServer, type AddressInfo } from 'node:net';
import { VirtualTimeScheduler } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConnectionInput, parseHeartbeat } from '../src/actors/connection-input.js';
import { createChaosProxy } from '../src/chaos/chaos-proxy.js';
import { defineScenario } from '../src/chaos/define-scenario.js';
import { runScenario } from '../src/chaos/run-scenario.js';
import { createSimulatedNetwork } from '../src/chaos/simulated-network.js';
import { createToxiproxyServer, type ToxiproxyServer } from '../src/chaos/toxiproxy-server.js';
import { hasCode } from '../src/errors.js';
import { constantBackoff, createRuntime, createWireServer, exponentialBackoff, resp, tcp, tls, wire, type Runtime } from '../src/index.js';
import { createFramingPool } from '../src/transport/framing-pool.js';
import { checkAcquireOptions } from '../src/pool/acquire-options.js';
import { MAX_DURATION_MS } from '../src/options.js';
import { workerMachine } from './supervisor/helpers/worker-machine.js';
import { duplexPair, RawPeer } from './transport/helpers.js';
import { open as openResp } from './transport/resp-helpers/scripted-session.js';
import { MessageType as T } from '../src/transport/wire-messages.js';

const TOO_LONG = 2 ** 31;
const LONGEST = 2 ** 31 - 1;

let rt: Runtime;
const vts = new VirtualTimeScheduler();
const endpoint = { host: '127.0.0.1', port: 7000 };

beforeAll(() => {
  rt = createRuntime({ scheduler: vts });
});

afterAll(async () => {
  const done = rt.shutdown();
  vts.flush();
  await done;
});

/** Runs `set(value)`; settles a returned promise; returns the error or undefined. */
async function outcome(set: (value: number) => unknown, value: number): Promise<unknown> {
  try {
    const result = set(value);
    if (result instanceof Promise) await result;
    return undefined;
  } catch (err) {
    return err;
  }
}

async function expectRule(set: (value: number) => unknown, min: number, path: string, infinity = false): Promise<void> {
  const refused = await outcome(set, TOO_LONG);
  expect(hasCode(refused, 'WW_INVALID_OPTION'), `${path} = 2^31 is refused`).toBe(true);
  expect((refused as Error).message).toBe(
    `${path} must be an integer in [${min}, ${MAX_DURATION_MS}] (ms)${infinity ? ' or Infinity' : ''}, got ${TOO_LONG}`,
  );
  expect(await outcome(set, LONGEST), `${path} = 2^31 - 1 is accepted`).toBeUndefined();
}

const poolBase = { endpoints: [endpoint], protocol: wire(), min: 0 };
const pool = (extra: Record<string, unknown>) => rt.createPool({ ...poolBase, ...extra }).close();

describe('every duration: 2^31 is refused, 2^31 - 1 accepted', () => {
  it.each<[string, (v: number) => unknown, number]>([
    ['runtime.withinMs', (v) => createRuntime({ scheduler: new VirtualTimeScheduler(), withinMs: v }).shutdown(), 1],
    ['pool.acquireTimeoutMs', (v) => pool({ acquireTimeoutMs: v }), 1],
    ['pool.idleTimeoutMs', (v) => pool({ idleTimeoutMs: v }), 0],
    ['pool.maxLifetimeMs', (v) => pool({ maxLifetimeMs: v }), 0],
    ['pool.leakDetectionMs', (v) => pool({ leakDetectionMs: v }), 0],
    ['pool.leakReclaimGraceMs', (v) => pool({ leakDetectionMs: 1000, reclaimLeaked: true, leakReclaimGraceMs: v }), 0],
    ['pool.validateAfterIdleMs', (v) => pool({ validateAfterIdleMs: v }), 0],
    ['pool.housekeepingIntervalMs', (v) => pool({ housekeepingIntervalMs: v }), 1],
    ['pool.closeTimeoutMs', (v) => pool({ closeTimeoutMs: v }), 0],
    ['pool.validationTimeoutMs', (v) => pool({ validationTimeoutMs: v }), 1],
    ['pool.resetBackoffAfterMs', (v) => pool({ resetBackoffAfterMs: v }), 1],
    ['pool.connectTimeoutMs', (v) => pool({ connectTimeoutMs: v }), 1],
    ['pool.handshakeTimeoutMs', (v) => pool({ handshakeTimeoutMs: v }), 1],
    ['pool.heartbeat.intervalMs', (v) => pool({ heartbeat: { intervalMs: v } }), 1],
    ['heartbeat.intervalMs', (v) => parseHeartbeat({ intervalMs: v }), 1],
    ['heartbeat.minTimeoutMs', (v) => parseHeartbeat({ minTimeoutMs: v, maxTimeoutMs: LONGEST }), 1],
    ['heartbeat.maxTimeoutMs', (v) => parseHeartbeat({ maxTimeoutMs: v }), 1],
    ['heartbeat.minIntervalMs', (v) => parseHeartbeat({ minIntervalMs: v, intervalMs: LONGEST }), 1],
    ['heartbeat.maxIntervalMs', (v) => parseHeartbeat({ maxIntervalMs: v }), 1],
    ['heartbeat.suspicionWindowMs', (v) => parseHeartbeat({ suspicionWindowMs: v }), 1],
    ['connection.connectTimeoutMs', (v) => parseConnectionInput({ endpoint, protocol: wire(), connectTimeoutMs: v }), 1],
    ['connection.handshakeTimeoutMs', (v) => parseConnectionInput({ endpoint, protocol: wire(), handshakeTimeoutMs: v }), 1],
    ['connection.heartbeat.intervalMs', (v) => parseConnectionInput({ endpoint, protocol: wire(), heartbeat: { intervalMs: v } }), 1],
    ['connection.closeTimeoutMs', (v) => parseConnectionInput({ endpoint, protocol: wire(), closeTimeoutMs: v }), 0],
    ['exponentialBackoff.initialMs', (v) => exponentialBackoff({ initialMs: v, maxMs: LONGEST }), 1],
    ['exponentialBackoff.maxMs', (v) => exponentialBackoff({ maxMs: v }), 1],
    ['constantBackoff.delayMs', (v) => constantBackoff({ delayMs: v }), 0],
    ['supervisor.withinMs', (v) => rt.createSupervisor({ id: `s-within-${v}`, withinMs: v }), 1],
    ['supervisor.children[0].resetAfterMs', (v) => rt.createSupervisor({ id: `s-reset-${v}`, children: [{ id: 'w', logic: workerMachine, resetAfterMs: v }] }), 0],
    ['wire.requestTimeoutMs', (v) => wire({ requestTimeoutMs: v }), 0],
    ['wire.closeTimeoutMs', (v) => wire({ closeTimeoutMs: v }), 0],
    ['resp.requestTimeoutMs', (v) => resp({ requestTimeoutMs: v }), 0],
    ['resp.closeTimeoutMs', (v) => resp({ closeTimeoutMs: v }), 0],
    ['wireServer.clientIdleTimeoutMs', (v) => createWireServer({ clientIdleTimeoutMs: v }), 1],
    ['wireServer.clientProbeTimeoutMs', (v) => createWireServer({ clientProbeTimeoutMs: v }), 1],
    ['wireServer.handshakeTimeoutMs', (v) => createWireServer({ handshakeTimeoutMs: v }), 1],
    ['wireServer.closeTimeoutMs', (v) => createWireServer({ closeTimeoutMs: v }), 0],
    ['tcp.keepAliveInitialDelayMs', (v) => tcp({ keepAliveInitialDelayMs: v }), 0],
    ['tls.keepAliveInitialDelayMs', (v) => tls({ keepAliveInitialDelayMs: v }), 0],
    ['framing.idleTimeoutMs', (v) => createFramingPool({ idleTimeoutMs: v }).close(), 0],
    ['subscriber.connectTimeoutMs', (v) => rt.createSubscriber({ endpoint, protocol: resp(), connectTimeoutMs: v }).close(), 1],
    ['subscriber.handshakeTimeoutMs', (v) => rt.createSubscriber({ endpoint, protocol: resp(), handshakeTimeoutMs: v }).close(), 1],
    ['chaosProxy.connectTimeoutMs', (v) => createChaosProxy({ name: 'c', upstream: '127.0.0.1:7000', connectTimeoutMs: v }), 1],
    ['toxiproxyServer.requestTimeoutMs', (v) => createToxiproxyServer({ port: 0, requestTimeoutMs: v }), 1],
    ['toxiproxyServer.connectTimeoutMs', (v) => createToxiproxyServer({ port: 0, connectTimeoutMs: v }), 1],
    ['simulatedNetwork.connectDelayMs', (v) => createSimulatedNetwork({ scheduler: new VirtualTimeScheduler(), connectDelayMs: v }), 0],
    ['scenario.durationMs', (v) => defineScenario({ name: 'd', durationMs: v }), 1],
    ['scenario.timeline[0].atMs', (v) => defineScenario({ name: 'd', durationMs: LONGEST, timeline: [{ atMs: v, label: 'x', action: () => {} }] }), 0],
    ['scenario.warmupTimeoutMs', (v) => defineScenario({ name: 'd', durationMs: 10, warmupTimeoutMs: v }), 1],
    ['scenario.checkEveryMs', (v) => defineScenario({ name: 'd', durationMs: 10, checkEveryMs: v }), 1],
    ['scenario.faultGraceMs', (v) => defineScenario({ name: 'd', durationMs: 10, faultGraceMs: v }), 0],
    ['scenario.workload.intervalMs', (v) => defineScenario({ name: 'd', durationMs: 10, workload: { intervalMs: v } }), 0],
    ['scenario.workload.timeoutMs', (v) => defineScenario({ name: 'd', durationMs: 10, workload: { timeoutMs: v } }), 1],
    ['scenario.heartbeat.intervalMs', (v) => defineScenario({ name: 'd', durationMs: 10, heartbeat: { intervalMs: v } }), 1],
    ['scenario.backoff.maxMs', (v) => defineScenario({ name: 'd', durationMs: 10, backoff: { maxMs: v } }), 1],
  ])('%s', async (path, set, min) => {
    await expectRule(set, min, path);
  });

  it('supervisor child shutdownMs: the rule, or Infinity as documented', async () => {
    const spec = (v: number) => ({ id: `s-shutdown-${v}`, children: [{ id: 'w', logic: workerMachine, shutdownMs: v }] });
    await expectRule((v) => rt.createSupervisor(spec(v)), 0, 'supervisor.children[0].shutdownMs', true);
    expect(() => rt.createSupervisor(spec(Number.POSITIVE_INFINITY))).not.toThrow();
  });
});

describe('per-call durations', () => {
  it('pool.acquire({ timeoutMs })', async () => {
    const p = rt.createPool(poolBase);
    const refused = await outcome(() => p.acquire({ timeoutMs: TOO_LONG }), 0);
    expect(hasCode(refused, 'WW_INVALID_OPTION')).toBe(true);
    expect((refused as Error).message).toBe(`acquire.timeoutMs must be an integer in [1, ${MAX_DURATION_MS}] (ms), got ${TOO_LONG}`);
    expect(checkAcquireOptions({ timeoutMs: LONGEST })).toBeUndefined();
    await p.close();
  });

  it('wire session request({ timeoutMs })', async () => {
    const scheduler = new VirtualTimeScheduler();
    const [client, server] = duplexPair();
    const peer = new RawPeer(server);
    const opening = wire().open(client, { signal: new AbortController().signal, endpoint, markAlive: () => {}, scheduler });
    await peer.next(T.HELLO);
    peer.send([T.HELLO_OK, { version: 1, clientId: 1 }]);
    const session = await opening;
    await expectRule((v) => {
      const reply = session.request('x', { timeoutMs: v });
      if (v === TOO_LONG) return reply;
      reply.catch(() => {});
      return undefined;
    }, 1, 'request.timeoutMs');
    session.destroy();
  });

  it('resp session command(args, { timeoutMs })', async () => {
    const { session } = await openResp();
    await expectRule((v) => {
      const reply = session.command(['GET', 'k'], { timeoutMs: v });
      if (v === TOO_LONG) return reply;
      reply.catch(() => {});
      return undefined;
    }, 1, 'command.timeoutMs');
    session.destroy();
  });

  it('tcp().dial(endpoint, { connectTimeoutMs })', async () => {
    const listener = createServer((s) => s.destroy());
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const port = (listener.address() as AddressInfo).port;
    await expectRule(async (v) => {
      const socket = await tcp().dial({ host: '127.0.0.1', port }, { connectTimeoutMs: v });
      socket.destroy();
    }, 1, 'dial.connectTimeoutMs');
    await new Promise<void>((resolve) => listener.close(() => resolve()));
  });
});

describe('scenario context durations', () => {
  it('ctx.sleep(ms), ctx.server.restart(downMs) and ctx.server.responseDelayMs', async () => {
    const refusals: string[] = [];
    const refusal = async (fn: () => unknown) => {
      try {
        await fn();
        refusals.push('accepted');
      } catch (err) {
        refusals.push(hasCode(err, 'WW_INVALID_OPTION') ? (err as Error).message : String(err));
      }
    };
    const scenario = defineScenario({
      name: 'durations', durationMs: 500, connections: 1, workload: false,
      timeline: [{
        atMs: 100,
        label: 'too long',
        action: async (ctx) => {
          await refusal(() => ctx.sleep(TOO_LONG));
          await refusal(() => ctx.server.restart(TOO_LONG));
          await refusal(() => (ctx.server.responseDelayMs = TOO_LONG));
          await refusal(() => (ctx.server.responseDelayMs = 0));
        },
      }],
    });
    const result = await runScenario(scenario, { mode: 'simulated', seed: 1 });
    expect(result.report.violations).toEqual([]);
    expect(refusals).toEqual([
      `ctx.sleep(ms) must be an integer in [0, ${MAX_DURATION_MS}] (ms), got ${TOO_LONG}`,
      `server.restart(downMs) must be an integer in [0, ${MAX_DURATION_MS}] (ms), got ${TOO_LONG}`,
      `server.responseDelayMs must be an integer in [0, ${MAX_DURATION_MS}] (ms), got ${TOO_LONG}`,
      'accepted',
    ]);
  });
});

describe('toxic durations through the Toxiproxy API', () => {
  let api: ToxiproxyServer;

  beforeAll(async () => {
    api = createToxiproxyServer({ port: 0 });
    await api.start();
    await api.registry.create({ name: 'p', upstream: '127.0.0.1:7000', enabled: false });
  });

  afterAll(() => api.close());

  it.each<[string, string]>([
    ['latency', 'latency'],
    ['latency', 'jitter'],
    ['timeout', 'timeout'],
    ['reset_peer', 'timeout'],
    ['slow_close', 'delay'],
    ['stall', 'stall_ms'],
    ['stall', 'interval_ms'],
    ['wire_delay_responses', 'latency'],
    ['wire_delay_responses', 'jitter'],
  ])('%s.%s', async (type, attribute) => {
    const add = (value: number) =>
      fetch(`${api.url}/proxies/p/toxics`, { method: 'POST', body: JSON.stringify({ name: 't', type, attributes: { [attribute]: value } }) });
    const refused = await add(TOO_LONG);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({
      error: `bad request body: toxic.attributes.${attribute} must be an integer in [0, ${MAX_DURATION_MS}] (ms), got ${TOO_LONG}`,
      status: 400,
    });
    expect((await add(LONGEST)).status).toBe(200);
    expect((await fetch(`${api.url}/proxies/p/toxics/t`, { method: 'DELETE' })).status).toBe(204);
  });
});
