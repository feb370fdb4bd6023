/**
 * The wire protocol end to end on 127.0.0.1: real sockets, a real `createWireServer`,
 * the `tcp()` dialer and the `wire()` client. Time-dependent server behaviour
 * (heartbeats, handshake timeout) runs the server on a VirtualTimeScheduler.
 */
import { createServer, type Server } from 'node:net';
import { asyncScheduler, VirtualTimeScheduler, type SchedulerLike } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors.js';
import { FrameDecoder } from '../../src/transport/frame-decoder.js';
import { encodeFrame } from '../../src/transport/frame-writer.js';
import { MsgpackCodec } from '../../src/transport/msgpack-codec.js';
import { tcp } from '../../src/transport/tcp.js';
import { MessageType as T } from '../../src/transport/wire-messages.js';
import { createWireServer, type WireClientDropped, type WireServer, type WireServerOptions } from '../../src/transport/wire-server.js';
import type { WireSession } from '../../src/transport/wire-session.js';
import { wire, type WireOptions } from '../../src/transport/wire.js';
import { advance, expectHandlesBackTo, handleCounts, RawPeer, turn, waitFor, rejection } from './helpers.js';

const cleanups: Array<() => unknown> = [];
let baseline: Record<string, number>;

beforeEach(() => {
  baseline = handleCounts();
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startServer(opts?: WireServerOptions): Promise<{ server: WireServer; port: number; dropped: WireClientDropped[] }> {
  const dropped: WireClientDropped[] = [];
  const server = createWireServer({ ...opts, onClientDropped: (d) => dropped.push(d) });
  cleanups.push(() => server.close({ graceful: false }));
  const addr = (await server.listen()) as { host: string; port: number };
  expect(addr.host).toBe('127.0.0.1');
  return { server, port: addr.port, dropped };
}

async function connectClient(port: number, opts?: WireOptions, scheduler: SchedulerLike = asyncScheduler): Promise<WireSession> {
  const stream = await tcp().dial({ port }, { connectTimeoutMs: 2000 });
  const session = await wire(opts).open(stream, {
    signal: new AbortController().signal,
    endpoint: { host: '127.0.0.1', port },
    markAlive: () => {},
    scheduler,
  });
  cleanups.push(() => session.destroy());
  return session;
}

describe('wire on loopback', () => {
  it('handshakes with the right token and serves requests', async () => {
    const { server, port } = await startServer({ token: 's3cret-token', handler: (p) => ({ echo: p }) });
    const session = await connectClient(port, { token: 's3cret-token' });
    expect(await session.request({ a: 1 })).toEqual({ echo: { a: 1 } });
    expect(server.connections).toBe(1);
    expect(server.clients()[0]).toMatchObject({ id: session.clientId, state: 'ready', inFlight: 0 });
  });

  it('rejects a bad token; the token never appears in the error, the session or the drop event', async () => {
    const { server, port, dropped } = await startServer({ token: 'server-secret', handler: () => 1 });
    const err = await rejection(connectClient(port, { token: 'client-guess-xyz' }));
    expect(hasCode(err, 'WW_HANDSHAKE_REFUSED')).toBe(true);
    expect(err.message).toMatch(/refused: bad token/);
    const everything = JSON.stringify([err.message, String(err.cause), dropped.map((d) => [d.reason, d.error?.message])]);
    expect(everything).not.toContain('client-guess-xyz');
    expect(everything).not.toContain('server-secret');
    expect(dropped.map((d) => d.reason)).toEqual(['auth-failed']);
    await waitFor(() => server.connections === 0, 'refused client to be gone');
  });

  it('pipelines requests; replies come back out of order and are matched by id', async () => {
    const gates = new Map<number, () => void>();
    const order: number[] = [];
    const { port } = await startServer({
      handler: (p) =>
        new Promise((resolve) => {
          const n = p as number;
          gates.set(n, () => {
            order.push(n);
            resolve(n * 10);
          });
        }),
    });
    const session = await connectClient(port);
    const calls = [1, 2, 3, 4].map((n) => session.request(n));
    await waitFor(() => gates.size === 4, 'all requests at the server');
    for (const n of [4, 3, 2, 1]) gates.get(n)!();
    expect(await Promise.all(calls)).toEqual([10, 20, 30, 40]);
    expect(order).toEqual([4, 3, 2, 1]);
  });

  it('delivers one-way messages and pushes (to one client and to all)', async () => {
    const messages: Array<[unknown, number]> = [];
    const { server, port } = await startServer({ onMessage: (p, ctx) => void messages.push([p, ctx.clientId]) });
    const a = await connectClient(port);
    const b = await connectClient(port);
    a.send({ hi: 'from a' });
    await waitFor(() => messages.length === 1, 'one-way message');
    expect(messages[0]).toEqual([{ hi: 'from a' }, a.clientId]);
    const gotA: unknown[] = [];
    const gotB: unknown[] = [];
    a.onPush((p) => gotA.push(p));
    b.onPush((p) => gotB.push(p));
    expect(server.push(b.clientId, 'only b')).toBe(1);
    expect(server.push('all', 'everyone')).toBe(2);
    await waitFor(() => gotA.length === 1 && gotB.length === 2, 'pushes');
    expect(gotA).toEqual(['everyone']);
    expect(gotB).toEqual(['only b', 'everyone']);
  });

  it('measures ping RTT and maps handler errors to RemoteError', async () => {
    const { port } = await startServer({
      handler: (p) => {
        if (p === 'sync') throw Object.assign(new Error('sync failure'), { code: 'E_SYNC' });
        return Promise.reject(new Error('async failure'));
      },
    });
    const session = await connectClient(port);
    const rtt = await session.ping();
    expect(rtt).toBeGreaterThanOrEqual(0);
    const e1 = await rejection(session.request('sync'));
    expect(hasCode(e1, 'WW_REMOTE_ERROR')).toBe(true);
    expect(e1.message).toMatch(/sync failure$/);
    expect((e1.cause as { code?: string }).code).toBe('E_SYNC');
    expect((await rejection(session.request('async'))).message).toMatch(/async failure$/);
    expect(session.state).toBe('open');
  });

  it('answers with ERR when a reply cannot be encoded, and keeps serving', async () => {
    const { port } = await startServer({ handler: (p) => ({ value: p === 'bad' ? Symbol('x') : p }) });
    const session = await connectClient(port);
    const err = await rejection(session.request('bad'));
    expect(hasCode(err, 'WW_REMOTE_ERROR')).toBe(true);
    expect(err.message).toMatch(/reply not sent: payload cannot be encoded as msgpack/);
    expect(await session.request('good')).toEqual({ value: 'good' });
  });

  it('graceful server close: GOAWAY, new requests refused, in-flight complete, then everything closes', async () => {
    let release!: () => void;
    const { server, port } = await startServer({
      handler: (p) => (p === 'slow' ? new Promise((r) => (release = () => r('slow done'))) : 'fast'),
    });
    const session = await connectClient(port);
    const slow = session.request('slow');
    await waitFor(() => release !== undefined, 'slow request at the server');
    const closing = server.close();
    await waitFor(() => session.state === 'goaway', 'client to see GOAWAY');
    expect(hasCode(await rejection(session.request('new')), 'WW_GOAWAY')).toBe(true);
    release();
    expect(await slow).toBe('slow done');
    await closing;
    await session.closed;
    expect(server.connections).toBe(0);
  });

  it('garbage from one raw client kills only that connection; the server keeps serving others', async () => {
    const { server, port, dropped } = await startServer({ handler: (p) => p });
    const good = await connectClient(port);
    const raw = await RawPeer.connect(port);
    raw.send([T.HELLO, { version: 1 }]);
    await raw.next(T.HELLO_OK);
    raw.socket.write(Buffer.from([0, 0, 0, 4, 0xde, 0xad, 0xbe, 0xef]));
    await waitFor(() => raw.closed, 'garbage client to be closed');
    expect(dropped.map((d) => d.reason)).toEqual(['protocol-error']);
    expect(hasCode(dropped[0]!.error, 'WW_PROTOCOL_ERROR')).toBe(true);
    expect(await good.request('still here')).toBe('still here');
    expect(server.connections).toBe(1);
  });

  it('an oversized frame header from a client is refused without killing the server', async () => {
    const { server, port, dropped } = await startServer({ handler: (p) => p, maxFrameBytes: 1024 });
    const raw = await RawPeer.connect(port);
    raw.socket.write(Buffer.from([0xff, 0xff, 0xff, 0xf0]));
    await waitFor(() => raw.closed, 'client to be closed');
    expect(hasCode(dropped[0]?.error, 'WW_FRAME_TOO_LARGE')).toBe(true);
    const good = await connectClient(port);
    expect(await good.request(1)).toBe(1);
    expect(server.connections).toBe(1);
  });

  it('graceful close is bounded: a client ignoring GOAWAY is destroyed after closeTimeoutMs', async () => {
    const vts = new VirtualTimeScheduler();
    const { server, port } = await startServer({ scheduler: vts, closeTimeoutMs: 2000 });
    const raw = await RawPeer.connect(port);
    raw.send([T.HELLO, { version: 1 }]);
    await raw.next(T.HELLO_OK);
    let closed = false;
    const closing = server.close().then(() => (closed = true));
    expect(await raw.next(T.GOAWAY)).toEqual([T.GOAWAY, { reason: 'server closing' }]);
    advance(vts, 1999);
    await turn(5);
    expect(closed).toBe(false);
    expect(raw.closed).toBe(false);
    advance(vts, 1);
    await closing;
    await waitFor(() => raw.closed, 'stubborn client to be destroyed');
    expect(server.connections).toBe(0);
  });

  it('listen() on a taken port rejects with ListenFailedError', async () => {
    const { port } = await startServer();
    const second = createWireServer({ port });
    const err = await rejection(second.listen());
    expect(hasCode(err, 'WW_LISTEN_FAILED')).toBe(true);
    expect(err.message).toBe(`wire server could not listen on 127.0.0.1:${port}: EADDRINUSE`);
    await second.close();
  });

  it('a client receiving garbage destroys its stream with ProtocolError (no uncaught exception)', async () => {
    const evil: Server = createServer((socket) => {
      const codec = new MsgpackCodec();
      const decoder = new FrameDecoder(() => {
        socket.write(encodeFrame(codec.encode([T.HELLO_OK, { version: 1, clientId: 1 }])));
        setImmediate(() => socket.write(Buffer.from([0, 0, 0, 2, 0xc1, 0xc1])));
      });
      socket.on('data', (c: Buffer) => decoder.push(c));
      socket.on('error', () => {});
    });
    cleanups.push(() => new Promise((r) => evil.close(r)));
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
    const port = (evil.address() as { port: number }).port;
    const session = await connectClient(port);
    const error = await new Promise<Error | undefined>((resolve) => session.onClose(resolve));
    expect(hasCode(error, 'WW_PROTOCOL_ERROR')).toBe(true);
    expect(session.state).toBe('closed');
  });

  it('freeze() stops the server answering anything (PINGs included) until thaw()', async () => {
    const { server, port } = await startServer({ handler: () => 'pong' });
    const session = await connectClient(port);
    server.freeze();
    const reply = session.request('x');
    let answered = false;
    const ping = session.ping().then(() => (answered = true));
    await turn(50);
    expect(answered).toBe(false);
    expect(server.clients()[0]!.inFlight).toBe(0); // not even read
    server.thaw();
    expect(await reply).toBe('pong');
    await ping;
    expect(answered).toBe(true);
  });

  it('leaves no socket, server or timer behind after client close + server close', async () => {
    const start = baseline;
    const server = createWireServer({ handler: (p) => p });
    const { port } = (await server.listen()) as { port: number };
    const sessions = [
      await wire().open(await tcp().dial({ port }, { connectTimeoutMs: 2000 }), {
        signal: new AbortController().signal, endpoint: { port }, markAlive: () => {}, scheduler: asyncScheduler,
      }),
      await wire().open(await tcp().dial({ port }, { connectTimeoutMs: 2000 }), {
        signal: new AbortController().signal, endpoint: { port }, markAlive: () => {}, scheduler: asyncScheduler,
      }),
    ];
    await Promise.all(sessions.map((s, i) => s.request(i)));
    expect(handleCounts().TCPSocketWrap).toBeGreaterThan(start.TCPSocketWrap!);
    await sessions[0]!.close();
    await server.close();
    await sessions[1]!.closed;
    await expectHandlesBackTo(start);
  });
});

describe('wire server heartbeats (push-pull), in virtual time', () => {
  it('PINGs a silent client and drops it when the PONG never comes', async () => {
    const vts = new VirtualTimeScheduler();
    const { server, port, dropped } = await startServer({ scheduler: vts, clientIdleTimeoutMs: 3000, clientProbeTimeoutMs: 1000 });
    const raw = await RawPeer.connect(port);
    raw.send([T.HELLO, { version: 1 }]);
    await raw.next(T.HELLO_OK);
    await waitFor(() => server.clients()[0]?.state === 'ready', 'handshake at the server');
    advance(vts, 2999);
    await turn(5);
    expect(raw.received).toEqual([]);
    // The watchdog sweeps every 250 ms; it saw the HELLO at 250, so it PINGs at 3250.
    advance(vts, 300);
    const [, pingId] = await raw.next(T.PING);
    expect(typeof pingId).toBe('number');
    expect(server.clients()[0]!.probing).toBe(true);
    advance(vts, 949); // t = 4248
    await turn(5);
    expect(raw.closed).toBe(false);
    advance(vts, 2); // t = 4250: the sweep finds the PING 1000 ms old, still unanswered
    await waitFor(() => raw.closed, 'silent client to be dropped');
    expect(dropped.map((d) => d.reason)).toEqual(['heartbeat-timeout']);
    expect(server.connections).toBe(0);
  });

  it('keeps a client that answers the PING', async () => {
    const vts = new VirtualTimeScheduler();
    const { server, port, dropped } = await startServer({ scheduler: vts, clientIdleTimeoutMs: 3000, clientProbeTimeoutMs: 1000 });
    await connectClient(port);
    advance(vts, 3300);
    expect(server.clients()[0]?.probing).toBe(true);
    await waitFor(() => server.clients()[0]?.probing === false, 'client PONG');
    advance(vts, 2000);
    expect(dropped).toEqual([]);
    expect(server.connections).toBe(1);
  });

  it('drops a connection that never says HELLO after handshakeTimeoutMs', async () => {
    const vts = new VirtualTimeScheduler();
    const { port, dropped } = await startServer({ scheduler: vts, handshakeTimeoutMs: 2000 });
    const raw = await RawPeer.connect(port);
    advance(vts, 1000);
    await turn(5);
    expect(raw.closed).toBe(false);
    advance(vts, 1500);
    await waitFor(() => raw.closed, 'mute client to be dropped');
    expect(dropped.map((d) => d.reason)).toEqual(['handshake-timeout']);
  });
});
