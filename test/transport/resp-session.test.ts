/**
 * The RESP session over an in-memory duplex, in virtual time: a scripted peer plays
 * Redis byte by byte, so each reply, timeout and failure is placed exactly.
 */
import { getEventListeners } from 'node:events';
import { Duplex } from 'node:stream';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { hasCode, RemoteError } from '../../src/errors.js';
import type { RespOptions } from '../../src/transport/resp.js';
import { advance, turn, waitFor, rejection } from './helpers.js';
import { open, setup } from './resp-helpers/scripted-session.js';

const PASSWORD = 's3cr3t-Pa55';

describe('resp session: handshake', () => {
  it('RESP2: pipelines AUTH, SELECT and CLIENT SETNAME in one write, then is open', async () => {
    const s = setup({ username: 'app', password: PASSWORD, db: 2, clientName: 'worker-1' });
    const cmds = await s.peer.received(3);
    // All three were written before any reply: pipelined.
    expect(cmds).toEqual([['AUTH', 'app', PASSWORD], ['SELECT', '2'], ['CLIENT', 'SETNAME', 'worker-1']]);
    s.peer.send('+OK\r\n+OK\r\n');
    await turn();
    s.peer.send('+OK\r\n');
    const session = await s.opening;
    expect(session.state).toBe('open');
    expect(session.protocolVersion).toBe(2);
    expect(s.alive()).toBe(2);
  });

  it('RESP3: sends HELLO 3 AUTH default … SETNAME, then SELECT, and records the server info', async () => {
    const s = setup({ password: PASSWORD, db: 1, clientName: 'w', protocolVersion: 3 });
    expect(await s.peer.received(2)).toEqual([['HELLO', '3', 'AUTH', 'default', PASSWORD, 'SETNAME', 'w'], ['SELECT', '1']]);
    s.peer.send('%3\r\n$7\r\nversion\r\n$5\r\n7.2.4\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:42\r\n+OK\r\n');
    const session = await s.opening;
    expect(session.server).toEqual({ version: '7.2.4', protocolVersion: 3, clientId: 42 });
  });

  it('sends a PING when there is nothing to negotiate', async () => {
    const s = setup();
    expect(await s.peer.received(1)).toEqual([['PING']]);
    s.peer.send('+PONG\r\n');
    expect((await s.opening).state).toBe('open');
  });

  it('rejects HandshakeRefusedError on WRONGPASS, never showing the password (even when the server echoes it)', async () => {
    const s = setup({ password: PASSWORD, db: 3 });
    await s.peer.received(2);
    s.peer.send(`-WRONGPASS invalid username-password pair (tried ${PASSWORD})\r\n-NOAUTH Authentication required.\r\n`);
    const err = await rejection(s.opening);
    expect(hasCode(err, 'WW_HANDSHAKE_REFUSED')).toBe(true);
    expect(err.message).toBe('AUTH failed on 127.0.0.1:6379: WRONGPASS invalid username-password pair (tried <redacted>)');
    expect(hasCode(err.cause, 'WW_REMOTE_ERROR')).toBe(true);
    expect(inspect(err, { depth: 10 })).not.toContain(PASSWORD);
    expect(JSON.stringify(err)).not.toContain(PASSWORD);
    await waitFor(() => s.client.destroyed, 'stream destroyed');
  });

  it('rejects HandshakeFailedError (cause AbortedError) when ctx.signal aborts, and destroys the stream', async () => {
    const s = setup({ password: PASSWORD });
    await s.peer.received(1);
    s.ac.abort(new Error('handshake timeout'));
    const err = await rejection(s.opening);
    expect(hasCode(err, 'WW_HANDSHAKE_FAILED')).toBe(true);
    expect(hasCode(err.cause, 'WW_ABORTED')).toBe(true);
    expect(s.client.destroyed).toBe(true);
  });

  it('rejects HandshakeFailedError when the server closes first', async () => {
    const s = setup({ password: PASSWORD });
    await s.peer.received(1);
    s.peer.stream.end();
    const err = await rejection(s.opening);
    expect(hasCode(err, 'WW_HANDSHAKE_FAILED')).toBe(true);
    expect(hasCode(err.cause, 'WW_CONNECTION_CLOSED')).toBe(true);
  });

  it('never exposes the password through the protocol, the session or JSON', async () => {
    const s = setup({ password: PASSWORD, username: 'app' });
    await s.peer.received(1);
    s.peer.send('+OK\r\n');
    const session = await s.opening;
    for (const text of [JSON.stringify(s.protocol), inspect(s.protocol, { depth: 10, showHidden: true }),
      JSON.stringify(session), inspect(session, { depth: 10, showHidden: true }), JSON.stringify({ ...session })]) {
      expect(text).not.toContain(PASSWORD);
    }
    expect(JSON.parse(JSON.stringify(session))).toEqual({ state: 'open', inFlight: 0, protocolVersion: 2, server: {} });
  });
});

