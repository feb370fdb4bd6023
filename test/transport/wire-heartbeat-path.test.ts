/**
 * The heartbeat path of the wire protocol on 127.0.0.1 (real sockets, a real server):
 * pings by hand-encoded frames across every id width, one shared abort listener per
 * signal rather than one per ping, aborts that still reject, and the self-contained
 * handshake (its record shapes never leak into the connection's record tables).
 */
import { getEventListeners } from 'node:events';
import { asyncScheduler } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors.js';
import { tcp } from '../../src/transport/tcp.js';
import { createWireServer, type WireServerOptions } from '../../src/transport/wire-server.js';
import type { WireSession } from '../../src/transport/wire-session.js';
import { wire } from '../../src/transport/wire.js';
import { isRecyclableAbortListener } from '../../src/transport/ping-table.js';
import { MessageType as T } from '../../src/transport/wire-messages.js';
import { RawPeer, duplexPair, waitFor } from './helpers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function connected(opts?: WireServerOptions): Promise<WireSession> {
  const server = createWireServer(opts);
  cleanups.push(() => server.close({ graceful: false }));
  const { port } = (await server.listen()) as { port: number };
  const stream = await tcp().dial({ port }, { connectTimeoutMs: 2000 });
  const session = await wire({ token: opts?.token }).open(stream, {
    signal: new AbortController().signal,
    endpoint: { host: '127.0.0.1', port },
    markAlive: () => {},
    scheduler: asyncScheduler,
  });
  cleanups.push(() => session.destroy());
  return session;
}

/** A wire session over an in-memory stream whose peer is a plain msgpackr codec (no fast path). */
async function openedWithRawPeer(): Promise<{ session: WireSession; peer: RawPeer }> {
  const [client, server] = duplexPair();
  const peer = new RawPeer(server);
  const opening = wire().open(client, {
    signal: new AbortController().signal,
    endpoint: { host: '127.0.0.1', port: 7000 },
    markAlive: () => {},
    scheduler: asyncScheduler,
  });
  await peer.next(T.HELLO);
  peer.send([T.HELLO_OK, { version: 1, clientId: 1 }]);
  return { session: await opening, peer };
}

describe('wire heartbeat path', () => {
  it('300 pings in a row all get their PONG (ids cross the fixint, u8 and u16 encodings)', async () => {
    const session = await connected();
    for (let i = 1; i <= 300; i++) expect(await session.ping()).toBeGreaterThanOrEqual(0);
    expect(session.state).toBe('open');
  });

  it('hand-encoded pings are plain msgpackr to a generic peer, both ways (ids 1–300)', async () => {
    const { session, peer } = await openedWithRawPeer(); // msgpackr's own records codec, no fast path
    for (let i = 1; i <= 300; i++) {
      const rtt = session.ping();
      expect(await peer.next(T.PING)).toEqual([T.PING, i]);
      peer.send([T.PONG, i]);
      expect(await rtt).toBeGreaterThanOrEqual(0);
    }
    session.destroy();
  });

  it('pings on one signal add one shared listener in all, which ignores the signal once no ping waits on it', async () => {
    const session = await connected();
    const ac = new AbortController();
    for (let i = 0; i < 3; i++) {
      await session.ping(ac.signal);
      const listeners = getEventListeners(ac.signal, 'abort');
      expect(listeners).toHaveLength(1);
      expect(isRecyclableAbortListener(listeners[0])).toBe(true);
    }
    ac.abort(new Error('nobody waits')); // no ping pending: nothing happens
    expect(session.state).toBe('open');
    expect(await session.ping(new AbortController().signal)).toBeGreaterThanOrEqual(0);
  });

  it('an aborted ping rejects with WW_ABORTED, its listener goes, and its late PONG is ignored', async () => {
    const { session, peer } = await openedWithRawPeer();
    const ac = new AbortController();
    const first = session.ping(ac.signal);
    const second = session.ping(new AbortController().signal);
    const [, firstId] = await peer.next(T.PING);
    const [, secondId] = await peer.next(T.PING);
    ac.abort(new Error('gave up'));
    const err = await first.then(() => undefined, (e: unknown) => e);
    expect(hasCode(err, 'WW_ABORTED')).toBe(true);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    peer.send([T.PONG, firstId]); // late: dropped silently
    peer.send([T.PONG, secondId]);
    expect(await second).toBeGreaterThanOrEqual(0);
    expect(session.state).toBe('open');
    session.destroy();
  });

  it('payloads shaped like the handshake messages round-trip after it (the handshake defines no lasting record)', async () => {
    const session = await connected({ token: 't0k', handler: (p) => ({ echo: p }) });
    const helloShaped = { version: 9, token: 'not-a-secret' };
    const helloOkShaped = { version: 9, clientId: 3 };
    expect(await session.request(helloShaped)).toEqual({ echo: helloShaped });
    expect(await session.request(helloOkShaped)).toEqual({ echo: helloOkShaped });
    expect(await session.request({ version: 9 })).toEqual({ echo: { version: 9 } });
    await waitFor(() => session.inFlight === 0, 'requests to settle');
  });
});

describe('pingWith (the callback form the connection actor uses)', () => {
  function listener() {
    const calls: Array<[number, boolean]> = [];
    return { calls, probeSettled: (token: number, answered: boolean) => void calls.push([token, answered]) };
  }

  it('reports an answered ping once with its token, an aborted one as not answered, and refuses after close', async () => {
    const session = await connected();
    const l = listener();
    session.pingWith(undefined, l, 7);
    await waitFor(() => l.calls.length === 1);
    expect(l.calls).toEqual([[7, true]]);

    const frozen = await connected({ clientIdleTimeoutMs: 60_000 });
    const controller = new AbortController();
    const l2 = listener();
    // A signal aborted before the ping is refused at once, synchronously.
    const aborted = new AbortController();
    aborted.abort();
    frozen.pingWith(aborted.signal, l2, 1);
    expect(l2.calls).toEqual([[1, false]]);
    frozen.pingWith(controller.signal, l2, 2);
    controller.abort();
    expect(l2.calls).toEqual([[1, false], [2, false]]);

    await session.close();
    const l3 = listener();
    session.pingWith(undefined, l3, 9);
    expect(l3.calls).toEqual([[9, false]]);
    // Exactly once: ending the sessions settles anything still pending, and nothing more comes.
    frozen.destroy();
    await Promise.all([session.closed, frozen.closed]);
    expect(l.calls).toHaveLength(1);
    expect(l2.calls).toHaveLength(2);
  });

  it('reports the PONG of a ping aborted before it came as a late answer, once (the heartbeat measures it)', async () => {
    const session = await connected();
    const settled: Array<[number, boolean]> = [];
    const late: number[] = [];
    const l = {
      probeSettled: (token: number, answered: boolean) => void settled.push([token, answered]),
      probeAnsweredLate: (token: number) => void late.push(token),
    };
    const controller = new AbortController();
    // Aborted before the server's PONG can arrive (a probe that timed out): reported as
    // not answered at once, then as answered late when the PONG comes.
    session.pingWith(controller.signal, l, 4);
    controller.abort();
    expect(settled).toEqual([[4, false]]);
    await waitFor(() => late.length === 1, 'the late PONG');
    expect(late).toEqual([4]);
    // A ping answered in time is not late; nothing more comes for token 4.
    session.pingWith(undefined, l, 5);
    await waitFor(() => settled.length === 2, 'the PONG');
    expect(settled).toEqual([[4, false], [5, true]]);
    expect(late).toEqual([4]);
  });
});
