/**
 * Protocol-aware toxics between a real wire client and a real wire server, through the
 * chaos proxy on loopback.
 */
import { asyncScheduler } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createChaosProxy, type ChaosProxy } from '../../src/chaos/chaos-proxy.js';
import { CHAOS_ERROR_CODE } from '../../src/chaos/wire-frames.js';
import { RemoteError, RequestTimeoutError } from '../../src/errors.js';
import { createWireServer, tcp, wire, type WireServer, type WireSession } from '../../src/transport/index.js';
import { tcpHandles } from './helpers.js';

let server: WireServer;
let proxy: ChaosProxy;
let handled: unknown[];
const sessions: WireSession[] = [];

beforeAll(async () => {
  handled = [];
  server = createWireServer({
    handler: (payload) => {
      handled.push(payload);
      return payload;
    },
  });
  const { port } = (await server.listen()) as { port: number };
  proxy = createChaosProxy({ name: 'wire', upstream: `127.0.0.1:${port}` });
  await proxy.start();
});

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close()));
  proxy.resetToxics();
  proxy.cutConnections();
  handled.length = 0;
});

afterAll(async () => {
  await proxy.close();
  await server.close();
  expect(await tcpHandles()).toBe(0);
});

async function open(): Promise<WireSession> {
  const endpoint = { host: '127.0.0.1', port: proxy.address!.port };
  const stream = await tcp().dial(endpoint, { connectTimeoutMs: 2000 });
  const session = await wire({ requestTimeoutMs: 400 }).open(stream, {
    signal: new AbortController().signal, endpoint, markAlive: () => undefined, scheduler: asyncScheduler,
  });
  sessions.push(session);
  return session;
}

describe('through the proxy', () => {
  it('wire_drop_pongs: probes go unanswered while requests still work', async () => {
    const session = await open();
    expect(await session.ping()).toBeGreaterThanOrEqual(0);
    proxy.addToxic({ type: 'wire_drop_pongs', stream: 'downstream' });
    const aborted = session.ping(AbortSignal.timeout(300)).then(() => 'answered', () => 'unanswered');
    expect(await session.request('still here')).toBe('still here');
    expect(await aborted).toBe('unanswered');
  });

  it('wire_fail_requests: the first N requests fail with a RemoteError and never reach the server', async () => {
    proxy.addToxic({ type: 'wire_fail_requests', stream: 'upstream', attributes: { count: 2, message: 'chaos says no' } });
    const session = await open();
    const outcomes = await Promise.allSettled([session.request('one'), session.request('two'), session.request('three')]);
    for (const failed of outcomes.slice(0, 2)) {
      expect(failed.status).toBe('rejected');
      const err = (failed as PromiseRejectedResult).reason as Error;
      expect(err).toBeInstanceOf(RemoteError);
      expect(err.message).toMatch(/chaos says no/);
      expect((err.cause as { code?: string }).code).toBe(CHAOS_ERROR_CODE);
    }
    expect(outcomes[2]).toEqual({ status: 'fulfilled', value: 'three' });
    expect(handled).toEqual(['three']);
  });

  it('wire_fail_requests in drop mode: the request times out', async () => {
    proxy.addToxic({ type: 'wire_fail_requests', stream: 'upstream', attributes: { count: 1, mode: 'drop' } });
    const session = await open();
    await expect(session.request('lost')).rejects.toBeInstanceOf(RequestTimeoutError);
    expect(await session.request('kept')).toBe('kept');
    expect(handled).toEqual(['kept']);
  });

  it('wire_delay_responses: requests slow down, heartbeats do not', async () => {
    proxy.addToxic({ type: 'wire_delay_responses', stream: 'downstream', attributes: { latency: 250 } });
    const session = await open();
    let start = performance.now();
    expect(await session.request('slow', { timeoutMs: 2000 })).toBe('slow');
    expect(performance.now() - start).toBeGreaterThanOrEqual(245);
    start = performance.now();
    await session.ping();
    expect(performance.now() - start).toBeLessThan(200);
  });
});