describe('resp session: commands', () => {
  it('writes pipelined commands at once and matches replies in order', async () => {
    const { session, peer } = await open();
    const replies = [session.command(['SET', 'k', 'v']), session.command(['GET', 'k']), session.command(['INCR', 'n']), session.command(['GET', 'nope'])];
    expect(await peer.received(4)).toEqual([['SET', 'k', 'v'], ['GET', 'k'], ['INCR', 'n'], ['GET', 'nope']]);
    expect(session.inFlight).toBe(4);
    peer.send('+OK\r\n$1\r\nv\r\n:1\r\n$-1\r\n');
    expect(await Promise.all(replies)).toEqual(['OK', 'v', 1, null]);
    expect(session.inFlight).toBe(0);
  });

  it('rejects an error reply with RemoteError (text verbatim, prefix in cause.code) and carries on', async () => {
    const { session, peer } = await open();
    const bad = session.command(['GET', 'h']);
    const good = session.command(['PING']);
    await peer.received(2);
    peer.send('-WRONGTYPE Operation against a key holding the wrong kind of value\r\n+PONG\r\n');
    const err = await rejection(bad);
    expect(err).toBeInstanceOf(RemoteError);
    expect(err.message).toBe('WRONGTYPE Operation against a key holding the wrong kind of value');
    expect((err.cause as { code: string }).code).toBe('WRONGTYPE');
    expect(await good).toBe('PONG');
  });

  it('returns Buffers for bulk strings with returnBuffers', async () => {
    const { session, peer } = await open({ returnBuffers: true });
    const reply = session.command(['GET', 'k']);
    await peer.received(1);
    peer.send(Buffer.from([0x24, 0x33, 13, 10, 0, 0xff, 1, 13, 10]));
    expect(await reply).toEqual(Buffer.from([0, 0xff, 1]));
  });

  it('delivers RESP3 pushes to onPush without matching them to a command', async () => {
    const { session, peer } = await open({ protocolVersion: 3 });
    const pushes: unknown[] = [];
    session.onPush((p) => pushes.push(p));
    const reply = session.command(['GET', 'k']);
    await peer.received(1);
    peer.send('>2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n$1\r\nv\r\n');
    expect(await reply).toBe('v');
    expect(pushes).toEqual([['invalidate', ['k']]]);
  });

  it('on a default-timeout expiry: RequestTimeoutError, the connection destroyed, the rest ConnectionClosedError', async () => {
    const { session, peer, vts, client } = await open({ requestTimeoutMs: 1000 });
    const first = session.command(['GET', 'slow']);
    advance(vts, 500);
    const second = session.command(['GET', 'k']);
    await peer.received(2);
    advance(vts, 499);
    expect(client.destroyed).toBe(false);
    advance(vts, 1);
    const err = await rejection(first);
    expect(hasCode(err, 'WW_REQUEST_TIMEOUT')).toBe(true);
    expect(err.message).toContain('GET to 127.0.0.1:6379 got no reply within 1000 ms');
    expect(client.destroyed).toBe(true);
    const err2 = await rejection(second);
    expect(hasCode(err2, 'WW_CONNECTION_CLOSED')).toBe(true);
    expect(hasCode(err2.cause, 'WW_REQUEST_TIMEOUT')).toBe(true);
    await session.closed;
    expect(session.state).toBe('closed');
    expect(vts.actions).toHaveLength(0);
  });

  it('honours a per-command timeoutMs with the same consequences', async () => {
    const { session, vts, client } = await open();
    const p = session.command(['BLPOP', 'q', '5'], { timeoutMs: 6000 });
    advance(vts, 5999);
    expect(client.destroyed).toBe(false);
    advance(vts, 1);
    expect(hasCode(await rejection(p), 'WW_REQUEST_TIMEOUT')).toBe(true);
    expect(client.destroyed).toBe(true);
    expect(hasCode(await rejection(session.command(['GET', 'k'], { timeoutMs: 10 })), 'WW_CONNECTION_CLOSED')).toBe(true);
  });

  it('holds no timer once idle for requestTimeoutMs, and none when requestTimeoutMs is 0', async () => {
    const { session, peer, vts } = await open();
    const p = session.command(['GET', 'k']);
    expect(vts.actions.length).toBe(1);
    await peer.received(1);
    peer.send('$-1\r\n');
    await p;
    // The shared deadline timer is not cancelled per reply (the next command reuses it);
    // it lapses when it fires with nothing due.
    advance(vts, 10_000);
    expect(vts.actions.length).toBe(0);
    const off = await open({ requestTimeoutMs: 0 });
    void off.session.command(['GET', 'k']);
    expect(off.vts.actions.length).toBe(0);
  });

  it('rejects an aborted command at once and still drops its reply in order', async () => {
    const { session, peer } = await open();
    const ac = new AbortController();
    const slow = session.command(['GET', 'a'], { signal: ac.signal });
    const next = session.command(['GET', 'b']);
    ac.abort(new Error('user gave up'));
    const err = await rejection(slow);
    expect(hasCode(err, 'WW_ABORTED')).toBe(true);
    expect(session.inFlight).toBe(2);
    await peer.received(2);
    peer.send('$1\r\nA\r\n$1\r\nB\r\n');
    expect(await next).toBe('B');
    expect(session.inFlight).toBe(0);
  });

  it('refuses pub/sub and MONITOR, bad arguments and bad timeouts without writing anything', async () => {
    const { session, peer } = await open();
    for (const cmd of [['SUBSCRIBE', 'ch'], ['psubscribe', 'c*'], ['MONITOR'], [Buffer.from('SSUBSCRIBE'), 'x']]) {
      const err = await rejection(session.command(cmd));
      expect(hasCode(err, 'WW_INVALID_OPTION')).toBe(true);
    }
    expect((await rejection(session.command(['SUBSCRIBE', 'ch']))).message).toContain('command[0] must not be SUBSCRIBE');
    expect(hasCode(await rejection(session.command([])), 'WW_INVALID_OPTION')).toBe(true);
    expect(hasCode(await rejection(session.command(['GET', 'k'], { timeoutMs: -1 })), 'WW_INVALID_OPTION')).toBe(true);
    expect(hasCode(await rejection(session.command(['SET', 'k', { v: 1 } as never])), 'WW_INVALID_OPTION')).toBe(true);
    await turn(2);
    expect(peer.commands).toEqual([]);
    expect(session.inFlight).toBe(0);
  });
});

