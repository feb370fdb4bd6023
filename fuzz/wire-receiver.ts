/**
 * The inbound half of a wire connection without its socket: one frame payload at a time,
 * through exactly the steps `WireChannel#onFrame` takes (src/transport/wire-channel.ts):
 * PING/PONG recognised by hand, the first other frame (the handshake) through
 * `decodeOneOff`, PACKED frames through `parsePackedFrame` + `unpackInner` +
 * `packedMessage`, the rest through the connection's sequential `MsgpackCodec.decode`,
 * then `parseWireMessage`. The fuzz target and the property tests share it; if the
 * channel's steps change, this must follow.
 */
import { packedMessage, parsePackedFrame, unpackInner } from '../src/transport/framing-packed.js';
import { MsgpackCodec } from '../src/transport/msgpack-codec.js';
import { parsePingPayload } from '../src/transport/ping-frames.js';
import { parseWireMessage, type WireMessage } from '../src/transport/wire-messages.js';

/** One connection's inbound decoder state (its record table, whether it was greeted). */
export class WireReceiver {
  readonly #codec = new MsgpackCodec();
  #greeted = false;

  /** The message in one frame payload; throws (a coded error, by contract) when there is none. */
  receive(frame: Buffer): WireMessage {
    const ping = parsePingPayload(frame);
    if (ping !== undefined) return ping as WireMessage;
    if (this.#greeted) {
      const inner = parsePackedFrame(frame);
      if (inner !== undefined) return packedMessage(unpackInner(inner));
      return parseWireMessage(this.#codec.decode(frame));
    }
    this.#greeted = true;
    return parseWireMessage(this.#codec.decodeOneOff(frame));
  }
}

