/**
 * A PONG that comes after its probe timed out is a round trip all the same (ping ids are
 * unique: no retransmission ambiguity), so it feeds the RTT estimator. Without that, a
 * path that became slower than `minTimeoutMs` makes every probe a false suspicion for as
 * long as the latency lasts: the suspicion ends as plain traffic and the timeout never
 * adapts. Real `wire()` session over an in-memory stream, in virtual time.
 */
import type { Duplex } from 'node:stream';
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

/** A wire peer answering every PING `delayMs` later in virtual time (`null`: never). */
function peer(stream: Duplex, vts: VirtualTimeScheduler) {
  const codec = new MsgpackCodec();
  const state = { delayMs: 0 as number | null, pings: 0 };
  const send = (m: unknown[]) => stream.write(encodeFrame(codec.encode(m)));
  const decoder = new FrameDecoder((frame) => {
    const m = codec.decode(frame) as unknown[];
    if (m[0] === T.HELLO) send([T.HELLO_OK, { version: 1, clientId: 1 }]);
    if (m[0] === T.PING) {
      state.pings++;
      const delayMs = state.delayMs;
      if (delayMs === null) return;
      // Never inside the PING's own write (a socket answers later).
      if (delayMs === 0) setImmediate(() => send([T.PONG, m[1]]));
      else vts.schedule(() => send([T.PONG, m[1]]), delayMs);
    }
  });
  stream.on('data', (c: Buffer) => decoder.push(c));
  return state;
}

function connection() {
  const vts = new VirtualTimeScheduler();
  const [client, server] = duplexPair();
  const state = peer(server, vts);
  const states: string[] = [];
  const actor = createActor(connectionMachine, {
    input: {
      endpoint: { host: '127.0.0.1', port: 7000 },
      protocol: wire(),
      transport: { kind: 'memory', dial: () => Promise.resolve(client) },
      scheduler: vts,
      random: () => 0.5,
      loadSource: () => 0,
      heartbeat: { intervalMs: 1000, minTimeoutMs: 100, maxTimeoutMs: 2000 },
    },
  });
  actor.subscribe((s) => {
    const v = typeof s.value === 'string' ? s.value : Object.keys(s.value)[0]!;
    if (states.at(-1) !== v) states.push(v);
  });
  actor.start();
  return { vts, actor, peer: state, states };
}

describe('a probe answered after its timeout', () => {
  it('is an RTT sample: the timeout grows above a 150 ms latency and suspicions stop', async () => {
    const c = connection();
    // Fast replies first: the estimator settles on the 100 ms floor.
    await advanceTo(c.vts, 4900);
    expect(c.actor.getSnapshot().context).toMatchObject({ probeTimeoutMs: 100, falseSuspicions: 0 });
    c.peer.delayMs = 150;
    await advanceTo(c.vts, 30_000);
    const ctx = c.actor.getSnapshot().context;
    // The first slow probe times out and its late PONG (150 ms) is measured...
    expect(ctx.falseSuspicions).toBeLessThanOrEqual(2);
    expect(ctx.probesFailed).toBeLessThanOrEqual(2);
    // ...so the timeout adapted above the latency, and every later probe is answered in time.
    expect(ctx.probeTimeoutMs).toBeGreaterThan(150);
    expect(ctx.rttMs).toBe(150);
    expect(ctx.srttMs).toBeGreaterThan(100);
    expect(ctx.probesSent).toBe(30); // 500, 1500, …, 29_500
    expect(c.actor.getSnapshot().value).toBe('ready');
    const suspicionsSoFar = ctx.falseSuspicions;
    await advanceTo(c.vts, 60_000);
    expect(c.actor.getSnapshot().context.falseSuspicions).toBe(suspicionsSoFar);
    c.actor.stop();
  });

  it('a peer that never answers still goes suspect → dead within its bound', async () => {
    const c = connection();
    await advanceTo(c.vts, 4900);
    c.peer.delayMs = null;
    // Probe at 5500 (timeout 100), then suspect probes; window (1 + 2) × 2000 = 6000 ms.
    await advanceTo(c.vts, 5500 + 6000 + 1);
    expect(c.actor.getSnapshot().status).toBe('done');
    expect(c.states.slice(-3)).toEqual(['probing', 'suspect', 'dead']);
    expect(c.actor.getSnapshot().context.reason).toBe('heartbeat-timeout');
    expect(c.actor.getSnapshot().context.falseSuspicions).toBe(0);
  });
});
