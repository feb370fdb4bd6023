/**
 * The proxy's lifecycle on loopback: enable/disable, cutting connections, live toxic
 * changes, toxicity per connection, failures that stay contained, back-pressure, and a
 * close that leaves no socket behind.
 */
import { createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createChaosProxy, type ChaosProxy } from '../../src/chaos/chaos-proxy.js';
import { InvalidOptionError, ListenFailedError, ToxicExistsError, ToxicNotFoundError } from '../../src/errors.js';
import { connectClient, connectError, startEchoServer, startServer, tcpHandles, within, type TestServer } from './helpers.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  expect(await tcpHandles()).toBe(0);
});

async function echoProxy(options: Partial<Parameters<typeof createChaosProxy>[0]> = {}): Promise<{ proxy: ChaosProxy; echo: TestServer }> {
  const echo = await startEchoServer();
  const proxy = createChaosProxy({ name: 'p', upstream: echo.address, ...options });
  await proxy.start();
  cleanup.push(() => echo.close(), () => proxy.close());
  return { proxy, echo };
}

async function roundTrip(port: number, text = 'hi'): Promise<string> {
  const client = await connectClient(port);
  client.socket.write(text);
  await client.waitForBytes(text.length, 2000);
  client.socket.destroy();
  return client.received().toString();
}

describe('enable and disable', () => {
  it('disable refuses new connections and cuts live ones; enable serves again on the same port', async () => {
    const { proxy, echo } = await echoProxy();
    const port = proxy.address!.port;
    expect(proxy.listen).toBe(`127.0.0.1:${port}`);
    const live = await connectClient(port);
    live.socket.write('x');
    await live.waitForBytes(1);
    await proxy.disable();
    await within(live.closed, 2000, 'live connection cut');
    expect(proxy.enabled).toBe(false);
    expect(proxy.address).toBeUndefined();
    expect(await connectError(port)).toBe('ECONNREFUSED');
    expect(echo.sockets.size).toBe(0);
    await proxy.enable();
    expect(proxy.address!.port).toBe(port);
    expect(await roundTrip(port)).toBe('hi');
  });

  it('cutConnections closes live connections but keeps listening', async () => {
    const { proxy } = await echoProxy();
    const a = await connectClient(proxy.address!.port);
    const b = await connectClient(proxy.address!.port);
    a.socket.write('1');
    b.socket.write('2');
    await Promise.all([a.waitForBytes(1), b.waitForBytes(1)]);
    expect(proxy.stats.connections).toBe(2);
    expect(proxy.cutConnections()).toBe(2);
    await within(Promise.all([a.closed, b.closed]), 2000, 'cut');
    expect(await roundTrip(proxy.address!.port)).toBe('hi');
    expect(proxy.stats).toMatchObject({ totalConnections: 3, bytesUp: 4, bytesDown: 4 });
  });

  it('update moves the proxy to another upstream, dropping live connections', async () => {
    const { proxy } = await echoProxy();
    const other = await startServer((s) => s.end('other'));
    cleanup.push(() => other.close());
    const live = await connectClient(proxy.address!.port);
    await proxy.update({ upstream: other.address });
    await within(live.closed, 2000, 'dropped');
    const client = await connectClient(proxy.address!.port);
    await within(client.ended, 2000, 'other upstream');
    expect(client.received().toString()).toBe('other');
    expect(proxy.upstream).toBe(other.address);
  });
});

describe('toxics on live connections', () => {
  it('a toxic added while connected applies at once; removing it restores the link', async () => {
    const { proxy } = await echoProxy();
    const client = await connectClient(proxy.address!.port);
    proxy.addToxic({ type: 'latency', attributes: { latency: 150 } });
    let start = performance.now();
    client.socket.write('a');
    expect((await client.waitForBytes(1)) - start).toBeGreaterThanOrEqual(145);
    proxy.removeToxic('latency_downstream');
    start = performance.now();
    client.socket.write('b');
    expect((await client.waitForBytes(2)) - start).toBeLessThan(100);
  });

  it('toxicity is rolled per connection', async () => {
    const rolls = [0.9, 0.1];
    const { proxy } = await echoProxy({ random: () => rolls.shift() ?? 0.5 });
    proxy.addToxic({ type: 'timeout', toxicity: 0.5, attributes: { timeout: 0 } });
    const spared = await connectClient(proxy.address!.port);
    spared.socket.write('ok');
    await spared.waitForBytes(2);
    const hit = await connectClient(proxy.address!.port);
    hit.socket.write('lost');
    await new Promise((r) => setTimeout(r, 150));
    expect(hit.received().length).toBe(0);
    spared.socket.write('!');
    await spared.waitForBytes(3);
  });

  it('an exception in a toxic kills only its connection', async () => {
    const failures: unknown[] = [];
    const { proxy } = await echoProxy({
      frames: { classify: (p) => (p.toString() === 'boom' ? (() => { throw new Error('inspector bug'); })() : 'other') },
      onToxicError: (err) => failures.push(err),
    });
    proxy.addToxic({ type: 'wire_drop_pongs', stream: 'upstream' });
    const frame = (text: string) => Buffer.concat([Buffer.from([0, 0, 0, text.length]), Buffer.from(text)]);
    const victim = await connectClient(proxy.address!.port);
    const bystander = await connectClient(proxy.address!.port);
    victim.socket.write(frame('boom'));
    await within(victim.closed, 2000, 'victim closed');
    bystander.socket.write(frame('fine'));
    await bystander.waitForBytes(8);
    expect(bystander.received()).toEqual(frame('fine'));
    expect(failures.map((e) => (e as Error).message)).toEqual(['inspector bug']);
  });

  it('refuses duplicate and unknown toxics with typed errors', async () => {
    const { proxy } = await echoProxy();
    proxy.addToxic({ type: 'latency' });
    expect(() => proxy.addToxic({ type: 'latency' })).toThrow(ToxicExistsError);
    expect(() => proxy.updateToxic('nope', { toxicity: 0.5 })).toThrow(ToxicNotFoundError);
    expect(() => proxy.removeToxic('nope')).toThrow(ToxicNotFoundError);
    expect(proxy.updateToxic('latency_downstream', { attributes: { jitter: 5 } })).toEqual({
      name: 'latency_downstream', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 0, jitter: 5 },
    });
  });
});

