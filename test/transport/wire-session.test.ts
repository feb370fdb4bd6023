/**
 * The wire client session over an in-memory duplex, in virtual time: a scripted peer
 * plays the server, frame by frame.
 */
import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { hasCode } from '../../src/errors.js';
import { encodeFrame } from '../../src/transport/frame-writer.js';
import { MessageType as T } from '../../src/transport/wire-messages.js';
import { wire, type WireOptions } from '../../src/transport/wire.js';
import type { WireSession } from '../../src/transport/wire-session.js';
import { advance, duplexPair, RawPeer, turn, waitFor, rejection } from './helpers.js';

function setup(opts?: WireOptions) {
  const vts = new VirtualTimeScheduler();
  const [client, server] = duplexPair();
  const peer = new RawPeer(server);
  const ac = new AbortController();
  let alive = 0;
  const opening = wire(opts).open(client, {
    signal: ac.signal,
    endpoint: { host: '127.0.0.1', port: 7000 },
    markAlive: () => void alive++,
    scheduler: vts,
  });
  return { vts, client, peer, ac, opening, alive: () => alive };
}

async function open(opts?: WireOptions) {
  const s = setup(opts);
  const hello = await s.peer.next(T.HELLO);
  s.peer.send([T.HELLO_OK, { version: 1, clientId: 7 }]);
  const session: WireSession = await s.opening;
  return { ...s, session, hello };
}

describe('wire session: handshake', () => {
  it('sends HELLO with version and token, resolves on HELLO_OK, and never exposes the token', async () => {
    const { session, hello, alive } = await open({ token: 'tok-123' });
    expect(hello).toEqual([T.HELLO, { version: 1, token: 'tok-123' }]);
    expect(session.clientId).toBe(7);
    expect(session.state).toBe('open');
    expect(alive()).toBeGreaterThan(0);
    expect(JSON.stringify(session)).toBe('{"clientId":7,"state":"open","inFlight":0}');
    expect(JSON.stringify(wire({ token: 'tok-123' }))).not.toContain('tok-123');
  });

  it('rejects HandshakeRefusedError on HELLO_ERR (a bad token or version: permanent) and destroys the stream', async () => {
    const s = setup({ token: 'wrong-token' });
    await s.peer.next(T.HELLO);
    s.peer.send([T.HELLO_ERR, { code: 'WW_HANDSHAKE_FAILED', message: 'bad token' }]);
    const err = await rejection(s.opening);
    expect(hasCode(err, 'WW_HANDSHAKE_REFUSED')).toBe(true);
    expect(err.message).toBe('handshake with 127.0.0.1:7000 refused: bad token');
    expect(err.message).not.toContain('wrong-token');
    await waitFor(() => s.client.destroyed, 'client stream destroyed');
  });

  it('rejects HandshakeFailedError when ctx.signal aborts, and destroys the stream', async () => {
    const s = setup();
    await s.peer.next(T.HELLO);
    s.ac.abort(new Error('handshake timeout'));
    const err = await rejection(s.opening);
    expect(hasCode(err, 'WW_HANDSHAKE_FAILED')).toBe(true);
    expect(hasCode(err.cause, 'WW_ABORTED')).toBe(true);
    expect(s.client.destroyed).toBe(true);
  });

  it('rejects HandshakeFailedError when the peer closes first', async () => {
    const s = setup();
    await s.peer.next(T.HELLO);
    s.peer.socket.destroy();
    const err = await rejection(s.opening);
    expect(err.message).toMatch(/closed during the handshake/);
  });

  it('rejects HandshakeFailedError (cause ProtocolError) when the first reply is not HELLO_OK/ERR', async () => {
    const s = setup();
    await s.peer.next(T.HELLO);
    s.peer.send([T.RES, 1, 'x']);
    const err = await rejection(s.opening);
    expect(hasCode(err, 'WW_HANDSHAKE_FAILED')).toBe(true);
    expect(hasCode(err.cause, 'WW_PROTOCOL_ERROR')).toBe(true);
  });
});

