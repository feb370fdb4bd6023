/**
 * A `resp()` session over an in-memory duplex, in virtual time, with a `ScriptedPeer`
 * playing Redis byte by byte: each reply, timeout and failure placed exactly.
 *
 *   const { session, peer, vts } = await open({ protocolVersion: 3 });
 *   const get = session.command(['GET', 'k']);
 *   await peer.received(1);
 *   peer.send('$1\r\nv\r\n');
 */
import type { Duplex } from 'node:stream';
import { VirtualTimeScheduler } from 'rxjs';
import type { RespSession } from '../../../src/transport/resp-session.js';
import { resp, type RespOptions } from '../../../src/transport/resp.js';
import { duplexPair } from '../helpers.js';
import { ScriptedPeer } from './scripted-peer.js';

export const endpoint = { host: '127.0.0.1', port: 6379 };

/** Starts `open` on a fresh duplex pair (or the given one); the handshake is the test's to answer. */
export function setup(opts?: RespOptions, stream?: Duplex, serverSide?: Duplex) {
  const vts = new VirtualTimeScheduler();
  const [client, server] = stream && serverSide ? [stream, serverSide] : duplexPair();
  const peer = new ScriptedPeer(server);
  const ac = new AbortController();
  let alive = 0;
  const protocol = resp(opts);
  const opening = protocol.open(client, { signal: ac.signal, endpoint, markAlive: () => void alive++, scheduler: vts });
  return { vts, client, peer, ac, protocol, opening, alive: () => alive };
}

/** Opens with the default handshake (a PING, answered); `peer.commands` starts empty. */
export async function open(opts?: RespOptions) {
  const s = setup(opts);
  await s.peer.received(1);
  s.peer.send('+PONG\r\n');
  const session: RespSession = await s.opening;
  s.peer.commands.length = 0;
  return { ...s, session };
}
