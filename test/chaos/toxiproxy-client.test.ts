/**
 * The Toxiproxy-compatible API driven by the npm `toxiproxy-node-client`, unchanged:
 * every call it makes must work against wirewarden's server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Toxiproxy, ToxiproxyError, type Proxy } from 'toxiproxy-node-client';
import { createToxiproxyServer, type ToxiproxyServer } from '../../src/chaos/toxiproxy-server.js';
import { connectClient, connectError, startEchoServer, tcpHandles, type TestServer } from './helpers.js';

let api: ToxiproxyServer;
let echo: TestServer;
let toxiproxy: Toxiproxy;

beforeAll(async () => {
  echo = await startEchoServer();
  api = createToxiproxyServer({ port: 0, version: '9.9.9-test' });
  await api.start();
  toxiproxy = new Toxiproxy(api.url!);
});

afterAll(async () => {
  await api.close();
  await echo.close();
  expect(await tcpHandles()).toBe(0);
});

const portOf = (proxy: Proxy) => Number(proxy.listen.slice(proxy.listen.lastIndexOf(':') + 1));

async function roundTripMs(port: number): Promise<number> {
  const client = await connectClient(port);
  const start = performance.now();
  client.socket.write('ping');
  const at = await client.waitForBytes(4, 3000);
  client.socket.destroy();
  return at - start;
}

async function rejection(promise: Promise<unknown>): Promise<ToxiproxyError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ToxiproxyError);
  return err as ToxiproxyError;
}

describe('proxies', () => {
  it('reports the version', async () => {
    expect(JSON.parse(await toxiproxy.getVersion())).toEqual({ version: '9.9.9-test' });
  });

  it('creates a proxy that forwards traffic, listening where it says (localhost:0 resolved)', async () => {
    const proxy = await toxiproxy.createProxy({ name: 'redis', listen: 'localhost:0', upstream: echo.address });
    expect(proxy.name).toBe('redis');
    expect(proxy.enabled).toBe(true);
    expect(proxy.upstream).toBe(echo.address);
    expect(proxy.listen).toMatch(/^(127\.0\.0\.1|\[::1\]):\d+$/);
    expect(await roundTripMs(portOf(proxy))).toBeLessThan(500);
  });

  it('lists and gets proxies with their toxics', async () => {
    const all = await toxiproxy.getAll();
    expect(Object.keys(all)).toEqual(['redis']);
    const proxy = await toxiproxy.get('redis');
    expect(proxy.toJson()).toMatchObject({ name: 'redis', upstream: echo.address, enabled: true });
    const raw = await toxiproxy.getApi().get(`${api.url}/proxies/redis`);
    expect(raw.data).toMatchObject({ name: 'redis', toxics: [] });
  });

  it('disables and re-enables a proxy through update', async () => {
    const proxy = await toxiproxy.get('redis');
    const port = portOf(proxy);
    const disabled = await proxy.update({ enabled: false, listen: proxy.listen, upstream: proxy.upstream });
    expect(disabled.enabled).toBe(false);
    expect(await connectError(port)).toBe('ECONNREFUSED');
    const enabled = await disabled.update({ enabled: true, listen: disabled.listen, upstream: disabled.upstream });
    expect(enabled.enabled).toBe(true);
    expect(enabled.listen).toBe(proxy.listen);
    expect(await roundTripMs(port)).toBeLessThan(500);
  });

  it('answers duplicates with 409 and unknown proxies with 404', async () => {
    const dup = await rejection(toxiproxy.createProxy({ name: 'redis', listen: '127.0.0.1:0', upstream: echo.address }));
    expect(dup.message).toBe('Request failed with status code 409');
    const missing = await rejection(toxiproxy.get('nope'));
    expect(missing.message).toBe('Request failed with status code 404');
  });
});

describe('toxics', () => {
  it('adds a toxic that acts on traffic, gets, updates and removes it', async () => {
    const proxy = await toxiproxy.get('redis');
    const toxic = await proxy.addToxic({
      name: 'slow', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 150, jitter: 0 },
    });
    expect(toxic.toJson()).toEqual({ name: 'slow', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 150, jitter: 0 } });
    expect(await roundTripMs(portOf(proxy))).toBeGreaterThanOrEqual(145);

    const fetched = await proxy.getToxic<{ latency: number; jitter: number }>('slow');
    expect(fetched.attributes).toEqual({ latency: 150, jitter: 0 });

    const updated = await fetched.update({ ...fetched.toJson(), attributes: { latency: 0, jitter: 0 } });
    expect(updated.attributes).toEqual({ latency: 0, jitter: 0 });
    expect(await roundTripMs(portOf(proxy))).toBeLessThan(140);

    const list = await toxiproxy.getApi().get(`${proxy.getPath()}/toxics`);
    expect(list.data).toEqual([updated.toJson()]);

    await updated.remove();
    expect((await rejection(proxy.getToxic('slow'))).message).toBe('Request failed with status code 404');
  });

  it("defaults the name to <type>_<stream>, the stream to downstream, toxicity to 1", async () => {
    const proxy = await toxiproxy.get('redis');
    const toxic = await proxy.addToxic({ type: 'bandwidth', attributes: { rate: 1000 } } as never);
    expect(toxic.toJson()).toEqual({ name: 'bandwidth_downstream', type: 'bandwidth', stream: 'downstream', toxicity: 1, attributes: { rate: 1000 } });
    const dup = await rejection(proxy.addToxic({ type: 'bandwidth', attributes: { rate: 1 } } as never));
    expect(dup.message).toBe('Request failed with status code 409');
    const shown = await toxiproxy.getApi().get(`${proxy.getPath()}`);
    expect((shown.data as { toxics: unknown[] }).toxics).toHaveLength(1);
  });

  it('reset removes every toxic and enables every proxy', async () => {
    let proxy = await toxiproxy.get('redis');
    proxy = await proxy.update({ enabled: false, listen: proxy.listen, upstream: proxy.upstream });
    await toxiproxy.reset();
    const after = await toxiproxy.getApi().get(`${api.url}/proxies/redis`);
    expect(after.data).toMatchObject({ enabled: true, toxics: [] });
    expect(await roundTripMs(portOf(proxy))).toBeLessThan(500);
  });
});

describe('populate', () => {
  it('creates proxies, leaves matching ones untouched and replaces changed ones', async () => {
    const first = await toxiproxy.populate([
      { name: 'a', listen: '127.0.0.1:0', upstream: echo.address },
      { name: 'b', listen: '127.0.0.1:0', upstream: echo.address, enabled: false },
    ]);
    expect(first.a!.enabled).toBe(true);
    expect(first.b!.enabled).toBe(false);
    await first.a!.addToxic({ name: 'keep', type: 'latency', stream: 'upstream', toxicity: 1, attributes: { latency: 1, jitter: 0 } });

    const again = await toxiproxy.populate([{ name: 'a', listen: '127.0.0.1:0', upstream: echo.address }]);
    expect(again.a!.listen).toBe(first.a!.listen);
    expect((await again.a!.getToxic('keep')).name).toBe('keep');

    const moved = await toxiproxy.populate([{ name: 'a', listen: '127.0.0.1:0', upstream: '127.0.0.1:1' }]);
    expect(moved.a!.upstream).toBe('127.0.0.1:1');
    expect((await rejection(moved.a!.getToxic('keep'))).message).toBe('Request failed with status code 404');
    expect(Object.keys(await toxiproxy.getAll()).sort()).toEqual(['a', 'b', 'redis']);
  });

  it('removes proxies: their listener is gone', async () => {
    const a = await toxiproxy.get('a');
    const b = await toxiproxy.get('b');
    await a.remove();
    await b.remove();
    expect(await connectError(portOf(a))).toBe('ECONNREFUSED');
    expect(Object.keys(await toxiproxy.getAll())).toEqual(['redis']);
  });
});
