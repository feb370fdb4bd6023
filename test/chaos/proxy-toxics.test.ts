/**
 * Each Toxiproxy toxic measured through a real proxy on loopback, with an upstream server
 * started by the test. Tolerances are generous: the machine is shared and has 2 cores.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ChaosProxy, createChaosProxy } from '../../src/chaos/chaos-proxy.js';
import { connectClient, startEchoServer, startServer, tcpHandles, within, type TestServer } from './helpers.js';

let echo: TestServer;
let proxy: ChaosProxy;

beforeAll(async () => {
  echo = await startEchoServer();
  proxy = createChaosProxy({ name: 'echo', upstream: echo.address });
  await proxy.start();
});

afterEach(() => {
  proxy.resetToxics();
  proxy.cutConnections();
});

afterAll(async () => {
  await proxy.close();
  await echo.close();
  expect(await tcpHandles()).toBe(0);
});

const port = () => proxy.address!.port;

describe('latency', () => {
  it('adds about latency ms per direction to a round trip', async () => {
    const client = await connectClient(port());
    client.socket.write('warm');
    await client.waitForBytes(4);
    proxy.addToxic({ type: 'latency', stream: 'downstream', attributes: { latency: 100 } });
    const rtts: number[] = [];
    for (let i = 1; i <= 3; i++) {
      const start = performance.now();
      client.socket.write('ping');
      rtts.push((await client.waitForBytes(4 + 4 * i)) - start);
    }
    for (const rtt of rtts) {
      expect(rtt).toBeGreaterThanOrEqual(95);
      expect(rtt).toBeLessThan(400);
    }
    proxy.addToxic({ type: 'latency', name: 'up', stream: 'upstream', attributes: { latency: 100 } });
    const start = performance.now();
    client.socket.write('both');
    const rtt = (await client.waitForBytes(20)) - start;
    expect(rtt).toBeGreaterThanOrEqual(195);
    expect(rtt).toBeLessThan(600);
    expect(client.received().toString()).toBe('warmpingpingpingboth');
  });
});

describe('limit_data', () => {
  it('closes the connection after exactly bytes bytes', async () => {
    proxy.addToxic({ type: 'limit_data', attributes: { bytes: 1000 } });
    const client = await connectClient(port());
    for (let i = 0; i < 5; i++) client.socket.write(Buffer.alloc(300, i));
    await within(client.closed, 3000, 'close');
    expect(client.received().length).toBe(1000);
    expect(client.received().subarray(900)).toEqual(Buffer.alloc(100, 3));
  });
});

describe('reset_peer', () => {
  it('resets both sides: the client reads ECONNRESET', async () => {
    let serverError: string | undefined;
    const upstream = await startServer((s) => s.on('error', (e: NodeJS.ErrnoException) => (serverError = e.code)));
    const p = createChaosProxy({ name: 'rst', upstream: upstream.address });
    await p.start();
    p.addToxic({ type: 'reset_peer', stream: 'upstream', attributes: { timeout: 50 } });
    const client = await connectClient(p.address!.port);
    const start = performance.now();
    client.socket.write('trigger');
    const { at, error } = await within(client.closed, 3000, 'reset');
    expect(error?.code).toBe('ECONNRESET');
    expect(at - start).toBeGreaterThanOrEqual(45);
    await within(
      (async () => {
        while (serverError === undefined) await new Promise((r) => setTimeout(r, 10));
      })(),
      2000,
      'server reset',
    );
    expect(serverError).toBe('ECONNRESET');
    await p.close();
    await upstream.close();
  });
});

describe('slow_close', () => {
  it('delays the close the client sees by delay ms', async () => {
    const upstream = await startServer((s) => s.end('bye'));
    const p = createChaosProxy({ name: 'slow', upstream: upstream.address });
    await p.start();
    p.addToxic({ type: 'slow_close', attributes: { delay: 300 } });
    const start = performance.now();
    const client = await connectClient(p.address!.port);
    const dataAt = await client.waitForBytes(3);
    const endAt = await within(client.ended, 3000, 'end');
    expect(client.received().toString()).toBe('bye');
    expect(dataAt - start).toBeLessThan(250);
    expect(endAt - start).toBeGreaterThanOrEqual(295);
    expect(endAt - start).toBeLessThan(1000);
    await p.close();
    await upstream.close();
  });
});

describe('slicer', () => {
  it('delivers one write as many small chunks', async () => {
    proxy.addToxic({ type: 'slicer', attributes: { average_size: 10, size_variation: 5, delay: 2000 } });
    const client = await connectClient(port());
    const message = Buffer.from('x'.repeat(200));
    client.socket.write(message);
    await client.waitForBytes(200);
    expect(client.received()).toEqual(message);
    expect(client.chunks.length).toBeGreaterThanOrEqual(8);
    expect(Math.max(...client.chunks.map((c) => c.data.length))).toBeLessThan(200);
  });
});

describe('timeout', () => {
  it('with 0 blackholes data and keeps the connection open', async () => {
    proxy.addToxic({ type: 'timeout', attributes: { timeout: 0 } });
    const client = await connectClient(port());
    client.socket.write('lost');
    const outcome = await Promise.race([client.closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('open'), 300))]);
    expect(outcome).toBe('open');
    expect(client.received().length).toBe(0);
    expect(proxy.stats.connections).toBe(1);
  });

  it('with N closes the connection after N ms', async () => {
    proxy.addToxic({ type: 'timeout', attributes: { timeout: 200 } });
    const start = performance.now();
    const client = await connectClient(port());
    client.socket.write('lost');
    const { at } = await within(client.closed, 3000, 'close');
    expect(at - start).toBeGreaterThanOrEqual(195);
    expect(at - start).toBeLessThan(1000);
    expect(client.received().length).toBe(0);
  });
});

describe('stall', () => {
  it('holds the stream for stall_ms, then delivers everything in order', async () => {
    proxy.addToxic({ type: 'stall', attributes: { probability: 1, stall_ms: 200 } });
    const client = await connectClient(port());
    const start = performance.now();
    client.socket.write('one');
    await new Promise((r) => setTimeout(r, 50));
    client.socket.write('two');
    const at = await client.waitForBytes(6, 3000);
    expect(at - start).toBeGreaterThanOrEqual(195);
    expect(at - start).toBeLessThan(800);
    expect(client.received().toString()).toBe('onetwo');
  });
});
