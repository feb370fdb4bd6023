/**
 * The simulated network on its own, in virtual time: dials (refused, timed out, aborted),
 * bytes through the proxy's toxics per direction, closes and resets as a socket shows
 * them, link faults, a wire server accepting in-memory streams, and nothing left behind.
 */
import type { Duplex } from 'node:stream';
import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/chaos/seeded-random.js';
import { createSimulatedNetwork, type SimulatedNetwork } from '../../src/chaos/simulated-network.js';
import { VirtualDriver } from '../../src/chaos/virtual-driver.js';
import { AbortedError, DialRefusedError, DialTimeoutError, ListenFailedError } from '../../src/errors.js';
import { createWireServer } from '../../src/transport/wire-server.js';
import { wire } from '../../src/transport/wire.js';

const ADDRESS = '10.0.0.1:7000';
const ENDPOINT = { host: '10.0.0.1', port: 7000 };

interface Bench {
  vts: VirtualTimeScheduler;
  driver: VirtualDriver;
  net: SimulatedNetwork;
  /** Server ends accepted so far. */
  accepted: Duplex[];
}

function bench(options: { connectDelayMs?: number; seed?: number } = {}): Bench {
  const vts = new VirtualTimeScheduler();
  const net = createSimulatedNetwork({ scheduler: vts, random: seededRandom(options.seed ?? 1), connectDelayMs: options.connectDelayMs ?? 0 });
  return { vts, driver: new VirtualDriver(vts), net, accepted: [] };
}

function listen(b: Bench, onData?: (stream: Duplex, chunk: Buffer) => void) {
  return b.net.listen(ADDRESS, (stream) => {
    b.accepted.push(stream);
    stream.on('error', () => {});
    if (onData) stream.on('data', (chunk: Buffer) => onData(stream, chunk));
  });
}

/** Records what a client end receives, with virtual arrival times. */
function watch(b: Bench, stream: Duplex) {
  const seen = { data: [] as { text: string; at: number }[], endedAt: undefined as number | undefined, closedAt: undefined as number | undefined, error: undefined as NodeJS.ErrnoException | undefined };
  stream.on('data', (c: Buffer) => seen.data.push({ text: c.toString(), at: b.vts.now() }));
  stream.on('end', () => (seen.endedAt = b.vts.now()));
  stream.on('error', (err: NodeJS.ErrnoException) => (seen.error = err));
  stream.on('close', () => (seen.closedAt = b.vts.now()));
  return seen;
}

async function dial(b: Bench, connectTimeoutMs = 1000, signal?: AbortSignal) {
  const p = b.net.transport.dial(ENDPOINT, { connectTimeoutMs, ...(signal ? { signal } : {}) });
  const outcome = p.then((s) => ({ stream: s, error: undefined }), (error: unknown) => ({ stream: undefined, error }));
  await b.driver.settle(p, 10_000);
  return outcome;
}

describe('simulated network: dialing', () => {
  it('refuses a dial when nothing listens, and after the listener closed', async () => {
    const b = bench();
    const refused = await dial(b);
    expect(refused.error).toBeInstanceOf(DialRefusedError);
    expect((refused.error as Error).message).toBe('dial simulated 10.0.0.1:7000 refused (ECONNREFUSED)');
    const listener = listen(b);
    expect((await dial(b)).stream).toBeDefined();
    expect(() => listen(b)).toThrow(ListenFailedError);
    listener.close();
    expect((await dial(b)).error).toBeInstanceOf(DialRefusedError);
    b.net.close();
  });

  it('connects after connectDelayMs, times out after connectTimeoutMs, and honours its AbortSignal', async () => {
    const b = bench({ connectDelayMs: 50 });
    listen(b);
    const ok = await dial(b);
    expect(ok.stream).toBeDefined();
    expect(b.vts.now()).toBe(50);

    const slow = bench({ connectDelayMs: 500 });
    listen(slow);
    const timedOut = await dial(slow, 100);
    expect(timedOut.error).toBeInstanceOf(DialTimeoutError);
    expect(slow.vts.now()).toBe(100);
    expect(slow.accepted).toHaveLength(0);

    const controller = new AbortController();
    const pending = slow.net.transport.dial(ENDPOINT, { connectTimeoutMs: 1000, signal: controller.signal });
    const caught = pending.catch((e: unknown) => e);
    await slow.driver.advance(10);
    controller.abort(new Error('user gave up'));
    const aborted = await caught;
    expect(aborted).toBeInstanceOf(AbortedError);
    expect((aborted as AbortedError).cause).toEqual(new Error('user gave up'));
    await slow.driver.advance(1000);
    expect(slow.accepted).toHaveLength(0);
    // A failed or aborted dial leaves no timer behind.
    expect(slow.vts.actions).toHaveLength(0);
    b.net.close();
  });
});

