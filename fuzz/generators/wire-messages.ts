/**
 * Well-formed wire traffic, encoded exactly as a wirewarden peer encodes it: the
 * handshake by a one-off encoder, PING/PONG by hand, PACKED frames self-contained, and
 * everything else by the peer's own sequential record encoder, in order. A decoder fed
 * these frames in order must return each message unchanged; the fuzzer mutates them to
 * find what it does otherwise.
 */
import { packPacked } from '../../src/transport/framing-packed.js';
import { MsgpackCodec } from '../../src/transport/msgpack-codec.js';
import { encodePingPayload } from '../../src/transport/ping-frames.js';
import { MessageType as T, toWire, WIRE_VERSION, type WireMessage } from '../../src/transport/wire-messages.js';
import type { Rng } from '../random.js';
import { plainValue } from './plain-values.js';

export interface EncodedMessage {
  readonly message: WireMessage;
  /** The frame's payload (no length prefix). */
  readonly payload: Buffer;
}

/** Either side of a wire connection: which message types it sends. */
export type WireSide = 'client' | 'server';

function id(rng: Rng): number {
  return rng.pick([0, 1, 63, 64, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER, rng.int(0, 1_000_000)]);
}

function errorInfo(rng: Rng): { code?: string; message: string } {
  return rng.chance(0.5) ? { code: rng.pick(['WW_REMOTE_ERROR', 'WW_GOAWAY', 'E', '']), message: rng.string(40) } : { message: rng.string(40) };
}

/**
 * A random message a `side` may send (no HELLO/HELLO_OK: see `handshake`).
 */
export function randomMessage(rng: Rng, side: WireSide): WireMessage {
  const payload = (): unknown => plainValue(rng, { maxDepth: rng.chance(0.05) ? 40 : 5 });
  const kinds = side === 'client' ? [T.REQ, T.MSG, T.PING, T.PONG, T.GOAWAY] : [T.RES, T.ERR, T.PUSH, T.PING, T.PONG, T.GOAWAY];
  const type = kinds[rng.weighted(side === 'client' ? [8, 2, 2, 1, 0.2] : [6, 2, 2, 2, 1, 0.2])]!;
  switch (type) {
    case T.REQ:
    case T.RES:
      return { type, id: id(rng), payload: payload() };
    case T.ERR:
      return { type, id: id(rng), error: errorInfo(rng) };
    case T.MSG:
    case T.PUSH:
      return { type, payload: payload() };
    case T.PING:
    case T.PONG:
      return { type, id: id(rng) };
    default:
      return { type: T.GOAWAY, reason: rng.chance(0.5) ? undefined : rng.string(20) };
  }
}

/** The handshake message a `side` opens with. */
export function handshake(rng: Rng, side: WireSide, token: string | undefined): WireMessage {
  if (side === 'client') return { type: T.HELLO, version: rng.chance(0.95) ? WIRE_VERSION : rng.int(0, 3), token };
  return rng.chance(0.8)
    ? { type: T.HELLO_OK, version: WIRE_VERSION, clientId: id(rng) }
    : { type: T.HELLO_ERR, error: errorInfo(rng) };
}

/**
 * One side of a connection: encodes messages as `WireChannel.send` would, in order.
 * `packed` sends REQ/RES/ERR/MSG/PUSH as PACKED frames.
 */
export class WirePeer {
  readonly #codec = new MsgpackCodec();

  encode(message: WireMessage, packed = false): EncodedMessage {
    if (message.type === T.PING || message.type === T.PONG) {
      const ping = encodePingPayload(message.type, message.id);
      if (ping !== undefined) return { message, payload: ping };
    }
    switch (message.type) {
      case T.HELLO:
      case T.HELLO_OK:
      case T.HELLO_ERR:
      case T.GOAWAY:
        return { message, payload: this.#codec.encodeOneOff(toWire(message)) };
      case T.REQ:
      case T.RES:
      case T.ERR:
      case T.MSG:
      case T.PUSH:
        if (packed) return { message, payload: packPacked(toWire(message)) };
        break;
    }
    return { message, payload: this.#codec.encode(toWire(message)) };
  }
}

/** Prefixes a payload with its u32 big-endian length. */
export function frame(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + payload.length);
  out.writeUInt32BE(payload.length, 0);
  payload.copy(out, 4);
  return out;
}