describe('resp session: bad input kills only this connection', () => {
  it('a reply with no command waiting is a ProtocolError', async () => {
    const { session, peer } = await open();
    let closedWith: Error | undefined;
    session.onClose((e) => (closedWith = e));
    peer.send('+OK\r\n');
    await session.closed;
    expect(hasCode(closedWith, 'WW_PROTOCOL_ERROR')).toBe(true);
  });

  it('onClose added after the session closed is called once, on a microtask, with the error it closed with; its unsubscribe cancels that', async () => {
    const { session, peer } = await open();
    peer.send('+OK\r\n'); // no command waiting: ProtocolError
    await session.closed;
    const late: (Error | undefined)[] = [];
    session.onClose((e) => late.push(e));
    const cancelled: unknown[] = [];
    session.onClose((e) => cancelled.push(e))();
    expect(late).toEqual([]); // never inside the onClose call
    await Promise.resolve();
    expect(late).toHaveLength(1);
    expect(hasCode(late[0], 'WW_PROTOCOL_ERROR')).toBe(true);
    await turn();
    expect(late).toHaveLength(1);
    expect(cancelled).toEqual([]);
    // Closed without an error: a late listener hears none either.
    const { session: other } = await open();
    other.destroy();
    await other.closed;
    expect(await new Promise<Error | undefined>((resolve) => other.onClose(resolve))).toBeUndefined();
  });

  it('garbage destroys the stream with ProtocolError; waiting commands get ConnectionClosedError', async () => {
    const { session, peer, client } = await open();
    const p = session.command(['GET', 'k']);
    await peer.received(1);
    peer.send('$3\r\nabcdef');
    const err = await rejection(p);
    expect(hasCode(err, 'WW_CONNECTION_CLOSED')).toBe(true);
    expect(hasCode(err.cause, 'WW_PROTOCOL_ERROR')).toBe(true);
    expect(client.destroyed).toBe(true);
  });

  it('an oversized bulk destroys the stream with FrameTooLargeError', async () => {
    const { session, peer } = await open({ maxBulkBytes: 10 });
    const p = session.command(['GET', 'k']);
    await peer.received(1);
    peer.send('$11\r\n');
    expect(hasCode((await rejection(p)).cause, 'WW_FRAME_TOO_LARGE')).toBe(true);
  });
});

