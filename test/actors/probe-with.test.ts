/**
 * The callback probe (`probeWith`) of a real `wire()` session over an in-memory stream,
 * in virtual time: every idle tick probes (the PONG's chunk is not counted as traffic),
 * the RTT is recorded, and other inbound traffic while a probe is out ends `probing`.
 */
import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { connectionMachine } from '../../src/actors/connection-machine.js';
import { FrameDecoder } from '../../src/transport/frame-decoder.js';
import { encodeFrame } from '../../src/transport/frame-writer.js';
import { MsgpackCodec } from '../../src/transport/msgpack-codec.js';
import { MessageType as T } from '../../src/transport/wire-messages.js';
import { wire } from '../../src/transport/wire.js';
import { duplexPair } from '../transport/helpers.js';
import { advanceTo } from './helpers/virtual-connection.js';

/** A wire peer that answers HELLO and, while `answering`, every PING. */
function peer(stream: import('node:stream').Duplex) {
  const codec = new MsgpackCodec();
  const state = { answering: true, pings: 0 };
  const send = (m: unknown[]) => stream.write(encodeFrame(codec.encode(m)));
  const decoder = new FrameDecoder((frame) => {
    const m = codec.decode(frame) as unknown[];
    if (m[0] === T.HELLO) send([T.HELLO_OK, { version: 1, clientId: 1 }]);
    if (m[0] === T.PING) {
      state.pings++;
      // Later, as a socket would: a reply inside the PING's own write would reach the
      // actor while it is still entering `probing`.
      if (state.answering) setImmediate(() => send([T.PONG, m[1]]));
    }
  });
  stream.on('data', (c: Buffer) => decoder.push(c));
  return { state, push: (payload: unknown) => send([T.PUSH, payload]) };
}

function connection() {
  const vts = new VirtualTimeScheduler();
  const [client, server] = duplexPair();
  const p = peer(server);
  const actor = createActor(connectionMachine, {
    input: {
      endpoint: { host: '127.0.0.1', port: 7000 },
      protocol: wire(),
      transport: { kind: 'memory', dial: () => Promise.resolve(client) },
      scheduler: vts,
      random: () => 0.5,
      loadSource: () => 0,
      heartbeat: { intervalMs: 1000, maxTimeoutMs: 300 },
    },
  });
  actor.start();
  return { vts, actor, peer: p };
}

describe('probeWith over wire()', () => {
  it('probes on every idle tick and records each RTT (a reply is not traffic)', async () => {
    const c = connection();
    await advanceTo(c.vts, 5600);
    const ctx = c.actor.getSnapshot().context;
    expect(c.peer.state.pings).toBe(6); // 500, 1500, …, 5500
    expect(ctx).toMatchObject({ probesSent: 6, probesFailed: 0, falseSuspicions: 0 });
    expect(ctx.rttMs).toBe(0); // virtual time stands still while the stream answers
    expect(c.actor.getSnapshot().value).toBe('ready');
    c.actor.stop();
  });

  it('a push while the probe is out ends probing at once; the late PONG is ignored', async () => {
    const c = connection();
    await advanceTo(c.vts, 400);
    c.peer.state.answering = false;
    await advanceTo(c.vts, 500);
    expect(c.actor.getSnapshot().value).toBe('probing');
    c.peer.push({ hello: 'world' });
    await advanceTo(c.vts, 510);
    expect(c.actor.getSnapshot().value).toBe('ready');
    expect(c.actor.getSnapshot().context).toMatchObject({ probesSent: 1, probesFailed: 0, since: 500 });
    c.actor.stop();
  });
});