describe('simulated network: bytes and toxics', () => {
  it('delivers both ways; a latency toxic delays only its direction, by exactly its latency', async () => {
    const b = bench();
    listen(b, (stream, chunk) => stream.write(`echo:${chunk.toString()}`));
    b.net.link(ADDRESS).addToxic({ type: 'latency', stream: 'downstream', attributes: { latency: 100 } });
    const { stream } = await dial(b);
    const seen = watch(b, stream!);
    const upstreamSeen: number[] = [];
    b.accepted[0]!.on('data', () => upstreamSeen.push(b.vts.now()));
    stream!.write('a');
    await b.driver.advance(99);
    expect(upstreamSeen).toEqual([0]);
    expect(seen.data).toEqual([]);
    await b.driver.advance(1);
    expect(seen.data).toEqual([{ text: 'echo:a', at: 100 }]);
    b.net.close();
  });

  it('follows toxics added and removed on a live connection; removing a blackhole closes it, as the proxy does', async () => {
    const b = bench();
    listen(b, (stream, chunk) => stream.write(chunk));
    const link = b.net.link(ADDRESS);
    const { stream } = await dial(b);
    const seen = watch(b, stream!);
    link.addToxic({ name: 'hole', type: 'timeout', stream: 'upstream', attributes: { timeout: 0 } });
    stream!.write('lost');
    await b.driver.advance(500);
    expect(seen.data).toEqual([]);
    expect(link.connections).toBe(1);
    link.removeToxic('hole');
    await b.driver.advance(1);
    expect(seen.closedAt).toBe(500);
    expect(seen.error).toBeUndefined();
    expect(b.net.connections).toBe(0);
  });

  it('a reset_peer toxic resets both ends with ECONNRESET', async () => {
    const b = bench();
    listen(b);
    b.net.link(ADDRESS).addToxic({ type: 'reset_peer', stream: 'upstream', attributes: { timeout: 20 } });
    const { stream } = await dial(b);
    const client = watch(b, stream!);
    const server = watch(b, b.accepted[0]!);
    stream!.write('x');
    await b.driver.advance(50);
    expect(client.error?.code).toBe('ECONNRESET');
    expect(server.error?.code).toBe('ECONNRESET');
    expect([client.closedAt, server.closedAt]).toEqual([20, 20]);
    expect(b.net.connections).toBe(0);
  });

  it('a server end destroyed reaches the client as a FIN behind the data in flight', async () => {
    const b = bench();
    listen(b);
    b.net.link(ADDRESS).addToxic({ type: 'latency', stream: 'downstream', attributes: { latency: 30 } });
    const { stream } = await dial(b);
    const seen = watch(b, stream!);
    b.accepted[0]!.write('last words');
    b.accepted[0]!.destroy();
    await b.driver.advance(100);
    expect(seen.data).toEqual([{ text: 'last words', at: 30 }]);
    expect(seen.endedAt).toBe(30);
    expect(seen.error).toBeUndefined();
    expect(b.net.connections).toBe(0);
  });

  it('rolls toxicity per connection from the seeded random: the same seed, the same connections hit', async () => {
    const pattern = async (seed: number) => {
      const b = bench({ seed });
      listen(b, (stream, chunk) => stream.write(chunk));
      b.net.link(ADDRESS).addToxic({ type: 'timeout', stream: 'downstream', toxicity: 0.5, attributes: { timeout: 0 } });
      const hit: boolean[] = [];
      for (let i = 0; i < 12; i++) {
        const { stream } = await dial(b);
        const seen = watch(b, stream!);
        stream!.write('?');
        await b.driver.advance(5);
        hit.push(seen.data.length === 0);
      }
      b.net.close();
      return hit;
    };
    const a = await pattern(11);
    expect(await pattern(11)).toEqual(a);
    expect(a).toContain(true);
    expect(a).toContain(false);
  });
});

describe('simulated network: link faults and teardown', () => {
  it('disable() cuts live connections and refuses dials until enable()', async () => {
    const b = bench();
    listen(b);
    const link = b.net.link(ADDRESS);
    const { stream } = await dial(b);
    const seen = watch(b, stream!);
    await link.disable();
    await b.driver.advance(1);
    expect(seen.closedAt).toBe(0);
    expect((await dial(b)).error).toBeInstanceOf(DialRefusedError);
    await link.enable();
    expect((await dial(b)).stream).toBeDefined();
    expect(link.cut()).toBe(1);
    await b.driver.advance(1);
    expect(b.net.connections).toBe(0);
  });

  it('serves the wire protocol through WireServer.accept, freezes with the server, and closes to nothing', async () => {
    const b = bench();
    const server = createWireServer({ scheduler: b.vts, handler: (payload) => ({ echo: payload }), clientIdleTimeoutMs: 60_000 });
    b.net.listen(ADDRESS, (stream) => server.accept(stream));
    const { stream } = await dial(b);
    const protocol = wire({ requestTimeoutMs: 500 });
    const opening = protocol.open(stream!, { signal: new AbortController().signal, endpoint: ENDPOINT, markAlive: () => {}, scheduler: b.vts });
    await b.driver.settle(opening, 1000);
    const session = await opening;
    expect(server.clients()).toEqual([expect.objectContaining({ remote: '10.255.0.1:40000', state: 'ready' })]);

    const reply = session.request({ n: 1 });
    await b.driver.settle(reply, 1000);
    expect(await reply).toEqual({ echo: { n: 1 } });

    server.freeze();
    const frozen = session.request({ n: 2 }).catch((e: unknown) => e);
    await b.driver.advance(300);
    server.thaw();
    await b.driver.settle(frozen, 1000);
    expect(await frozen).toEqual({ echo: { n: 2 } });
    expect(b.vts.now()).toBe(300);

    const closing = server.close({ graceful: false });
    await b.driver.settle(closing, 1000);
    await closing;
    await b.driver.advance(10);
    expect(session.state).toBe('closed');
    b.net.close();
    expect(b.net.connections).toBe(0);
    expect(b.net.listening()).toEqual([]);
    expect(b.vts.actions).toHaveLength(0);
  });
});