describe('failures and limits', () => {
  it('closes the client when the upstream refuses, and keeps serving', async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const deadPort = (dead.address() as AddressInfo).port;
    await new Promise((r) => dead.close(r));
    const proxy = createChaosProxy({ name: 'nowhere', upstream: `127.0.0.1:${deadPort}` });
    await proxy.start();
    cleanup.push(() => proxy.close());
    const client = await connectClient(proxy.address!.port);
    await within(client.closed, 2000, 'client closed');
    expect(proxy.stats.connections).toBe(0);
  });

  it('validates options at construction and reports a busy port as ListenFailedError', async () => {
    expect(() => createChaosProxy({ name: 'x', upstream: 'nope' })).toThrow(InvalidOptionError);
    expect(() => createChaosProxy({ name: 'x', upstream: '127.0.0.1:0' })).toThrow(
      'chaosProxy.upstream must be "host:port" with a port in [1, 65535], got "127.0.0.1:0"',
    );
    expect(() => createChaosProxy({ name: 'x', upstream: '127.0.0.1:1', bogus: 1 } as never)).toThrow(/chaosProxy.bogus is not a known option/);
    const { proxy } = await echoProxy();
    const clash = createChaosProxy({ name: 'clash', listen: proxy.listen, upstream: '127.0.0.1:1' });
    await expect(clash.start()).rejects.toThrow(ListenFailedError);
    expect(clash.enabled).toBe(false);
  });

  it('listens on loopback by default and honours another named address', async () => {
    const { proxy } = await echoProxy({ listen: 'localhost:0' });
    expect(['127.0.0.1', '::1']).toContain(proxy.address!.host);
  });

  it('stops reading from a fast upstream while the client does not read (bounded buffering)', async () => {
    let upstreamSocket: import('node:net').Socket | undefined;
    const chunk = Buffer.alloc(1 << 20, 1);
    const upstream = await startServer((s) => {
      upstreamSocket = s;
      for (let i = 0; i < 40; i++) s.write(chunk);
    });
    const proxy = createChaosProxy({ name: 'bp', upstream: upstream.address, maxBufferedBytes: 64 * 1024 });
    await proxy.start();
    cleanup.push(() => upstream.close(), () => proxy.close());
    const client = await connectClient(proxy.address!.port);
    client.socket.pause();
    await new Promise((r) => setTimeout(r, 800));
    // Kernel buffers hold a few MiB; the proxy itself must not have swallowed the rest.
    expect(upstreamSocket!.writableLength).toBeGreaterThan(15 * (1 << 20));
    client.socket.resume();
    await client.waitForBytes(40 * (1 << 20), 8000);
  }, 15_000);

  it('close() leaves no listener and no socket, upstream side included', async () => {
    const echo = await startEchoServer();
    const proxy = createChaosProxy({ name: 'c', upstream: echo.address });
    await proxy.start();
    proxy.addToxic({ type: 'latency', attributes: { latency: 10_000 } });
    const clients = await Promise.all([1, 2, 3].map(() => connectClient(proxy.address!.port)));
    for (const c of clients) c.socket.write('held');
    await new Promise((r) => setTimeout(r, 50));
    expect(echo.sockets.size).toBe(3);
    await proxy.close();
    expect(proxy.stats.connections).toBe(0);
    await within(Promise.all(clients.map((c) => c.closed)), 2000, 'clients closed');
    // The proxy's upstream sockets are gone too: the upstream server sees them close.
    await within(
      (async () => {
        while (echo.sockets.size > 0) await new Promise((r) => setTimeout(r, 10));
      })(),
      2000,
      'upstream sockets closed',
    );
    await echo.close();
    expect(await tcpHandles()).toBe(0);
  });
});
