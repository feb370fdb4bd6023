/**
 * What a hostile wire client sends: openings (a valid HELLO, a bad token or version, or
 * pre-auth garbage) and the hostile frame that ends a batch.
 */
import { MsgpackCodec } from '../../src/transport/msgpack-codec.js';
import { MessageType as T, WIRE_VERSION } from '../../src/transport/wire-messages.js';
import { mutate, tamperFrameLength } from '../mutators.js';
import type { Rng } from '../random.js';
import { hostileMessage } from './hostile-msgpack.js';
import { frame, randomMessage, WirePeer } from './wire-messages.js';

/** What the opening of a case is, and its bytes. */
export function opening(rng: Rng, peer: WirePeer, token: string): { bytes: Buffer; validHello: boolean } {
  const hello = (token: string | undefined, version = WIRE_VERSION) => frame(peer.encode({ type: T.HELLO, version, token }).payload);
  switch (rng.weighted([80, 3, 2, 3, 2, 2, 2, 2, 2, 2])) {
    case 0:
      return { bytes: hello(token), validHello: true };
    case 1:
      return { bytes: hello(rng.chance(0.5) ? undefined : rng.string(40)), validHello: false };
    case 2:
      return { bytes: hello(token, rng.int(2, 1000)), validHello: false };
    case 3:
      return { bytes: rng.bytes(rng.size(4096) + 1), validHello: false };
    case 4: {
      // A length no HELLO needs, then a trickle of its body.
      const header = Buffer.allocUnsafe(4);
      header.writeUInt32BE(rng.pick([4096, 65_536, 1 << 20, 16 << 20, 0xffffffff]));
      return { bytes: Buffer.concat([header, rng.bytes(rng.size(1024))]), validHello: false };
    }
    case 5:
      return { bytes: frame(hostileMessage(rng)), validHello: false };
    case 6:
      return { bytes: frame(new WirePeer().encode(randomMessage(rng, 'client'), rng.chance(0.5)).payload), validHello: false };
    case 7:
      // A HELLO padded far past any token's size.
      return { bytes: frame(new MsgpackCodec().encodeOneOff([T.HELLO, { version: WIRE_VERSION, token, pad: 'x'.repeat(rng.pick([5000, 70_000, 1 << 20])) }])), validHello: false };
    case 8:
      return { bytes: mutate(rng, hello(token)), validHello: false };
    default:
      return { bytes: tamperFrameLength(rng, hello(token), [0], 1 << 20), validHello: false };
  }
}

/** A hostile last frame for a batch, given a well-formed one to spoil. */
export function hostileFrame(rng: Rng, wellFormed: Buffer, donors: readonly Buffer[]): Buffer {
  switch (rng.weighted([4, 3, 3, 1, 1, 1])) {
    case 0:
      return mutate(rng, wellFormed, { donors });
    case 1:
      return tamperFrameLength(rng, wellFormed, [0], 16 << 20);
    case 2:
      return frame(hostileMessage(rng));
    case 3:
      return frame(new MsgpackCodec().encodeOneOff([T.HELLO, { version: WIRE_VERSION, token: 'a second HELLO' }]));
    case 4:
      return Buffer.concat([wellFormed.subarray(0, 4), rng.bytes(rng.size(256))]);
    default:
      return rng.bytes(rng.size(512) + 1);
  }
}
