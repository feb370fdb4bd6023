/**
 * Bad requests get Toxiproxy-style JSON errors — never a crash, never a hang — and the
 * server keeps serving afterwards.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToxiproxyServer, type ToxiproxyServer } from '../../src/chaos/toxiproxy-server.js';
import { startEchoServer, tcpHandles, type TestServer } from './helpers.js';

let api: ToxiproxyServer;
let echo: TestServer;

beforeAll(async () => {
  echo = await startEchoServer();
  api = createToxiproxyServer({ port: 0, maxBodyBytes: 4096 });
  await api.start();
  await call('POST', '/proxies', JSON.stringify({ name: 'p', listen: '127.0.0.1:0', upstream: echo.address }));
});

afterAll(async () => {
  await api.close();
  await echo.close();
  expect(await tcpHandles()).toBe(0);
});

async function call(method: string, path: string, body?: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${api.url}${path}`, { method, body, headers });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), text, json: text ? (JSON.parse(text) as unknown) : undefined };
}

describe('Toxiproxy error bodies', () => {
  it('404 for an unknown proxy or toxic, with Toxiproxy messages', async () => {
    expect(await call('GET', '/proxies/nope')).toMatchObject({
      status: 404, type: 'application/json', json: { error: 'proxy not found', status: 404 },
    });
    expect((await call('DELETE', '/proxies/nope')).json).toEqual({ error: 'proxy not found', status: 404 });
    expect((await call('GET', '/proxies/p/toxics/nope')).json).toEqual({ error: 'toxic not found', status: 404 });
    expect((await call('POST', '/proxies/p/toxics/nope', '{}')).json).toEqual({ error: 'toxic not found', status: 404 });
    expect((await call('DELETE', '/proxies/p/toxics/nope')).json).toEqual({ error: 'toxic not found', status: 404 });
  });

  it('409 for duplicates', async () => {
    const dup = await call('POST', '/proxies', JSON.stringify({ name: 'p', upstream: echo.address }));
    expect(dup).toMatchObject({ status: 409, json: { error: 'proxy already exists', status: 409 } });
    expect((await call('POST', '/proxies/p/toxics', '{"type":"latency"}')).status).toBe(200);
    expect((await call('POST', '/proxies/p/toxics', '{"type":"latency"}')).json).toEqual({ error: 'toxic already exists', status: 409 });
    expect((await call('DELETE', '/proxies/p/toxics/latency_downstream')).status).toBe(204);
  });

  it('400 for bad JSON, missing fields, bad streams, unknown types and bad attributes', async () => {
    const badJson = await call('POST', '/proxies', '{"name": ');
    expect(badJson.status).toBe(400);
    expect((badJson.json as { error: string }).error).toMatch(/^bad request body: /);
    expect((await call('POST', '/proxies', '')).json).toEqual({ error: 'bad request body: EOF', status: 400 });
    expect((await call('POST', '/proxies', '[1]')).json).toEqual({ error: 'bad request body: proxy must be a JSON object', status: 400 });
    expect((await call('POST', '/proxies', '{"upstream":"127.0.0.1:1"}')).json).toEqual({ error: 'missing required field: name', status: 400 });
    expect((await call('POST', '/proxies', '{"name":"q"}')).json).toEqual({ error: 'missing required field: upstream', status: 400 });
    expect((await call('POST', '/proxies', '{"name":"q","upstream":"nowhere"}')).json).toEqual({
      error: 'bad request body: chaosProxy.upstream must be "host:port" with a port in [1, 65535], got "nowhere"', status: 400,
    });
    expect((await call('POST', '/proxies', '{"name":5,"upstream":"127.0.0.1:1"}')).json).toEqual({
      error: 'bad request body: name must be a string, got number', status: 400,
    });
    expect((await call('POST', '/proxies/p/toxics', '{"type":"latency","stream":"sideways"}')).json).toEqual({
      error: 'stream was invalid, can be either upstream or downstream', status: 400,
    });
    expect((await call('POST', '/proxies/p/toxics', '{"type":"teleport"}')).json).toEqual({ error: 'invalid toxic type', status: 400 });
    expect((await call('POST', '/proxies/p/toxics', '{"type":"latency","attributes":{"latency":-1}}')).json).toEqual({
      error: 'bad request body: toxic.attributes.latency must be an integer in [0, 2147483647] (ms), got -1', status: 400,
    });
    expect((await call('POST', '/proxies/p/toxics', '{"type":"latency","attributes":{"latecy":1}}')).json).toEqual({
      error: 'bad request body: toxic.attributes.latecy is not a known option (known: latency, jitter)', status: 400,
    });
    expect((await call('POST', '/proxies/p/toxics', '{"type":"latency","toxicity":1.5}')).status).toBe(400);
    expect((await call('POST', '/populate', '{"name":"x"}')).json).toEqual({ error: 'bad request body: expected a JSON array of proxies', status: 400 });
    expect((await call('POST', '/populate', '[{"name":"x","upstream":"127.0.0.1:1"},{"name":"y"}]')).json).toEqual({
      error: 'missing required field: upstream at proxy 2', status: 400,
    });
    expect(Object.keys((await call('GET', '/proxies')).json as object)).toEqual(['p']);
  });

  it('a failed listen is a 500 with the reason, and creates nothing', async () => {
    const taken = ((await call('GET', '/proxies/p')).json as { listen: string }).listen;
    const res = await call('POST', '/proxies', JSON.stringify({ name: 'clash', listen: taken, upstream: echo.address }));
    expect(res.status).toBe(500);
    expect((res.json as { error: string }).error).toMatch(/EADDRINUSE/);
    expect((await call('GET', '/proxies/clash')).status).toBe(404);
  });

  it('JSON 404/405 for unknown routes and methods; 403 for browsers; 413 for huge bodies', async () => {
    expect(await call('GET', '/nothing/here')).toMatchObject({ status: 404, json: { error: 'not found', status: 404 } });
    expect((await call('PUT', '/proxies')).status).toBe(405);
    expect((await call('GET', '/proxies/%E0%A4%A')).status).toBe(400);
    const browser = await call('GET', '/proxies', undefined, { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64)' });
    expect(browser).toMatchObject({ status: 403, json: { error: 'User agent not allowed', status: 403 } });
    const huge = await new Promise<number>((resolve, reject) => {
      const req = request(`${api.url}/proxies`, { method: 'POST' }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.end('x'.repeat(10_000));
    });
    expect(huge).toBe(413);
  });

  it('keeps serving after all of that', async () => {
    expect((await call('GET', '/proxies/p')).json).toMatchObject({ name: 'p', enabled: true, toxics: [] });
    expect((await call('GET', '/version')).status).toBe(200);
  });
});
