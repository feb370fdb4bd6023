/**
 * The inspector relay over real loopback sockets: `@statelyai/inspect`'s own
 * `createWebSocketInspector` as producer and `ws` clients as viewers (what Stately's
 * bridge page and `createWebSocketReceiver` are), the runtime as producer
 * (`rt.serveInspector`), where it binds, what it refuses, and that it closes.
 */
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { createWebSocketInspector } from '@statelyai/inspect';
import { createMachine } from 'xstate';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { createWireServer } from '../../src/transport/wire-server.js';
import { wire } from '../../src/transport/wire.js';
import { hasCode } from '../../src/errors.js';
import { createInspectorRelay, loadWs } from '../../src/observe/inspector-relay.js';
import { runInspectCommand } from '../../src/observe/inspector-relay-command.js';
import { handles, handlesBackTo, rawRequest, waitFor } from './dashboard-fixtures.js';
import { relayClient, type RelayClient } from './inspector-relay-fixtures.js';

const TOKEN = 'inspector-T0ken-never-sent';
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function runtime(): Runtime {
  const rt = createRuntime();
  cleanups.push(() => rt.shutdown());
  return rt;
}

async function client(url: string, headers?: Record<string, string>): Promise<RelayClient> {
  const c = await relayClient(url, headers);
  cleanups.push(() => c.close());
  return c;
}

async function pooledRuntime(): Promise<{ rt: Runtime; connections: () => string[] }> {
  const server = createWireServer({ token: TOKEN, handler: (p) => p });
  const { port } = await server.listen();
  cleanups.push(() => server.close({ graceful: false }));
  const rt = runtime();
  const pool = rt.createPool({
    id: 'orders', endpoints: [{ host: '127.0.0.1', port }], protocol: wire({ token: TOKEN }), min: 2, max: 2,
    heartbeat: { intervalMs: 100, minTimeoutMs: 50, maxTimeoutMs: 200 },
  });
  await waitFor('2 ready', () => pool.connections().filter((c) => c.state === 'ready').length === 2);
  return { rt, connections: () => pool.connections().map((c) => c.id) };
}

type Msg = RelayClient['messages'][number];
const actors = (c: RelayClient) => c.messages.filter((m): m is Msg & { name: string; sessionId: string; parentId?: string; definition: string } => m.type === '@xstate.actor');

describe('where the relay listens', () => {
  test('127.0.0.1 by default, refused on the machine\'s other addresses; a named host is honoured', async () => {
    const relay = await createInspectorRelay();
    cleanups.push(() => relay.close());
    expect(relay.host).toBe('127.0.0.1');
    expect(relay.wsUrl).toBe(`ws://127.0.0.1:${relay.port}`);
    expect(relay.url).toBe(`http://127.0.0.1:${relay.port}/`);
    const external = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal);
    if (external !== undefined) {
      const outcome = await new Promise<string>((resolve) => {
        const s = connect(relay.port, external.address);
        s.once('connect', () => (s.destroy(), resolve('connected')));
        s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      });
      expect(outcome).toBe('ECONNREFUSED');
    }
    const everywhere = await createInspectorRelay({ host: '0.0.0.0' });
    cleanups.push(() => everywhere.close());
    expect(everywhere.host).toBe('0.0.0.0');
    await client(everywhere.wsUrl);
  });

  test('a WebSocket package that does not load is WW_LISTEN_FAILED with the loader\'s error as cause, not an untyped Error', async () => {
    const err = await loadWs('wirewarden-ws-that-is-not-installed').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'WW_LISTEN_FAILED', cause: expect.objectContaining({ code: 'ERR_MODULE_NOT_FOUND' }) });
    expect((err as Error).message).toMatch(/dependency of wirewarden/);
    expect((err as Error).message).not.toMatch(/npm install/);
  });

  test('bad options are WW_INVALID_OPTION; a taken port is WW_LISTEN_FAILED', async () => {
    await expect(createInspectorRelay({ port: -1 })).rejects.toThrow(/inspectorRelay\.port must be an integer in \[0, 65535\], got -1/);
    await expect(createInspectorRelay({ inspectorUrl: 'javascript:alert(1)' })).rejects.toSatisfy((e: unknown) => hasCode(e, 'WW_INVALID_OPTION'));
    const relay = await createInspectorRelay();
    cleanups.push(() => relay.close());
    await expect(createInspectorRelay({ port: relay.port })).rejects.toSatisfy((e: unknown) => hasCode(e, 'WW_LISTEN_FAILED'));
  });
});