/** A client stream whose writes after the handshake's PING are held until `release()`: backpressure on demand. */
function heldPair(): { client: Duplex; server: Duplex; release: () => void } {
  const server = new Duplex({ read() {}, write(_c, _e, cb) { cb(); } });
  const held: Array<() => void> = [];
  let first = true;
  let holding = true;
  const client = new Duplex({
    highWaterMark: 64,
    read() {},
    write(chunk: Buffer, _e, cb) {
      const deliver = (): void => {
        server.push(chunk);
        cb();
      };
      if (first || !holding) deliver();
      else held.push(deliver);
      first = false;
    },
  });
  server._write = (chunk: Buffer, _e, cb) => {
    client.push(chunk);
    cb();
  };
  const release = (): void => {
    holding = false;
    for (const deliver of held.splice(0)) deliver();
  };
  return { client, server, release };
}

async function openHeld(opts: RespOptions) {
  const { client, server, release } = heldPair();
  const s = setup(opts, client, server);
  await s.peer.received(1);
  s.peer.send('+PONG\r\n');
  const session = await s.opening;
  return { ...s, session, release };
}

describe('resp session: backpressure', () => {
  it('holds commands past maxQueuedBytes behind a full socket, in order, and never refuses them', async () => {
    const { session, peer, client, release } = await openHeld({ maxQueuedBytes: 200 });
    const value = 'x'.repeat(80); // a SET of 108 bytes
    const sets = Array.from({ length: 10 }, (_, i) => session.command(['SET', `k${i}`, value]));
    await turn(2);
    expect(session.inFlight).toBe(10);
    // The socket took commands until it held maxQueuedBytes (the last one overshooting);
    // the other eight wait in the session.
    expect(client.writableLength).toBe(216);
    expect(peer.commands).toEqual([['PING']]);
    release();
    const received = await peer.received(11);
    expect(received.slice(1).map((c) => c[1])).toEqual(Array.from({ length: 10 }, (_, i) => `k${i}`));
    peer.send('+OK\r\n'.repeat(10));
    expect(await Promise.all(sets)).toEqual(Array(10).fill('OK'));
    expect(session.inFlight).toBe(0);
  });

  it('a command still waiting for the socket times out like any other: the connection closes', async () => {
    const { session, vts, client } = await openHeld({ maxQueuedBytes: 0, requestTimeoutMs: 1000 });
    const value = 'x'.repeat(80);
    const first = session.command(['SET', 'a', value]);
    advance(vts, 500);
    const waiting = session.command(['SET', 'b', value]);
    await turn(2);
    advance(vts, 500);
    expect(hasCode(await rejection(first), 'WW_REQUEST_TIMEOUT')).toBe(true);
    const err = await rejection(waiting);
    expect(hasCode(err, 'WW_CONNECTION_CLOSED')).toBe(true);
    expect(err.message).toContain('closed with 2 commands in flight (SET unanswered)');
    expect(client.destroyed).toBe(true);
  });
});

