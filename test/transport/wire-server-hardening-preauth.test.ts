/**
 * What an unauthenticated peer can cost a wire server (issue 10, item 4), on 127.0.0.1
 * with raw sockets: before HELLO only a HELLO-sized frame is accepted (refused from the
 * length header alone), the number of connections still handshaking is bounded, and a
 * client that trickles bytes is dropped, before and after HELLO. Real time with small
 * bounds; the timing rules themselves are pinned in virtual time in
 * wire-server-hardening-timing.test.ts.
 */
import { connect, type Socket } from 'node:net';
import { asyncScheduler } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hasCode, InvalidOptionError } from '../../src/errors.js';
import { tcp } from '../../src/transport/tcp.js';
import { MessageType as T } from '../../src/transport/wire-messages.js';
import { createWireServer, type WireClientDropped, type WireServer, type WireServerOptions } from '../../src/transport/wire-server.js';
import { helloFrameBytes } from '../../src/transport/wire-server-options.js';
import type { WireSession } from '../../src/transport/wire-session.js';
import { wire } from '../../src/transport/wire.js';
import { expectHandlesBackTo, handleCounts, RawPeer, turn, waitFor } from './helpers.js';

const cleanups: Array<() => unknown> = [];
let baseline: Record<string, number>;
beforeEach(() => {
  baseline = handleCounts();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await expectHandlesBackTo(baseline);
});

async function startServer(opts?: WireServerOptions): Promise<{ server: WireServer; port: number; dropped: WireClientDropped[] }> {
  const dropped: WireClientDropped[] = [];
  const server = createWireServer({ ...opts, onClientDropped: (d) => dropped.push(d) });
  cleanups.push(() => server.close({ graceful: false }));
  const { port } = (await server.listen()) as { port: number };
  return { server, port, dropped };
}

async function rawSocket(port: number): Promise<Socket & { closedFlag: boolean }> {
  const s = await new Promise<Socket>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.once('error', reject);
  });
  const tracked = Object.assign(s, { closedFlag: false });
  s.on('error', () => {});
  s.on('close', () => (tracked.closedFlag = true));
  cleanups.push(() => s.destroy());
  return tracked;
}

async function session(port: number, token?: string): Promise<WireSession> {
  const stream = await tcp().dial({ port }, { connectTimeoutMs: 2000 });
  const s = await wire({ token }).open(stream, { signal: new AbortController().signal, endpoint: { host: '127.0.0.1', port }, markAlive: () => {}, scheduler: asyncScheduler });
  cleanups.push(() => s.destroy());
  return s;
}

describe('wire server before HELLO: frame size', () => {
  it('refuses a 16 MiB length header before HELLO on the header alone, naming maxHandshakeFrameBytes', async () => {
    const { server, port, dropped } = await startServer({ handler: (p) => p });
    const socket = await rawSocket(port);
    socket.write(Buffer.from([0x01, 0x00, 0x00, 0x00])); // 16 MiB, within maxFrameBytes; not one body byte follows
    await waitFor(() => socket.closedFlag, 'the socket to be closed after the header');
    expect(dropped.map((d) => d.reason)).toEqual(['protocol-error']);
    expect(hasCode(dropped[0]!.error, 'WW_FRAME_TOO_LARGE')).toBe(true);
    expect(dropped[0]!.error!.message).toBe('frame of 16777216 bytes exceeds maxHandshakeFrameBytes 8192');
    await waitFor(() => server.connections === 0, 'the connection to be gone');
  });

  it('lifts the limit once HELLO is accepted: a 1 MiB request is served', async () => {
    const { port } = await startServer({ token: 'tkn', handler: (p) => (p as string).length });
    const s = await session(port, 'tkn');
    expect(await s.request('y'.repeat(1 << 20))).toBe(1 << 20);
  });

  it('admits a HELLO exactly at the limit and refuses one byte over it', async () => {
    const token = 'k'.repeat(200);
    const exact = helloFrameBytes(token);
    const { port } = await startServer({ token, maxHandshakeFrameBytes: exact, handler: () => 'ok' });
    expect(await (await session(port, token)).request(1)).toBe('ok');
    const { port: port2, dropped } = await startServer({ maxHandshakeFrameBytes: exact - 1 });
    const peer = await RawPeer.connect(port2);
    peer.send([T.HELLO, { version: 1, token }]);
    await waitFor(() => peer.closed, 'the oversized HELLO to be refused');
    expect(dropped[0]!.error!.message).toBe(`frame of ${exact} bytes exceeds maxHandshakeFrameBytes ${exact - 1}`);
  });

  it('refuses at construction a limit the configured token cannot fit, without naming the token', () => {
    const token = 'secret-'.repeat(20);
    const need = helloFrameBytes(token);
    const attempt = (): unknown => createWireServer({ token, maxHandshakeFrameBytes: 64 });
    expect(attempt).toThrow(InvalidOptionError);
    expect(attempt).toThrow(`wireServer.maxHandshakeFrameBytes must be at least ${need} (the HELLO with the configured token), got 64`);
    expect(() => createWireServer({ token, maxFrameBytes: 100 })).toThrow(`wireServer.maxFrameBytes must be at least ${need}`);
    try {
      attempt();
    } catch (err) {
      expect((err as Error).message).not.toContain('secret');
    }
    for (const [opts, message] of [
      [{ maxHandshakeFrameBytes: 0 }, 'wireServer.maxHandshakeFrameBytes must be an integer in [1, 4294967295], got 0'],
      [{ maxHandshakingClients: 0 }, 'wireServer.maxHandshakingClients must be an integer >= 1, got 0'],
      [{ frameTimeoutMs: 0 }, 'wireServer.frameTimeoutMs must be an integer in [1, 2147483647] (ms), got 0'],
      [{ frameMinBytesPerSecond: 0.5 }, 'wireServer.frameMinBytesPerSecond must be an integer >= 1, got 0.5'],
    ] as const) {
      expect(() => createWireServer(opts)).toThrow(message);
    }
  });
});

