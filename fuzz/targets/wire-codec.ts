/**
 * Target `wire-codec`: the inbound half of a wire connection without the socket — each
 * frame payload goes through the same steps as in `WireChannel`: PING/PONG by hand
 * (ping-frames.ts), the first frame through `decodeOneOff`, PACKED frames through
 * `parsePackedFrame` + `unpackInner` + `packedMessage`, the rest through the
 * connection's sequential `MsgpackCodec.decode`, then `parseWireMessage`.
 *
 * A case is one connection's inbound stream, decoded by one codec (the record table
 * carries over between frames, as on a real connection); an input is one frame payload:
 * well-formed (encoded by a `WirePeer`), hostile (deep nesting, huge declared lengths,
 * msgpackr extensions, undefined records), a mutation of a well-formed one, or random
 * bytes. Contract checked:
 * - every frame yields a message or throws a coded error (`WW_PROTOCOL_ERROR`), nothing
 *   else; after a throw the case ends (a channel closes the connection);
 * - a decoded message carries plain data only;
 * - while nothing but well-formed frames came, each decodes to the message encoded.
 */
import { MessageType as T, type WireMessage } from '../../src/transport/wire-messages.js';
import { hostileMessage } from '../generators/hostile-msgpack.js';
import { handshake, randomMessage, WirePeer, type WireSide } from '../generators/wire-messages.js';
import { mutate } from '../mutators.js';
import { describeError, isCoded, nonPlain, sameValue } from '../oracles.js';
import { Rng } from '../random.js';
import { runCases, type FuzzTarget, type TargetContext } from '../target.js';
import { WireReceiver } from '../wire-receiver.js';

/** msgpack tags and wire message heads worth splicing into a frame. */
const DICTIONARY = [
  [0x92, 0x0c, 0xc6], [0x93, 0x04], [0x92, 0x09], [0xd4, 0x72, 0x40], [0x40], [0xc1], [0xdd, 0xff, 0xff, 0xff, 0xff],
  [0xd4, 0x69, 0x00], [0xd6, 0x70, 0, 0, 0, 0], [0xd4, 0x65, 0x00], [0xd4, 0x73, 0x00], [0xa9, ...Buffer.from('__proto__')],
].map((b) => Buffer.from(b));

function payloadOf(msg: WireMessage): unknown {
  return 'payload' in msg ? msg.payload : msg;
}

export const wireCodecTarget: FuzzTarget = {
  name: 'wire-codec',
  summary: 'wire frame payloads through the channel decode path (ping, PACKED, sequential msgpack, parseWireMessage)',
  async run(context: TargetContext) {
    const { seed } = context;
    await runCases(context, (index, report) => {
      const rng = Rng.forCase(seed, 'wire-codec', index);
      // Clients and servers decode the other side's messages.
      const side: WireSide = rng.chance(0.5) ? 'client' : 'server';
      const peer = new WirePeer();
      const receiver = new WireReceiver();
      const donors: Buffer[] = [];
      let clean = true; // only well-formed frames so far: expectations hold
      const frames = rng.int(1, 8);
      for (let n = 0; n < frames; n++) {
        const wellFormed = n === 0 ? handshake(rng, side, rng.chance(0.5) ? 'tok' : undefined) : randomMessage(rng, side);
        const encoded = peer.encode(wellFormed, rng.chance(0.2));
        const kind = rng.weighted(n === 0 ? [6, 1, 2, 0.5] : [5, 2, 2, 0.5]);
        const frame =
          kind === 0 ? encoded.payload
          : kind === 1 ? hostileMessage(rng)
          : kind === 2 ? mutate(rng, encoded.payload, { dictionary: DICTIONARY, donors })
          : rng.bytes(rng.size(512));
        if (kind !== 0) clean = false;
        donors.push(encoded.payload);
        report.inputs++;
        let msg: WireMessage;
        const started = performance.now();
        try {
          msg = receiver.receive(frame);
          report.timedInput(performance.now() - started);
        } catch (err) {
          report.timedInput(performance.now() - started);
          if (!isCoded(err)) report.record('uncoded', `frame ${n} threw ${describeError(err)}`, index, frame);
          else if (clean) report.record('mismatch', `well-formed frame ${n} (type ${wellFormed.type}) refused: ${describeError(err)}`, index, frame);
          return;
        }
        const odd = nonPlain(payloadOf(msg));
        if (odd !== undefined) report.record('non-plain', `frame ${n} decoded to a message holding ${odd}`, index, frame);
        if (clean && !sameValue(msg, wellFormed)) {
          report.record('mismatch', `well-formed frame ${n} (type ${wellFormed.type}) decoded to something else`, index, frame);
          return;
        }
        if (msg.type === T.HELLO_ERR) return; // the peer closes after it
      }
    });
  },
};