describe('resp session: probe, reset, close', () => {
  it('probe is a PING; an aborted probe keeps its FIFO slot so the next command gets its own reply', async () => {
    const { session, peer, protocol } = await open();
    const ac = new AbortController();
    const probe = protocol.probe(session, ac.signal);
    const get = session.command(['GET', 'k']);
    ac.abort(new Error('probe timeout'));
    expect(hasCode(await rejection(probe), 'WW_ABORTED')).toBe(true);
    expect(await peer.received(2)).toEqual([['PING'], ['GET', 'k']]);
    peer.send('+PONG\r\n$1\r\nv\r\n');
    expect(await get).toBe('v');
    // The actor recycles an answered probe's signal: no listener may stay on it.
    const signal = new AbortController().signal;
    const ok = protocol.probe(session, signal);
    expect(getEventListeners(signal, 'abort')).toHaveLength(1);
    await peer.received(3);
    peer.send('+PONG\r\n');
    await expect(ok).resolves.toBe('PONG');
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });

  it('reset pipelines RESET and the handshake again, and drops push listeners', async () => {
    const s = setup({ password: PASSWORD, db: 4, clientName: 'n' });
    await s.peer.received(3);
    s.peer.send('+OK\r\n+OK\r\n+OK\r\n');
    const session = await s.opening;
    let pushes = 0;
    session.onPush(() => pushes++);
    const reset = s.protocol.reset!(session);
    expect((await s.peer.received(7)).slice(3)).toEqual([['RESET'], ['AUTH', PASSWORD], ['SELECT', '4'], ['CLIENT', 'SETNAME', 'n']]);
    s.peer.send('+RESET\r\n+OK\r\n+OK\r\n+OK\r\n>1\r\n+late\r\n');
    await reset;
    await turn();
    expect(pushes).toBe(0);
    expect(session.state).toBe('open');
  });

  it('a failed reset (no RESET before Redis 6.2) rejects with the RemoteError and destroys the connection', async () => {
    const { session, peer, protocol, client } = await open();
    const reset = protocol.reset!(session);
    await peer.received(1);
    peer.send("-ERR unknown command 'RESET', with args beginning with: \r\n");
    const err = await rejection(reset);
    expect(hasCode(err, 'WW_REMOTE_ERROR')).toBe(true);
    expect(err.message).toContain("unknown command 'RESET'");
    await session.closed;
    expect(client.destroyed).toBe(true);
  });

  it('close waits for replies in flight, refuses new commands, ends the stream and resolves when closed', async () => {
    const { session, peer, protocol } = await open();
    const p = session.command(['GET', 'k']);
    const closing = protocol.close(session);
    expect(session.state).toBe('closing');
    expect(hasCode(await rejection(session.command(['GET', 'x'])), 'WW_CONNECTION_CLOSED')).toBe(true);
    await turn(2);
    expect(peer.ended).toBe(false);
    peer.send('$1\r\nv\r\n');
    expect(await p).toBe('v');
    await waitFor(() => peer.ended, 'client FIN');
    peer.stream.end();
    await closing;
    expect(session.state).toBe('closed');
  });

  it('close is bounded by closeTimeoutMs when replies never come', async () => {
    const { session, vts, client } = await open({ closeTimeoutMs: 2000, requestTimeoutMs: 0 });
    const p = session.command(['GET', 'k']);
    const closing = session.close();
    advance(vts, 1999);
    expect(client.destroyed).toBe(false);
    advance(vts, 1);
    await closing;
    expect(client.destroyed).toBe(true);
    expect(hasCode(await rejection(p), 'WW_CONNECTION_CLOSED')).toBe(true);
    expect(vts.actions).toHaveLength(0);
  });
});
