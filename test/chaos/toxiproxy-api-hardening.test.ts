/**
 * The Toxiproxy API against hostile or careless clients, over real loopback HTTP:
 * - every proxy a populate starts is registered, so `close()` stops it and nothing keeps
 *   listening or keeps the process alive (a duplicate name used to leave an orphan);
 * - oversized URLs, headers and bodies get 414 / 431 / 413 JSON answers, not a reset;
 * - a duration attribute past the timer range is a 400, not a toxic that fires at once;
 * - `close()` is final: a create or populate asked after it (through the registry, the
 *   server or HTTP) is refused and binds nothing, since nothing would ever close it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProxyCommand } from '../../src/chaos/proxy-command.js';
import { ProxyRegistry } from '../../src/chaos/proxy-registry.js';
import { hasCode, ProxyRegistryClosedError } from '../../src/errors.js';
import { createToxiproxyServer, type ToxiproxyServer } from '../../src/chaos/toxiproxy-server.js';
import { startEchoServer, tcpHandles, within, type TestServer } from './helpers.js';

let echo: TestServer;
let other: TestServer;

beforeAll(async () => {
  echo = await startEchoServer();
  other = await startEchoServer();
});

afterAll(async () => {
  await echo.close();
  await other.close();
  expect(await tcpHandles()).toBe(0);
});

const listeners = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;

/** The two echo servers of this file: what `tcpHandles` must come back to. */
const ECHO_HANDLES = 2;

/** TCP handles once closing ones had a moment to go, down to `floor` (ours stay open). */
async function handlesAbove(floor: number): Promise<number> {
  const deadline = performance.now() + 500;
  let n = await tcpHandles();
  while (n > floor && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    n = await tcpHandles(0);
  }
  return n - floor;
}

async function started(): Promise<ToxiproxyServer> {
  const api = createToxiproxyServer({ port: 0, maxBodyBytes: 4096 });
  await api.start();
  return api;
}