describe('wire session: requests', () => {
  it('pipelines requests and matches out-of-order replies by id', async () => {
    const { session, peer } = await open();
    const calls = [session.request('a'), session.request('b'), session.request('c')];
    expect(session.inFlight).toBe(3);
    const reqs = [await peer.next(T.REQ), await peer.next(T.REQ), await peer.next(T.REQ)];
    for (const [, id, payload] of reqs.reverse()) peer.send([T.RES, id, `re:${String(payload)}`]);
    expect(await Promise.all(calls)).toEqual(['re:a', 're:b', 're:c']);
    expect(session.inFlight).toBe(0);
  });

  it('times out with the session default using one shared timer, and ignores late replies', async () => {
    const { session, peer, vts } = await open({ requestTimeoutMs: 1000 });
    const before = vts.actions.length;
    const calls = [session.request(1), session.request(2), session.request(3)].map((p) => rejection(p));
    expect(vts.actions.length - before).toBe(1);
    advance(vts, 999);
    expect(session.inFlight).toBe(3);
    advance(vts, 101); // within the coarse resolution (100 ms for a 1 s timeout)
    const errs = await Promise.all(calls);
    expect(errs.every((e) => hasCode(e, 'WW_REQUEST_TIMEOUT'))).toBe(true);
    expect(errs[0]!.message).toBe('request 1 to 127.0.0.1:7000 timed out after 1000 ms');
    peer.send([T.RES, 1, 'late']);
    await turn(3);
    expect(session.state).toBe('open');
    expect(vts.actions.filter((a) => !a.closed)).toHaveLength(0);
  });

  it('uses a precise timer of its own when a call passes timeoutMs', async () => {
    const { session, vts } = await open({ requestTimeoutMs: 0 });
    const err = rejection(session.request('x', { timeoutMs: 250 }));
    advance(vts, 249);
    expect(session.inFlight).toBe(1);
    advance(vts, 1);
    expect((await err).message).toMatch(/timed out after 250 ms/);
  });

  it('arms no timer at all when no timeout applies', async () => {
    const { session, vts } = await open({ requestTimeoutMs: 0 });
    const before = vts.actions.length;
    const pending = rejection(session.request('x'));
    expect(vts.actions.length).toBe(before);
    session.destroy();
    expect(hasCode(await pending, 'WW_CONNECTION_CLOSED')).toBe(true);
  });

  it('rejects a bad per-call timeoutMs with InvalidOptionError', async () => {
    const { session } = await open();
    const err = await rejection(session.request('x', { timeoutMs: 0 }));
    expect(err.message).toBe('request.timeoutMs must be an integer in [1, 2147483647] (ms), got 0');
    session.destroy();
  });

  it('aborts a request through its signal', async () => {
    const { session } = await open();
    const ac = new AbortController();
    const err = rejection(session.request('x', { signal: ac.signal }));
    ac.abort();
    expect(hasCode(await err, 'WW_ABORTED')).toBe(true);
    expect(session.inFlight).toBe(0);
    session.destroy();
  });

  it('maps ERR to RemoteError (code in cause) and WW_GOAWAY to GoawayError', async () => {
    const { session, peer } = await open();
    const a = rejection(session.request('a'));
    const b = rejection(session.request('b'));
    peer.send([T.ERR, 1, { code: 'E_NOPE', message: 'no such key' }]);
    peer.send([T.ERR, 2, { code: 'WW_GOAWAY', message: 'going away' }]);
    const ea = await a;
    expect(hasCode(ea, 'WW_REMOTE_ERROR')).toBe(true);
    expect(ea.message).toBe('request 1 failed on 127.0.0.1:7000: no such key');
    expect((ea.cause as { code?: string }).code).toBe('E_NOPE');
    expect(hasCode(await b, 'WW_GOAWAY')).toBe(true);
    session.destroy();
  });

  it('refuses an unencodable payload with ProtocolError and keeps the record stream in sync', async () => {
    const { session, peer } = await open();
    const err = await rejection(session.request({ big: 1n << 80n }));
    expect(hasCode(err, 'WW_PROTOCOL_ERROR')).toBe(true);
    expect(err.message).toMatch(/^payload cannot be encoded as msgpack/);
    expect(session.inFlight).toBe(0);
    const ok = session.request({ big: 'same shape, now encodable' });
    const [, id, payload] = await peer.next(T.REQ);
    expect(payload).toEqual({ big: 'same shape, now encodable' });
    peer.send([T.RES, id, 'fine']);
    expect(await ok).toBe('fine');
    session.destroy();
  });

  it('sends one-way messages and answers server PINGs with PONG', async () => {
    const { session, peer } = await open();
    session.send({ event: 'x' });
    expect(await peer.next(T.MSG)).toEqual([T.MSG, { event: 'x' }]);
    peer.send([T.PING, 41]);
    expect(await peer.next(T.PONG)).toEqual([T.PONG, 41]);
    session.destroy();
  });

  it('measures ping RTT on the scheduler', async () => {
    const { session, peer, vts } = await open();
    const rtt = session.ping();
    const [, id] = await peer.next(T.PING);
    advance(vts, 25);
    peer.send([T.PONG, id]);
    expect(await rtt).toBe(25);
    session.destroy();
  });

  it('delivers pushes; a throwing listener becomes a warning, not a dead connection', async () => {
    const { session, peer } = await open();
    const got: unknown[] = [];
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    session.onPush(() => {
      throw new Error('listener bug');
    });
    const off = session.onPush((p) => got.push(p));
    peer.send([T.PUSH, { n: 1 }]);
    await waitFor(() => got.length === 1, 'push');
    expect(warn).toHaveBeenCalledTimes(1);
    off();
    peer.send([T.PUSH, { n: 2 }]);
    const pending = session.request('still-alive');
    const [, id] = await peer.next(T.REQ);
    peer.send([T.RES, id, 'yes']);
    expect(await pending).toBe('yes');
    expect(got).toEqual([{ n: 1 }]);
    warn.mockRestore();
    session.destroy();
  });
});

