/**
 * A wire server that reflects the client's token (real sockets on 127.0.0.1) cannot make
 * `wire()` print it: the token is redacted where the server's text enters an error, in
 * the HELLO_ERR refusal and in the message and `code` of an ERR reply, so the whole
 * cause chain is clean.
 */
import { createServer, type Server } from 'node:net';
import { inspect } from 'node:util';
import { asyncScheduler } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors.js';
import { tcp } from '../../src/transport/tcp.js';
import { MessageType as T } from '../../src/transport/wire-messages.js';
import type { WireSession } from '../../src/transport/wire-session.js';
import { wire } from '../../src/transport/wire.js';
import { expectHandlesBackTo, handleCounts, RawPeer, rejection } from './helpers.js';

const TOKEN = 'tok-Qx81-Lw3-zz90-Mv7e-Pq2r-Hd44-Xa';

let baseline: Record<string, number>;
const cleanups: Array<() => unknown> = [];

beforeEach(() => {
  baseline = handleCounts();
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await expectHandlesBackTo(baseline);
});

/** A server that plays `script` with each client it accepts. */
async function hostileServer(script: (peer: RawPeer) => Promise<void>): Promise<number> {
  const peers: RawPeer[] = [];
  const server: Server = createServer((socket) => {
    const peer = new RawPeer(socket);
    peers.push(peer);
    void script(peer).catch(() => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    for (const p of peers) p.socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as { port: number }).port;
}

async function open(port: number): Promise<WireSession> {
  const stream = await tcp().dial({ host: '127.0.0.1', port }, { connectTimeoutMs: 2000 });
  cleanups.push(() => stream.destroy());
  return wire({ token: TOKEN }).open(stream, {
    signal: new AbortController().signal, endpoint: { host: '127.0.0.1', port }, markAlive: () => {}, scheduler: asyncScheduler,
  });
}

/** Every printable surface of the error and of each cause below it. */
function expectClean(err: Error): void {
  const texts = [inspect(err, { depth: null, showHidden: true }), JSON.stringify(err)];
  for (let e: unknown = err; e instanceof Error; e = e.cause) texts.push(e.message, String(e.stack), String((e as { code?: unknown }).code));
  for (const text of texts) expect(text).not.toContain(TOKEN);
  expect(texts.join('\n')).toContain('<redacted>');
}

describe('a wire server reflecting the token', () => {
  it('in HELLO_ERR: HandshakeRefusedError quotes the refusal with the token redacted', async () => {
    const port = await hostileServer(async (peer) => {
      const [, hello] = await peer.next(T.HELLO);
      const token = (hello as { token: string }).token;
      peer.send([T.HELLO_ERR, { code: 'WW_HANDSHAKE_REFUSED', message: `token ${token} is not valid` }]);
    });
    const err = await rejection(open(port));
    expect(hasCode(err, 'WW_HANDSHAKE_REFUSED')).toBe(true);
    expect(err.message).toBe(`handshake with 127.0.0.1:${port} refused: token <redacted> is not valid`);
    expectClean(err);
  });

  it('in an ERR reply: the RemoteError, its cause and its code are redacted', async () => {
    const port = await hostileServer(async (peer) => {
      const [, hello] = await peer.next(T.HELLO);
      const token = (hello as { token: string }).token;
      peer.send([T.HELLO_OK, { version: 1, clientId: 1 }]);
      const [, id] = await peer.next(T.REQ);
      peer.send([T.ERR, id, { code: token, message: `the holder of ${token} may not` }]);
    });
    const session = await open(port);
    const err = await rejection(session.request({ op: 'x' }));
    expect(hasCode(err, 'WW_REMOTE_ERROR')).toBe(true);
    expect(err.message).toBe(`request 1 failed on 127.0.0.1:${port}: the holder of <redacted> may not`);
    expect((err.cause as { code?: unknown }).code).toBe('<redacted>');
    expectClean(err);
    session.destroy();
  });
});