describe('wire server before HELLO: connections in handshake', () => {
  it('closes sockets beyond maxHandshakingClients at once and frees a slot on HELLO or close', async () => {
    const { server, port, dropped } = await startServer({ maxHandshakingClients: 2, handler: (p) => p });
    const a = await RawPeer.connect(port);
    const b = await rawSocket(port);
    await waitFor(() => server.connections === 2, 'two handshaking connections');

    const refused = await rawSocket(port);
    const refusedPort = refused.localPort;
    await waitFor(() => refused.closedFlag, 'the third handshaking socket to be closed');
    expect(server.connections).toBe(2);
    expect(dropped).toHaveLength(1);
    expect(dropped[0]).toMatchObject({ reason: 'handshake-limit', remote: `127.0.0.1:${refusedPort}` });

    // A finished handshake frees its slot…
    a.send([T.HELLO, { version: 1 }]);
    await a.next(T.HELLO_OK);
    const c = await rawSocket(port);
    await waitFor(() => server.connections === 3, 'a new handshaking connection after a HELLO');
    // …and so does a handshaking client that leaves.
    const d = await rawSocket(port);
    await waitFor(() => d.closedFlag, 'no slot while b and c handshake');
    b.destroy();
    await waitFor(() => server.connections === 2, 'b to be gone');
    const e = await rawSocket(port);
    await waitFor(() => server.connections === 3, 'a slot after b left');
    await turn(5);
    expect(e.closedFlag).toBe(false);
    expect(c.closedFlag).toBe(false);
    expect(dropped.map((x) => x.reason)).toEqual(['handshake-limit', 'handshake-limit']);
    expect(server.clients().map((x) => x.state).sort()).toEqual(['hello', 'hello', 'ready']);
  });

  it('counts refused and timed-out handshakes out of the slots too', async () => {
    const { server, port } = await startServer({ maxHandshakingClients: 1, token: 'right', handshakeTimeoutMs: 200 });
    const wrong = await RawPeer.connect(port);
    wrong.send([T.HELLO, { version: 1, token: 'wrong' }]);
    await wrong.next(T.HELLO_ERR);
    await waitFor(() => server.connections === 0, 'the refused client to be gone');
    const mute = await rawSocket(port);
    await waitFor(() => mute.closedFlag, 'the mute client to be dropped at handshakeTimeoutMs');
    expect((await session(port, 'right')).state).toBe('open'); // the slot is free again
  });
});

describe('wire server: trickled bytes (slowloris) on real sockets', () => {
  it('drops a client trickling one byte per 20 ms after HELLO; other clients are served', async () => {
    const { port, dropped } = await startServer({ frameTimeoutMs: 150, handler: (p) => p });
    const good = await session(port);
    const slow = await RawPeer.connect(port);
    slow.send([T.HELLO, { version: 1 }]);
    await slow.next(T.HELLO_OK);
    slow.socket.write(Buffer.from([0x00, 0x00, 0x01, 0x00])); // a 256-byte frame, then a trickle
    const started = Date.now();
    const timer = setInterval(() => slow.socket.write(Buffer.from([0x90])), 20);
    cleanups.push(() => clearInterval(timer));
    await waitFor(() => slow.closed, 'the trickling client to be dropped', 3000);
    clearInterval(timer);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(dropped.map((d) => d.reason)).toEqual(['frame-timeout']);
    expect(await good.request('still served')).toBe('still served');
  });

  it('drops a client trickling its HELLO at handshakeTimeoutMs', async () => {
    const { port, dropped } = await startServer({ handshakeTimeoutMs: 200 });
    const socket = await rawSocket(port);
    socket.write(Buffer.from([0x00, 0x00, 0x00, 0x40]));
    const timer = setInterval(() => socket.write(Buffer.from([0x90])), 20);
    cleanups.push(() => clearInterval(timer));
    await waitFor(() => socket.closedFlag, 'the trickling client to be dropped', 3000);
    clearInterval(timer);
    expect(dropped.map((d) => d.reason)).toEqual(['handshake-timeout']);
  });
});