describe('wire session: bad input kills only this connection', () => {
  it('garbage bytes destroy the stream with ProtocolError; pending calls reject ConnectionClosedError', async () => {
    const { session, peer, client } = await open();
    const closed = new Promise<Error | undefined>((resolve) => session.onClose(resolve));
    const pending = rejection(session.request('x'));
    peer.socket.write(Buffer.from([0, 0, 0, 3, 0xc1, 0xff, 0x00]));
    const error = await closed;
    expect(hasCode(error, 'WW_PROTOCOL_ERROR')).toBe(true);
    expect(client.destroyed).toBe(true);
    const err = await pending;
    expect(hasCode(err, 'WW_CONNECTION_CLOSED')).toBe(true);
    expect(hasCode(err.cause, 'WW_PROTOCOL_ERROR')).toBe(true);
    expect(session.state).toBe('closed');
  });

  it('onClose added after the session closed is called once, on a microtask, with the error it closed with; its unsubscribe cancels that', async () => {
    const { session, peer } = await open();
    peer.socket.write(Buffer.from([0, 0, 0, 3, 0xc1, 0xff, 0x00]));
    await session.closed;
    expect(session.state).toBe('closed');
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
  });

  it('an oversized length header destroys the stream with FrameTooLargeError', async () => {
    const { session, peer } = await open({ maxFrameBytes: 1024 });
    const closed = new Promise<Error | undefined>((resolve) => session.onClose(resolve));
    peer.socket.write(Buffer.from([0x7f, 0xff, 0xff, 0xff]));
    const error = await closed;
    expect(hasCode(error, 'WW_FRAME_TOO_LARGE')).toBe(true);
    expect(error!.message).toBe('frame of 2147483647 bytes exceeds maxFrameBytes 1024');
  });

  it('a reply to a request never sent is a ProtocolError', async () => {
    const { session, peer } = await open();
    const closed = new Promise<Error | undefined>((resolve) => session.onClose(resolve));
    peer.send([T.RES, 99, 'x']);
    expect((await closed)?.message).toMatch(/reply to request 99, which was never sent/);
  });

  it('a valid frame with an unexpected type is a ProtocolError', async () => {
    const { session, peer } = await open();
    const closed = new Promise<Error | undefined>((resolve) => session.onClose(resolve));
    peer.socket.write(encodeFrame(peer.codec.encode([T.REQ, 1, 'server may not send REQ'])));
    expect(hasCode(await closed, 'WW_PROTOCOL_ERROR')).toBe(true);
  });
});

describe('wire session: GOAWAY and close', () => {
  it('after the server GOAWAY: new requests fail, in-flight ones complete, then the stream ends', async () => {
    const { session, peer } = await open();
    const inflight = session.request('slow');
    const [, id] = await peer.next(T.REQ);
    peer.send([T.GOAWAY, { reason: 'deploy' }]);
    await waitFor(() => session.state === 'goaway', 'goaway state');
    const refused = await rejection(session.request('new'));
    expect(hasCode(refused, 'WW_GOAWAY')).toBe(true);
    expect(() => session.send('m')).toThrowError(/going away/);
    let ended = false;
    peer.socket.on('end', () => (ended = true));
    peer.socket.resume();
    await turn(3);
    expect(ended).toBe(false);
    peer.send([T.RES, id, 'done']);
    expect(await inflight).toBe('done');
    await waitFor(() => ended, 'client to end its side');
    peer.socket.end();
    await session.closed;
    expect(session.state).toBe('closed');
  });

  it('close() sends GOAWAY, waits for in-flight requests, ends, and resolves when the peer closes', async () => {
    const { session, peer } = await open();
    const inflight = session.request('x');
    const [, id] = await peer.next(T.REQ);
    let closed = false;
    const closing = session.close().then(() => (closed = true));
    expect(await peer.next(T.GOAWAY)).toEqual([T.GOAWAY, { reason: 'client closing' }]);
    expect(hasCode(await rejection(session.request('y')), 'WW_CONNECTION_CLOSED')).toBe(true);
    await turn(3);
    expect(closed).toBe(false);
    peer.send([T.RES, id, 'ok']);
    expect(await inflight).toBe('ok');
    peer.socket.on('end', () => peer.socket.end());
    await closing;
    expect(session.state).toBe('closed');
  });

  it('close() is bounded by closeTimeoutMs: a stuck request is rejected and the stream destroyed', async () => {
    const { session, vts, client } = await open({ closeTimeoutMs: 500, requestTimeoutMs: 0 });
    const stuck = rejection(session.request('never answered'));
    const closing = session.close();
    advance(vts, 499);
    await turn(2);
    expect(client.destroyed).toBe(false);
    advance(vts, 1);
    await closing;
    expect(client.destroyed).toBe(true);
    expect(hasCode(await stuck, 'WW_CONNECTION_CLOSED')).toBe(true);
    expect(vts.actions.filter((a) => !a.closed)).toHaveLength(0);
  });
});