async function call(api: ToxiproxyServer, method: string, path: string, body?: unknown) {
  const res = await fetch(`${api.url}${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

/** Whether something accepts on `listen` ("host:port"). */
function accepts(listen: string): Promise<boolean> {
  const [host, port] = [listen.slice(0, listen.lastIndexOf(':')), Number(listen.slice(listen.lastIndexOf(':') + 1))];
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

const listenOf = (res: { json?: Record<string, unknown> }) =>
  ((res.json!.proxies as { listen: string }[])[0]!).listen;

describe('populate: every started proxy is registered and closed', () => {
  it('a name twice in one request is a 400 that starts nothing', async () => {
    const api = await started();
    const before = listeners();
    const res = await call(api, 'POST', '/populate', [
      { name: 'dup', upstream: echo.address },
      { name: 'dup', upstream: other.address },
    ]);
    expect(res).toEqual({
      status: 400,
      json: { error: 'bad request body: duplicate proxy name "dup" at proxy 2 (first at proxy 1)', status: 400, proxies: [] },
    });
    expect(listeners()).toBe(before);
    expect((await call(api, 'GET', '/proxies')).json).toEqual({});
    await api.close();
    expect(await handlesAbove(ECHO_HANDLES)).toBe(0);
  });

  it('overlapping populates of one name: the later replaces the earlier; close() leaves nothing listening', async () => {
    const api = await started();
    const before = listeners();
    const [first, second] = await Promise.all([
      call(api, 'POST', '/populate', [{ name: 'same', upstream: echo.address }]),
      call(api, 'POST', '/populate', [{ name: 'same', upstream: other.address }]),
    ]);
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(listeners()).toBe(before + 1);
    const shown = (await call(api, 'GET', '/proxies/same')).json!;
    expect(shown).toMatchObject({ upstream: other.address, listen: listenOf(second) });
    expect(await accepts(listenOf(first))).toBe(false);
    expect(await accepts(listenOf(second))).toBe(true);
    await api.close();
    expect(await accepts(listenOf(second))).toBe(false);
    expect(listeners()).toBe(before - 1); // the API's own listener is gone too
    expect(await handlesAbove(ECHO_HANDLES)).toBe(0);
  });

  it('close() while a populate is binding: the proxy it starts is closed too', async () => {
    const api = await started();
    const populating = api.populate([{ name: 'late', upstream: echo.address }]);
    await api.close();
    const [proxy] = await populating;
    expect(await accepts(proxy!.listen)).toBe(false);
    expect(api.registry.list()).toEqual([]);
    expect(await handlesAbove(ECHO_HANDLES)).toBe(0);
  });

  it('the CLI: a config naming a proxy twice exits 1 with nothing left listening', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wirewarden-dup-'));
    const file = join(dir, 'toxiproxy.json');
    await writeFile(file, JSON.stringify([
      { name: 'redis', listen: '127.0.0.1:0', upstream: echo.address },
      { name: 'redis', listen: '127.0.0.1:0', upstream: other.address },
    ]));
    const stop = new AbortController();
    const err: string[] = [];
    const exit = runProxyCommand(['--port', '0', '--config', file], { stdout: () => {}, stderr: (t) => err.push(t), signal: stop.signal });
    try {
      expect(await within(exit, 3000, 'exit')).toBe(1);
    } finally {
      stop.abort();
      await exit;
      await rm(dir, { recursive: true, force: true });
    }
    expect(err.join('')).toBe('wirewarden proxy: duplicate proxy name "redis" at proxy 2 (first at proxy 1)\n');
    expect(await handlesAbove(ECHO_HANDLES)).toBe(0);
  });
});

/** A loopback address nothing listens on (bound once, then released). */
async function freeListen(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `127.0.0.1:${port}`;
}

/** The error a promise rejects with; fails when it resolves. */
async function refusal(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('close() is final: nothing asked after it starts a listener', () => {
  it('the registry refuses create, populate, reset and remove after close() with WW_PROXY_REGISTRY_CLOSED', async () => {
    const registry = new ProxyRegistry();
    const first = await registry.create({ name: 'first', upstream: echo.address });
    const closing = registry.close();
    expect(registry.closed).toBe(true);
    expect(registry.close()).toBe(closing);
    const listen = await freeListen();
    const refusals = await Promise.all([
      refusal(registry.create({ name: 'after', listen, upstream: echo.address })),
      refusal(registry.populate([{ name: 'after', listen, upstream: echo.address }])),
      refusal(registry.reset()),
      refusal(registry.remove('first')),
    ]);
    await closing;
    for (const err of refusals) {
      expect(err).toBeInstanceOf(ProxyRegistryClosedError);
      expect(hasCode(err, 'WW_PROXY_REGISTRY_CLOSED')).toBe(true);
    }
    expect(refusals.map((e) => e.message)).toEqual([
      'cannot create proxy "after": the proxy registry is closed',
      'cannot populate 1 proxy: the proxy registry is closed',
      'cannot reset: the proxy registry is closed',
      'cannot remove proxy "first": the proxy registry is closed',
    ]);
    expect(await accepts(listen)).toBe(false);
    expect(await accepts(first.listen)).toBe(false);
    expect(registry.list()).toEqual([]);
    expect(await handlesAbove(ECHO_HANDLES)).toBe(0);
  });

  it('HTTP answers 500 once the registry is closed, and server.populate after close() is refused; nothing listens', async () => {
    const api = await started();
    await api.registry.close();
    const before = listeners();
    const listen = await freeListen();
    expect(await call(api, 'POST', '/proxies', { name: 'x', listen, upstream: echo.address })).toEqual({
      status: 500,
      json: { error: 'cannot create proxy "x": the proxy registry is closed', status: 500 },
    });
    expect(await call(api, 'POST', '/populate', [{ name: 'x', listen, upstream: echo.address }, { name: 'y', upstream: echo.address }])).toEqual({
      status: 500,
      json: { error: 'cannot populate 2 proxies: the proxy registry is closed', status: 500, proxies: [] },
    });
    expect(listeners()).toBe(before);
    expect(await accepts(listen)).toBe(false);
    await api.close();
    const err = await refusal(api.populate([{ name: 'x', listen, upstream: echo.address }]));
    expect(hasCode(err, 'WW_PROXY_REGISTRY_CLOSED')).toBe(true);
    expect(await accepts(listen)).toBe(false);
    expect(await handlesAbove(ECHO_HANDLES)).toBe(0);
  });
});

describe('oversized requests are answered, not reset', () => {
  let api: ToxiproxyServer;

  beforeAll(async () => {
    api = await started();
  });

  afterAll(async () => {
    await api.close();
    expect(await handlesAbove(ECHO_HANDLES)).toBe(0);
  });

  /** A raw HTTP exchange through node:http: status and JSON body, or the socket error. */
  function exchange(path: string, headers: Record<string, string> = {}, body?: string) {
    return new Promise<{ status: number; json: unknown } | { error: string }>((resolve) => {
      const req = request(`${api.url}${path}`, { method: body === undefined ? 'GET' : 'POST', headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(text) as unknown }));
      });
      req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
      req.end(body);
    });
  }

  /** Writes `text` on a raw socket; what the server sent before it ended the connection. */
  function rawExchange(text: string): Promise<string> {
    const socket = connect({ host: api.address!.host, port: api.address!.port });
    const answer = new Promise<string>((resolve, reject) => {
      let received = '';
      socket.on('data', (d) => (received += d.toString('latin1')));
      socket.on('end', () => resolve(received));
      socket.on('error', reject);
      socket.write(text);
    });
    return within(answer, 3000, 'an answer').finally(() => socket.destroy());
  }

  it('a 100 KB URL gets 414', async () => {
    expect(await exchange(`/proxies/${'a'.repeat(100_000)}`)).toEqual({
      status: 414,
      json: { error: 'request URI too long: the request line and headers are limited to 16384 bytes', status: 414 },
    });
  });

  it('100 KB of headers gets 431, one big header or many small ones', async () => {
    const answer = {
      status: 431,
      json: { error: 'request header fields too large: the request line and headers are limited to 16384 bytes', status: 431 },
    };
    expect(await exchange('/proxies', { 'x-big': 'b'.repeat(100_000) })).toEqual(answer);
    const many = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`x-h${i}`, 'v'.repeat(40)]));
    expect(await exchange('/proxies', many)).toEqual(answer);
  });

  it('a declared body over maxBodyBytes gets 413 before any of it is sent', async () => {
    // Headers only: the body is never sent, so only the declared length can refuse it.
    const answer = await rawExchange('POST /proxies HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toContain('{"error":"bad request body: larger than 4096 bytes","status":413}');
  });

  it('not HTTP at all gets 400', async () => {
    const answer = await rawExchange('\x16\x03\x01\x00\xa5 not http\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(answer).toMatch(/\{"error":"bad request: HPE_[A-Z_]+","status":400\}\n$/);
  });

  describe('on a keep-alive connection that already served a response', () => {
    const GET = 'GET /version HTTP/1.1\r\nHost: x\r\n\r\n';

    /** Writes `first`, waits for its whole response, then writes `second`; everything received. */
    function twoExchanges(first: string, second: string): Promise<string> {
      const socket = connect({ host: api.address!.host, port: api.address!.port });
      const answer = new Promise<string>((resolve, reject) => {
        let received = '';
        let sentSecond = false;
        socket.on('data', (d) => {
          received += d.toString('latin1');
          const head = received.indexOf('\r\n\r\n');
          const length = Number(/content-length: (\d+)/i.exec(received)?.[1] ?? NaN);
          if (!sentSecond && head !== -1 && received.length >= head + 4 + length) {
            sentSecond = true;
            socket.write(second);
          }
        });
        socket.on('end', () => resolve(received));
        socket.on('error', reject);
        socket.write(first);
      });
      return within(answer, 3000, 'an answer').finally(() => socket.destroy());
    }

    const statuses = (text: string) => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));

    it('an unknown method after a served request gets its 400, not a reset', async () => {
      const answer = await twoExchanges(GET, 'FOO /version HTTP/1.1\r\nHost: x\r\n\r\n');
      expect(statuses(answer)).toEqual([200, 400]);
      expect(answer).toMatch(/\{"error":"bad request: HPE_[A-Z_]+","status":400\}\n$/);
    });

    it('a 100 KB URL after a served request gets its 414', async () => {
      const answer = await twoExchanges(GET, `GET /proxies/${'a'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
      expect(statuses(answer)).toEqual([200, 414]);
    });

    it('pipelined behind a good request in one write: the 400 follows the whole 200', async () => {
      const answer = await rawExchange(`${GET}FOO /version HTTP/1.1\r\nHost: x\r\n\r\n`);
      expect(statuses(answer)).toEqual([200, 400]);
      expect(answer).toMatch(/\{"error":"bad request: HPE_[A-Z_]+","status":400\}\n$/);
    });

    it('a body the parser fails in is answered at once: its request never completes, so it is not waited for', async () => {
      const badChunk = 'POST /proxies HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n';
      const answer = await twoExchanges(GET, badChunk);
      expect(statuses(answer)).toEqual([200, 400]);
      expect(answer).toContain('{"error":"bad request: HPE_INVALID_CHUNK_SIZE","status":400}');
    });
  });

  it('a timeout toxic of 2^31 ms is a 400 (it would have closed at once); 2^31 - 1 is accepted', async () => {
    await call(api, 'POST', '/proxies', { name: 'p', upstream: echo.address });
    const refused = await call(api, 'POST', '/proxies/p/toxics', { type: 'timeout', attributes: { timeout: 2 ** 31 } });
    expect(refused).toEqual({
      status: 400,
      json: { error: 'bad request body: toxic.attributes.timeout must be an integer in [0, 2147483647] (ms), got 2147483648', status: 400 },
    });
    const accepted = await call(api, 'POST', '/proxies/p/toxics', { type: 'timeout', attributes: { timeout: 2 ** 31 - 1 } });
    expect(accepted).toMatchObject({ status: 200, json: { type: 'timeout', attributes: { timeout: 2 ** 31 - 1 } } });
  });

  it('keeps serving afterwards', async () => {
    expect((await call(api, 'GET', '/version')).status).toBe(200);
  });
});
