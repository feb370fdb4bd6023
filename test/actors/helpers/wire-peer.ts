/**
 * A connection actor over a real `wire()` session on an in-memory stream, in virtual time,
 * with a scripted peer at the other end: it answers HELLO and every PING `delayMs` later
 * (0: on the next turn, as a socket would; `null`: never), and can push.
 */
import type { Duplex } from 'node:stream';
import { VirtualTimeScheduler } from 'rxjs';
import { createActor } from 'xstate';
import { connectionMachine } from '../../../src/actors/connection-machine.js';
import type { HeartbeatInput } from '../../../src/actors/connection-types.js';
import { FrameDecoder } from '../../../src/transport/frame-decoder.js';
import { encodeFrame } from '../../../src/transport/frame-writer.js';
import { MsgpackCodec } from '../../../src/transport/msgpack-codec.js';
import { MessageType as T } from '../../../src/transport/wire-messages.js';
import { wire } from '../../../src/transport/wire.js';
import { duplexPair } from '../../transport/helpers.js';

export interface WirePeerState {
  /** Delay before each PONG in virtual ms; 0 answers on the next turn, `null` never. */
  delayMs: number | null;
  /** PINGs received. */
  pings: number;
}

export function wirePeer(stream: Duplex, vts: VirtualTimeScheduler): { state: WirePeerState; push(payload: unknown): void } {
  const codec = new MsgpackCodec();
  const state: WirePeerState = { delayMs: 0, pings: 0 };
  const send = (m: unknown[]) => stream.write(encodeFrame(codec.encode(m)));
  const decoder = new FrameDecoder((frame) => {
    const m = codec.decode(frame) as unknown[];
    if (m[0] === T.HELLO) send([T.HELLO_OK, { version: 1, clientId: 1 }]);
    if (m[0] === T.PING) {
      state.pings++;
      const delayMs = state.delayMs;
      if (delayMs === null) return;
      // Never inside the PING's own write: a reply there would reach the actor while it
      // is still entering `probing`.
      if (delayMs === 0) setImmediate(() => send([T.PONG, m[1]]));
      else vts.schedule(() => send([T.PONG, m[1]]), delayMs);
    }
  });
  stream.on('data', (c: Buffer) => decoder.push(c));
  return { state, push: (payload) => send([T.PUSH, payload]) };
}

/** A started connection actor whose peer is a {@link wirePeer}; `states` lists top-level states entered. */
export function wirePeerConnection(heartbeat: HeartbeatInput) {
  const vts = new VirtualTimeScheduler();
  const [client, server] = duplexPair();
  const peer = wirePeer(server, vts);
  const states: string[] = [];
  const actor = createActor(connectionMachine, {
    input: {
      endpoint: { host: '127.0.0.1', port: 7000 },
      protocol: wire(),
      transport: { kind: 'memory', dial: () => Promise.resolve(client) },
      scheduler: vts,
      random: () => 0.5,
      loadSource: () => 0,
      heartbeat,
    },
  });
  actor.subscribe((s) => {
    const v = typeof s.value === 'string' ? s.value : Object.keys(s.value)[0]!;
    if (states.at(-1) !== v) states.push(v);
  });
  actor.start();
  return { vts, actor, peer, states };
}
