/**
 * `wirewarden proxy`: flags, Toxiproxy config files, and a clean stop on a signal.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProxyCommand } from '../../src/chaos/proxy-command.js';
import { connectClient, startEchoServer, tcpHandles, within, type TestServer } from './helpers.js';

let dir: string;
let echo: TestServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wirewarden-proxy-'));
  echo = await startEchoServer();
});

afterAll(async () => {
  await echo.close();
  await rm(dir, { recursive: true, force: true });
  expect(await tcpHandles()).toBe(0);
});

function io(signal?: AbortSignal) {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t), signal } };
}

describe('wirewarden proxy', () => {
  it('prints usage for --help and refuses bad flags with exit code 2', async () => {
    const help = io();
    expect(await runProxyCommand(['--help'], help.io)).toBe(0);
    expect(help.out.join('')).toMatch(/usage: wirewarden proxy \[--host 127.0.0.1\] \[--port 8474\] \[--config file.json\]/);
    const bad = io();
    expect(await runProxyCommand(['--bogus'], bad.io)).toBe(2);
    expect(bad.err.join('')).toMatch(/unknown argument "--bogus"/);
    const port = io();
    expect(await runProxyCommand(['--port', '70000'], port.io)).toBe(2);
    expect(port.err.join('')).toMatch(/--port must be an integer in \[0, 65535\], got "70000"/);
  });

  it('fails with exit code 1 on a missing or malformed config', async () => {
    const missing = io();
    expect(await runProxyCommand(['--config', join(dir, 'nope.json')], missing.io)).toBe(1);
    expect(missing.err.join('')).toMatch(/cannot read config/);
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify([{ name: 'x' }]));
    const bad = io();
    expect(await runProxyCommand(['-config', file], bad.io)).toBe(1);
    expect(bad.err.join('')).toMatch(/bad.json\[0\]\.upstream must be a non-empty string/);
  });

  it('serves the API with the config populated, and stops cleanly on abort', async () => {
    const file = join(dir, 'toxiproxy.json');
    await writeFile(file, JSON.stringify([{ name: 'echo', listen: '127.0.0.1:0', upstream: echo.address, enabled: true }]));
    const stop = new AbortController();
    const run = io(stop.signal);
    const exit = runProxyCommand(['--host', '127.0.0.1', '--port=0', '--config', file], run.io);
    await within(
      (async () => {
        while (!run.out.some((l) => l.includes(' -> '))) await new Promise((r) => setTimeout(r, 10));
      })(),
      3000,
      'startup',
    );
    const url = /listening on (http:\/\/[\d.]+:\d+)/.exec(run.out.join(''))![1]!;
    const proxy = (await (await fetch(`${url}/proxies/echo`)).json()) as { listen: string };
    const client = await connectClient(Number(proxy.listen.split(':')[1]));
    client.socket.write('via config');
    await client.waitForBytes(10);
    client.socket.destroy();
    stop.abort();
    expect(await within(exit, 3000, 'exit')).toBe(0);
    expect(run.out.at(-1)).toBe('wirewarden proxy: stopped\n');
  });

  it('stops on SIGINT like toxiproxy-server', async () => {
    const run = io();
    const exit = runProxyCommand(['--port', '0'], run.io);
    await within(
      (async () => {
        while (run.out.length === 0) await new Promise((r) => setTimeout(r, 10));
      })(),
      3000,
      'startup',
    );
    const before = process.listenerCount('SIGINT');
    process.emit('SIGINT' as never);
    expect(await within(exit, 3000, 'exit')).toBe(0);
    expect(process.listenerCount('SIGINT')).toBe(before - 1);
  });
});
