/**
 * `rt.serveDashboard()` over real loopback HTTP: where it binds, that it is read-only and
 * refuses foreign names, what the page and `/state.json` contain for a pool on real
 * wire servers, how state changes stream and replay, that it is bounded (pages, a slow
 * reader's backlog) and that shutdown leaves nothing behind.
 */
import { connect, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { createMachine } from 'xstate';
import { afterEach, describe, expect, test } from 'vitest';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { createWireServer, type WireServer } from '../../src/transport/wire-server.js';
import { wire } from '../../src/transport/wire.js';
import { custom } from '../../src/transport/custom.js';
import { hasCode } from '../../src/errors.js';
import type { DashboardSnapshot } from '../../src/observe/dashboard-feed.js';
import type { DashboardNode } from '../../src/observe/dashboard-tree.js';
import { virtualRuntime } from '../supervisor/helpers/virtual-runtime.js';
import { handles, handlesBackTo, rawRequest, readSse, waitFor, type SseReader } from './dashboard-fixtures.js';

const TOKEN = 'dashboard-T0ken-never-sent';
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function runtime(): Runtime {
  const rt = createRuntime();
  cleanups.push(() => rt.shutdown());
  return rt;
}

async function wireServer(token = TOKEN): Promise<{ server: WireServer; port: number }> {
  const server = createWireServer({ token, handler: (p) => p });
  const { port } = await server.listen();
  cleanups.push(() => server.close({ graceful: false }));
  return { server, port };
}

function sse(reader: SseReader): SseReader {
  cleanups.push(() => reader.close());
  return reader;
}

const connectionsOf = (node: DashboardNode): DashboardNode[] =>
  node.kind === 'connection' ? [node] : (node.children ?? []).flatMap(connectionsOf);

const heartbeat = { intervalMs: 100, minTimeoutMs: 50, maxTimeoutMs: 200, suspectProbes: 1 };

describe('where the dashboard listens', () => {
  test('127.0.0.1 by default: reachable there, refused on the machine\'s other addresses', async () => {
    const rt = runtime();
    const dashboard = await rt.serveDashboard();
    expect(dashboard.host).toBe('127.0.0.1');
    expect(dashboard.url).toBe(`http://127.0.0.1:${dashboard.port}/`);
    expect((await rawRequest(dashboard.url)).status).toBe(200);
    const external = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal);
    if (external === undefined) return; // a machine with loopback only has nothing else to refuse on
    const refused = await new Promise<string>((resolve) => {
      const s = connect(dashboard.port, external.address);
      s.once('connect', () => (s.destroy(), resolve('connected')));
      s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
  });

  test('a named host is honoured (0.0.0.0 binds every interface)', async () => {
    const rt = runtime();
    const dashboard = await rt.serveDashboard({ host: '0.0.0.0' });
    expect(dashboard.host).toBe('0.0.0.0');
    expect((await rawRequest(dashboard.url)).status).toBe(200);
  });

  test('a taken port is WW_LISTEN_FAILED; bad options are WW_INVALID_OPTION naming the option', async () => {
    const rt = runtime();
    const first = await rt.serveDashboard();
    await expect(rt.serveDashboard({ port: first.port })).rejects.toSatisfy((e: unknown) => hasCode(e, 'WW_LISTEN_FAILED'));
    await expect(rt.serveDashboard({ port: 70_000 })).rejects.toThrow(/dashboard\.port must be an integer in \[0, 65535\], got 70000/);
    await expect(rt.serveDashboard({ maxClients: 0 })).rejects.toSatisfy((e: unknown) => hasCode(e, 'WW_INVALID_OPTION'));
    await expect(rt.serveDashboard({ colour: 'red' } as never)).rejects.toThrow(/dashboard\.colour is not a known option/);
  });
});

describe('the page', () => {
  test('is self-contained: inline script and style under a CSP that allows exactly them, nothing from elsewhere', async () => {
    const rt = runtime();
    const dashboard = await rt.serveDashboard();
    const page = await rawRequest(dashboard.url);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).toMatch(/connect-src 'self'/);
    expect(page.body).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet/);
    // The only absolute URL is the SVG namespace, which is a name, not a fetch.
    expect([...page.body.matchAll(/https?:\/\/[^\s'"]+/g)].map((m) => m[0])).toEqual(['http://www.w3.org/2000/svg']);
    expect(page.body).toContain("new EventSource('events')");
  });

  test('is read-only: every method but GET and HEAD gets 405, unknown paths 404', async () => {
    const rt = runtime();
    const dashboard = await rt.serveDashboard();
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      for (const path of ['', 'events', 'state.json']) {
        const res = await rawRequest(dashboard.url + path, { method });
        expect([method, path, res.status, res.headers.allow]).toEqual([method, path, 405, 'GET, HEAD']);
      }
    }
    expect((await rawRequest(`${dashboard.url}admin`)).status).toBe(404);
    expect((await rawRequest(dashboard.url, { method: 'HEAD' })).status).toBe(200);
  });

  test('refuses a request naming another host or coming from another origin (DNS rebinding)', async () => {
    const rt = runtime();
    const dashboard = await rt.serveDashboard();
    const at = (headers: Record<string, string>) => rawRequest(`${dashboard.url}state.json`, { headers }).then((r) => r.status);
    expect(await at({ host: `evil.example:${dashboard.port}` })).toBe(403);
    expect(await at({ host: `127.0.0.1:${dashboard.port}`, origin: 'http://evil.example' })).toBe(403);
    // Loopback names on any port (an SSH -L forward) and our own origin are fine.
    expect(await at({ host: 'localhost:9000' })).toBe(200);
    expect(await at({ host: `127.0.0.1:${dashboard.port}`, origin: `http://127.0.0.1:${dashboard.port}` })).toBe(200);
  });

  test('refuses what a browser marks as another site\'s request (Sec-Fetch-Site cross-site or same-site), even with our Host', async () => {
    const rt = runtime();
    const dashboard = await rt.serveDashboard();
    const host = `127.0.0.1:${dashboard.port}`;
    const at = (path: string, site: string) => rawRequest(dashboard.url + path, { headers: { host, 'sec-fetch-site': site } }).then((r) => r.status);
    for (const path of ['', 'events', 'state.json']) {
      expect(await at(path, 'cross-site'), path).toBe(403);
      expect(await at(path, 'same-site'), path).toBe(403);
    }
    // Typed in the address bar, or the page's own requests.
    expect(await at('state.json', 'none')).toBe(200);
    expect(await at('state.json', 'same-origin')).toBe(200);
  });
});

describe('what the dashboard shows', () => {
  test('every connection of a pool on real loopback servers, with endpoint, state and RTT, and the pool gauges', async () => {
    const a = await wireServer();
    const b = await wireServer();
    const rt = runtime();
    const pool = rt.createPool({
      id: 'orders',
      endpoints: [{ host: '127.0.0.1', port: a.port }, { host: '127.0.0.1', port: b.port }],
      protocol: wire({ token: TOKEN }), min: 4, max: 4, heartbeat,
    });
    const dashboard = await rt.serveDashboard();
    await waitFor('4 ready connections with an RTT', () => pool.connections().filter((c) => c.state === 'ready' && c.rttMs !== undefined).length === 4);
    const state = JSON.parse((await rawRequest(`${dashboard.url}state.json`)).body) as DashboardSnapshot;
    const poolNode = state.tree.children!.find((n) => n.id === 'orders')!;
    expect(poolNode).toMatchObject({ kind: 'supervisor', path: 'root/orders', state: 'running' });
    const shown = connectionsOf(state.tree);
    expect(shown.map((c) => c.path).sort()).toEqual(pool.connections().map((c) => `root/orders/${c.id}`).sort());
    for (const c of shown) {
      expect(c.state).toMatch(/^(ready|probing)$/);
      expect([`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`]).toContain(c.endpoint);
      expect(c.rttMs).toBeGreaterThan(0);
    }
    expect(state.pools).toEqual([{ id: 'orders', path: 'root/orders', stats: expect.objectContaining({ open: 4, max: 4, min: 4, waiting: 0 }) }]);
  });

  test('state changes reach an open page at once; a page opened later gets them replayed, without heartbeat round trips', async () => {
    const { server, port } = await wireServer();
    const rt = runtime();
    const pool = rt.createPool({ endpoints: [{ host: '127.0.0.1', port }], protocol: wire({ token: TOKEN }), min: 2, max: 2, heartbeat });
    const dashboard = await rt.serveDashboard();
    await waitFor('2 ready', () => pool.connections().filter((c) => c.state === 'ready').length === 2);
    const page = sse(await readSse(`${dashboard.url}events`));
    const hello = await page.next((m) => m.event === 'hello');
    expect(connectionsOf((hello.data as { snapshot: DashboardSnapshot }).snapshot.tree)).toHaveLength(2);
    // Let heartbeats run, so round trips happen while the page is open.
    await waitFor('a probe round trip', () => pool.connections().some((c) => c.state === 'probing'), 2000).catch(() => {});
    await server.close({ graceful: false });
    const deaths = pool.connections().map((c) => `root/pool-1/${c.id}`);
    for (const path of deaths) {
      await page.next((m) => m.event === 'events' && (m.data as Array<{ type: string; path?: string; to?: string }>)
        .some((e) => e.type === 'state' && e.path === path && e.to === 'dead'));
    }
    const later = sse(await readSse(`${dashboard.url}events`));
    const replay = ((await later.next((m) => m.event === 'hello')).data as { events: Array<{ type: string; path?: string; from?: string; to?: string }> }).events;
    for (const path of deaths) expect(replay.some((e) => e.type === 'state' && e.path === path && e.to === 'dead')).toBe(true);
    expect(replay.filter((e) => e.type === 'state' && ((e.from === 'ready' && e.to === 'probing') || (e.from === 'probing' && e.to === 'ready')))).toEqual([]);
    // Snapshots keep coming while a page is open.
    await later.next((m) => m.event === 'snapshot');
  });

  test('no secret reaches a page: refused handshakes and failing opens show name, code and message only', async () => {
    const { port } = await wireServer();
    const rt = runtime();
    const dashboard = await rt.serveDashboard({ intervalMs: 100 });
    const page = sse(await readSse(`${dashboard.url}events`));
    // A wrong token: the server refuses the handshake (its message must not carry either token).
    rt.createPool({ id: 'wrong-token', endpoints: [{ host: '127.0.0.1', port }], protocol: wire({ token: `${TOKEN}-wrong` }), min: 1, max: 1 });
    // A client library whose failure carries the credential in fields other than its message.
    rt.createPool({
      id: 'leaky-client', endpoints: [{ host: '127.0.0.1', port }], min: 1, max: 1,
      protocol: custom({
        open: () => Promise.reject(Object.assign(new Error('auth refused', { cause: new Error(`password ${TOKEN}`) }), { code: 'E_AUTH', password: TOKEN, config: { password: TOKEN } })),
        probe: async () => {},
        close: async () => {},
      }),
    });
    const failed = (id: string) => page.next((m) => m.event === 'events' && (m.data as Array<{ type: string; id?: string; event?: { type: string } }>)
      .some((e) => e.type === 'pool' && e.id === id && e.event?.type === 'dial-failed'));
    const leaky = await failed('leaky-client');
    await failed('wrong-token');
    await page.next((m) => m.event === 'snapshot');
    const dial = (leaky.data as Array<{ type: string; id?: string; event?: { type: string; error?: unknown } }>)
      .find((e) => e.type === 'pool' && e.id === 'leaky-client' && e.event?.type === 'dial-failed')!;
    expect(Object.keys(dial.event!.error as object).sort()).toEqual(expect.arrayContaining(['message', 'name']));
    expect(Object.keys(dial.event!.error as object).every((k) => ['name', 'code', 'message'].includes(k))).toBe(true);
    expect(page.raw()).not.toContain(TOKEN);
    expect(page.raw()).not.toMatch(/"stack"|"cause"|"password"/);
    expect((await rawRequest(`${dashboard.url}state.json`)).body).not.toContain(TOKEN);
  });
});

describe('bounds', () => {
  test('a page beyond maxClients gets 503; a closed page frees its place', async () => {
    const rt = runtime();
    const dashboard = await rt.serveDashboard({ maxClients: 2 });
    const first = sse(await readSse(`${dashboard.url}events`));
    sse(await readSse(`${dashboard.url}events`));
    await expect(readSse(`${dashboard.url}events`)).rejects.toThrow('status 503');
    first.close();
    await waitFor('the first page to leave', () => dashboard.clients === 1);
    sse(await readSse(`${dashboard.url}events`));
    expect(dashboard.clients).toBe(2);
  });

  test('a page that stops reading gets no more snapshots and is disconnected after 30 ticks, never buffered without bound', async () => {
    const v = virtualRuntime();
    cleanups.push(() => v.shutdown());
    // 300 children make each snapshot ~30 KB; 2000 ticks in one synchronous burst would be 60 MB.
    const idle = createMachine({ id: 'idle', initial: 'waiting', states: { waiting: {} } });
    v.rt.createSupervisor({ id: 'many', children: Array.from({ length: 300 }, (_, i) => ({ id: `worker-${i}`, logic: idle })) });
    v.advance(0);
    const maxBacklogBytes = 256 * 1024;
    const dashboard = await v.rt.serveDashboard({ intervalMs: 50, maxBacklogBytes });
    // Closed before the virtual shutdown, which flushes virtual time synchronously.
    cleanups.push(() => dashboard.close());
    const stalled: Socket = connect(dashboard.port, '127.0.0.1');
    cleanups.push(() => stalled.destroy());
    stalled.pause(); // reads nothing from here on
    stalled.write(`GET /events HTTP/1.1\r\nhost: 127.0.0.1:${dashboard.port}\r\n\r\n`);
    await waitFor('the stalled page to be connected', () => dashboard.clients === 1);
    v.advance(50 * 2000);
    expect(dashboard.clients).toBe(0);
    const closed = new Promise<void>((resolve) => stalled.once('close', () => resolve()));
    stalled.resume();
    await closed;
  });
});

describe('closing', () => {
  test('rt.shutdown() ends every page and leaves no socket, server or timer behind', async () => {
    const baseline = handles();
    const { port } = await wireServer();
    const rt = createRuntime();
    const pool = rt.createPool({ endpoints: [{ host: '127.0.0.1', port }], protocol: wire({ token: TOKEN }), min: 2, max: 2, heartbeat });
    const dashboard = await rt.serveDashboard({ intervalMs: 50 });
    await waitFor('2 ready', () => pool.connections().filter((c) => c.state === 'ready').length === 2);
    const pages = [await readSse(`${dashboard.url}events`), await readSse(`${dashboard.url}events`)];
    await pages[0]!.next((m) => m.event === 'snapshot');
    await rt.shutdown();
    await Promise.all(pages.map((p) => p.ended));
    expect(dashboard.clients).toBe(0);
    await expect(rawRequest(dashboard.url)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    for (const c of cleanups.splice(0).reverse()) await c();
    expect(await handlesBackTo(baseline)).toBeLessThanOrEqual(baseline);
  });

  test('close() is idempotent and unregisters; a stopped runtime refuses to serve', async () => {
    const rt = runtime();
    const dashboard = await rt.serveDashboard();
    await Promise.all([dashboard.close(), dashboard.close()]);
    await expect(rawRequest(dashboard.url)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await rt.shutdown();
    await expect(rt.serveDashboard()).rejects.toSatisfy((e: unknown) => hasCode(e, 'WW_RUNTIME_SHUT_DOWN'));
  });
});