describe('the protocol of @statelyai/inspect/server', () => {
  test('a createWebSocketInspector producer reaches a viewer: actor registrations and snapshots of a running runtime', async () => {
    const relay = await createInspectorRelay();
    cleanups.push(() => relay.close());
    const viewer = await client(relay.wsUrl);
    const { rt, connections } = await pooledRuntime();
    const inspector = createWebSocketInspector({ url: relay.wsUrl });
    cleanups.push(() => inspector.stop());
    const sub = rt.inspect(inspector.inspect);
    cleanups.push(() => sub.unsubscribe());
    await viewer.until((m) => m.type === '@xstate.actor', 2 + connections().length);
    await viewer.until((m) => m.type === '@xstate.snapshot');
    expect(actors(viewer).map((a) => a.name)).toEqual(expect.arrayContaining(['root', 'orders', ...connections()]));
    // A late viewer gets the replay, bounded by replayMessages.
    const late = await client(relay.wsUrl);
    await late.until((m) => m.type === '@xstate.actor', 2 + connections().length);
    expect(late.messages.length).toBeLessThanOrEqual(200);
  });

  test('the replay buffer holds the last replayMessages messages; a message is not echoed to its sender', async () => {
    const relay = await createInspectorRelay({ replayMessages: 3 });
    cleanups.push(() => relay.close());
    const producer = await client(relay.wsUrl);
    const viewer = await client(relay.wsUrl);
    for (let i = 0; i < 5; i++) producer.send(JSON.stringify({ type: 'n', i }));
    await viewer.until(() => true, 5);
    const late = await client(relay.wsUrl);
    await late.until(() => true, 3);
    expect(late.messages.map((m) => m.i)).toEqual([2, 3, 4]);
    expect(producer.messages).toEqual([]);
  });
});

describe('bounds and refusals', () => {
  test('a client beyond maxClients is refused with 503; a message over maxMessageBytes closes its sender (1009)', async () => {
    const relay = await createInspectorRelay({ maxClients: 2, maxMessageBytes: 1024 });
    cleanups.push(() => relay.close());
    const a = await client(relay.wsUrl);
    const viewer = await client(relay.wsUrl);
    await expect(relayClient(relay.wsUrl)).rejects.toThrow('status 503');
    a.send(JSON.stringify({ type: 'big', pad: 'x'.repeat(2000) }));
    expect(await a.closed).toBe(1009);
    expect(viewer.messages).toEqual([]);
    await waitFor('the closed client to free its place', () => relay.clients === 1);
    await client(relay.wsUrl);
  });

  test('a browser from another origin, or a request naming another host, is refused (403)', async () => {
    const relay = await createInspectorRelay();
    cleanups.push(() => relay.close());
    await expect(relayClient(relay.wsUrl, { origin: 'https://evil.example' })).rejects.toThrow('status 403');
    await expect(relayClient(relay.wsUrl, { host: `evil.example:${relay.port}` })).rejects.toThrow('status 403');
    await client(relay.wsUrl, { origin: `http://127.0.0.1:${relay.port}` });
    expect((await rawRequest(relay.url, { headers: { host: 'rebound.example' } })).status).toBe(403);
  });

  test('the bridge page embeds Stately\'s UI under a CSP and connects back to where it was loaded from; GET only', async () => {
    const relay = await createInspectorRelay();
    cleanups.push(() => relay.close());
    const page = await rawRequest(relay.url);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<iframe id="inspector" src="https://stately.ai/inspect">');
    expect(page.body).toContain("'ws://') + location.host");
    expect(page.headers['content-security-policy']).toMatch(/frame-src https:\/\/stately\.ai/);
    expect((await rawRequest(relay.url, { method: 'POST' })).status).toBe(405);
    expect((await rawRequest(`${relay.url}x`)).status).toBe(404);
  });
});

describe('rt.serveInspector()', () => {
  test('a client receives every actor (parents first, with statecharts) and live snapshots; no token in any message', async () => {
    const { rt, connections } = await pooledRuntime();
    const relay = await rt.serveInspector();
    const viewer = await client(relay.wsUrl);
    await viewer.until((m) => m.type === '@xstate.actor', 2 + connections().length);
    const registered = actors(viewer);
    const byName = new Map(registered.map((a) => [a.name, a]));
    expect([...byName.keys()]).toEqual(expect.arrayContaining(['root', 'orders', ...connections()]));
    expect(byName.get('orders')!.parentId).toBe(byName.get('root')!.sessionId);
    for (const id of connections()) {
      const conn = byName.get(id)!;
      expect(conn.parentId).toBe(byName.get('orders')!.sessionId);
      expect(JSON.parse(conn.definition)).toMatchObject({ states: expect.objectContaining({ ready: expect.anything(), suspect: expect.anything() }) });
      expect(conn).toMatchObject({ _version: '0.7.2', id: null, snapshot: { status: 'active' } });
    }
    // Heartbeats change state: snapshots stream while the client watches.
    await viewer.until((m) => m.type === '@xstate.snapshot' && (m.snapshot as { value?: unknown }).value === 'probing');
    expect(viewer.raw.join('\n')).not.toContain(TOKEN);
  });

  test('inspection is attached only while a client watches; a client joining later gets its own announcement', async () => {
    const { rt, connections } = await pooledRuntime();
    const live = new Set<object>();
    const inspect = rt.inspect.bind(rt);
    vi.spyOn(rt, 'inspect').mockImplementation((observer) => {
      const sub = inspect(observer);
      const tracked = { unsubscribe: () => (live.delete(tracked), sub.unsubscribe()) };
      live.add(tracked);
      return tracked;
    });
    const relay = await rt.serveInspector();
    expect(live.size).toBe(0);
    const first = await client(relay.wsUrl);
    await first.until((m) => m.type === '@xstate.actor', 2 + connections().length);
    expect(live.size).toBe(1);
    const second = await client(relay.wsUrl);
    await second.until((m) => m.type === '@xstate.actor', 2 + connections().length);
    // Each got the tree once (no duplicate registration from the other's join).
    expect(actors(first).filter((a) => a.name === 'root')).toHaveLength(1);
    expect(actors(second).filter((a) => a.name === 'root')).toHaveLength(1);
    expect(live.size).toBe(1);
    first.close();
    second.close();
    await waitFor('both clients gone', () => relay.clients === 0);
    expect(live.size).toBe(0);
  });

  test('an announcement far over maxBacklogBytes (~8 MB) reaches a fresh viewer that reads slowly whole, and it stays', async () => {
    const rt = runtime();
    // 1,000 actors whose statechart has 100 states: ~8 MB of announcement, more than loopback's socket buffers hold.
    const states = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`a-rather-long-state-name-${i}`, { on: { NEXT: `a-rather-long-state-name-${(i + 1) % 100}` } }]));
    const wide = createMachine({ id: 'wide', initial: 'a-rather-long-state-name-0', states });
    rt.createSupervisor({ id: 'big', children: Array.from({ length: 1000 }, (_, i) => ({ id: `w${i}`, logic: wide, shutdownMs: 0 })) });
    const relay = await rt.serveInspector({ maxBacklogBytes: 64 * 1024 });
    // A viewer that has not read yet (a browser busy drawing, a slow link): a raw WebSocket that stays paused.
    const socket = connect(relay.port, '127.0.0.1');
    cleanups.push(() => socket.destroy());
    socket.write(`GET / HTTP/1.1\r\nhost: 127.0.0.1:${relay.port}\r\nupgrade: websocket\r\nconnection: Upgrade\r\n`
      + 'sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n');
    let received = 0;
    await new Promise<void>((resolve) => socket.once('data', (chunk: Buffer) => {
      received += chunk.length;
      socket.pause();
      resolve();
    }));
    await waitFor('the viewer to be announced to', () => relay.clients === 1);
    // Far more than the limit is waiting for it, and it was not cut off.
    await new Promise((r) => setTimeout(r, 50));
    expect(relay.clients).toBe(1);
    socket.on('data', (chunk: Buffer) => (received += chunk.length));
    socket.resume();
    await waitFor('the whole announcement', () => received > 4 * 1024 * 1024, 20_000);
    expect(relay.clients).toBe(1);
  }, 30_000);

  test('a relay closed during the first viewer\'s announcement leaves no inspection attached', async () => {
    const { rt } = await pooledRuntime();
    const live = new Set<object>();
    const inspect = rt.inspect.bind(rt);
    let relay: Awaited<ReturnType<Runtime['serveInspector']>> | undefined;
    vi.spyOn(rt, 'inspect').mockImplementation((observer) => {
      // The announcement runs inside this call: the relay goes away in the middle of it.
      void relay!.close();
      const sub = inspect(observer);
      const tracked = { unsubscribe: () => (live.delete(tracked), sub.unsubscribe()) };
      live.add(tracked);
      return tracked;
    });
    relay = await rt.serveInspector();
    const viewer = await client(relay.wsUrl);
    await viewer.closed;
    expect(relay.clients).toBe(0);
    expect(live.size).toBe(0);
  });

  test('rt.shutdown() closes the relay and its clients; no socket, server or timer is left', async () => {
    const baseline = handles();
    const server = createWireServer({ handler: (p) => p });
    const { port } = await server.listen();
    const rt = createRuntime();
    rt.createPool({ endpoints: [{ host: '127.0.0.1', port }], protocol: wire(), min: 1, max: 1 });
    const relay = await rt.serveInspector();
    const viewer = await relayClient(relay.wsUrl);
    await viewer.until((m) => m.type === '@xstate.actor', 3);
    await rt.shutdown();
    await viewer.closed;
    await expect(rawRequest(relay.url)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await server.close({ graceful: false });
    expect(await handlesBackTo(baseline)).toBeLessThanOrEqual(baseline);
  });
});

describe('wirewarden inspect', () => {
  test('prints where to connect, relays until aborted, then closes; a bad port is a usage error', async () => {
    const ac = new AbortController();
    let out = '';
    const done = runInspectCommand(['--port', '0'], { write: (t) => (out += t), signal: ac.signal });
    await waitFor('the relay to start', () => out.includes('inspector relay on'));
    const wsUrl = /inspector relay on (ws:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
    expect(out).toContain(`createWebSocketInspector({ url: '${wsUrl}' })`);
    const viewer = await relayClient(wsUrl);
    ac.abort();
    expect(await done).toBe(0);
    await viewer.closed;
    let err = '';
    expect(await runInspectCommand(['--port', 'x'], { error: (t) => (err += t) })).toBe(2);
    expect(err).toContain('--port must be an integer in [0, 65535], got x');
  });
});
