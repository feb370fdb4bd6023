/**
 * The PACKED wire message: `[PACKED, inner: bin]`, where `inner` is a self-contained
 * msgpackr encoding of an ordinary wire message array (`[REQ, id, payload]`,
 * `[RES, id, payload]`, `[MSG, payload]`, `[PUSH, payload]`, …).
 *
 *   0x92 │ 0x0c │ 0xc4 u8 │ 0xc5 u16 │ 0xc6 u32 (length of inner) │ inner …
 *
 * Why a separate message: each direction of a wire connection is encoded with msgpackr
 * records in `sequential` mode (msgpack-codec.ts), so an ordinary frame can only be
 * decoded by the connection's own decoder, in stream order — never by a worker thread.
 * `inner` is encoded by an encoder that defines every record it uses within `inner`
 * itself, so it decodes anywhere, in any order; and the outer frame carries no record,
 * so neither peer's sequential record table moves (the same argument as ping-frames.ts).
 *
 * Trade-offs:
 * - The outer frame is written and recognised by hand, like PING/PONG: no encoder state,
 *   and no copy of `inner` on the receiving side (`parsePackedFrame` returns a view).
 *   We always write the bin32 form (a fixed 7-byte header the worker can fill in); any
 *   bin form another encoder chooses is accepted.
 * - `inner` uses records defined per message (a few bytes per shape per message) rather
 *   than plain maps: records decode ~2× faster for arrays of objects, which are what big
 *   payloads usually are. An Unpackr with `useRecords` reads plain msgpack too.
 * - Decoding uses the same options as the connection's decoder (records on, so plain
 *   msgpack maps come out as `Map`s), so a message decoded from `inner` — here or in a
 *   worker — equals what the same message sent unpacked would have decoded to.
 * - Errors are `ProtocolError`s whose text never quotes the value (msgpackr's message for
 *   trailing bytes does, and a payload may hold a token).
 * - A peer's `inner` passes the same plain-data gate as every other frame
 *   (msgpack-plain.ts), here or on the worker, before msgpackr decodes it. The slices a
 *   worker sends back are our own encoding of a value that passed it, so the main thread
 *   rebuilds them without walking them again (`unpackOwnInner`).
 */
import { Packr, Unpackr } from 'msgpackr';
import { ProtocolError } from '../errors.js';
import { sanitizeDecodeError } from './msgpack-failure.js';
import { assertPlainMsgpack, PLAIN_ENCODER_OPTIONS, RecordLedger } from './msgpack-plain.js';
import { noCompileUnpackrClass } from './msgpack-unpackr.js';
import { MessageType, parseWireMessage, type WireMessage } from './wire-messages.js';
import { describeFailure } from './wire-server-failure.js';

/** The wire message type of PACKED (12, the next free number after GOAWAY). */
export const PACKED_TYPE = MessageType.PACKED;

/** Bytes before `inner` in a PACKED payload we write: fixarray, type, bin32 tag, u32 length. */
export const PACKED_HEADER_BYTES = 7;

const FIXARRAY_2 = 0x92;
const BIN8 = 0xc4;
const BIN16 = 0xc5;
const BIN32 = 0xc6;

// Not `sequential`, and no shared structures: every `pack` defines the records it uses.
const INNER_OPTIONS = { useRecords: true } as const;
const INNER_ENCODER_OPTIONS = { ...INNER_OPTIONS, ...PLAIN_ENCODER_OPTIONS } as const;

let innerPackr: Packr | undefined;
let innerUnpackr: Unpackr | undefined;
let innerNoCompileUnpackr: Unpackr | undefined;

/**
 * Writes the 7-byte PACKED header for an `inner` of `innerBytes` at `offset` of `target`.
 *
 * @example
 * const payload = Buffer.allocUnsafe(PACKED_HEADER_BYTES + inner.length);
 * writePackedHeader(payload, 0, inner.length);
 * payload.set(inner, PACKED_HEADER_BYTES);
 */
export function writePackedHeader(target: Uint8Array, offset: number, innerBytes: number): void {
  target[offset] = FIXARRAY_2;
  target[offset + 1] = PACKED_TYPE;
  target[offset + 2] = BIN32;
  target[offset + 3] = (innerBytes >>> 24) & 0xff;
  target[offset + 4] = (innerBytes >>> 16) & 0xff;
  target[offset + 5] = (innerBytes >>> 8) & 0xff;
  target[offset + 6] = innerBytes & 0xff;
}

/**
 * The `inner` of a PACKED frame payload (a view, not a copy), or `undefined` when the
 * payload is not a PACKED message. Throws `ProtocolError` for a payload that starts as
 * PACKED but whose bin length does not match the bytes that follow.
 *
 * @example
 * const inner = parsePackedFrame(frame);
 * if (inner !== undefined) dispatch(parseWireMessage(unpackInner(inner)));
 */
export function parsePackedFrame(frame: Uint8Array): Uint8Array | undefined {
  if (frame.length < 3 || frame[0] !== FIXARRAY_2 || frame[1] !== PACKED_TYPE) return undefined;
  const tag = frame[2]!;
  let start: number;
  let length: number;
  if (tag === BIN8 && frame.length >= 4) {
    start = 4;
    length = frame[3]!;
  } else if (tag === BIN16 && frame.length >= 5) {
    start = 5;
    length = frame[3]! * 0x100 + frame[4]!;
  } else if (tag === BIN32 && frame.length >= PACKED_HEADER_BYTES) {
    start = PACKED_HEADER_BYTES;
    length = frame[3]! * 0x1000000 + frame[4]! * 0x10000 + frame[5]! * 0x100 + frame[6]!;
  } else {
    throw new ProtocolError(`malformed PACKED message: field 2 must be a bin, got tag 0x${tag.toString(16)} in ${frame.length} bytes`);
  }
  if (start + length !== frame.length) {
    throw new ProtocolError(`malformed PACKED message: bin of ${length} bytes declared, ${frame.length - start} present`);
  }
  return frame.subarray(start, frame.length);
}

/**
 * Encodes `value` (a wire message array) as a self-contained `inner`. The result is a
 * view into the encoder's block, shared with other results: copy it before transferring
 * it to another thread. Throws `ProtocolError` for a value msgpack cannot encode.
 */
export function packInner(value: unknown): Buffer {
  try {
    return (innerPackr ??= new Packr({ ...INNER_ENCODER_OPTIONS })).pack(value);
  } catch (err) {
    // Records are per message here, so no peer table is out of step; a fresh encoder just
    // drops whatever state the half-written value left behind.
    innerPackr = undefined;
    const text = describeFailure(err).message; // the payload's own getters may have thrown anything
    throw new ProtocolError(`payload cannot be encoded as msgpack: ${text.slice(0, 120)}`);
  }
}

/** The whole PACKED frame payload (header + inner) for `value`, in one new buffer. */
export function packPacked(value: unknown): Buffer {
  const inner = packInner(value);
  const out = Buffer.allocUnsafe(PACKED_HEADER_BYTES + inner.length);
  writePackedHeader(out, 0, inner.length);
  out.set(inner, PACKED_HEADER_BYTES);
  return out;
}

/**
 * Decodes one `inner` a peer sent; throws `ProtocolError` on malformed input (truncated,
 * trailing bytes, …) and on anything but plain msgpack data (msgpack-plain.ts). `ledger`
 * (cleared here: an inner defines its own records) carries the compile allowance of the
 * connection decoding it on its own thread (`codec.packedLedger`); a worker's is per inner.
 */
export function unpackInner(inner: Uint8Array, ledger = new RecordLedger()): unknown {
  ledger.clear();
  assertPlainMsgpack(inner, 'PACKED inner', ledger);
  if (!ledger.allowance.spent) return unpackOwnInner(inner);
  // Past the compile allowance (msgpack-unpackr.ts): the same decode without compiling.
  return unpackWith((innerNoCompileUnpackr ??= new (noCompileUnpackrClass())({ ...INNER_OPTIONS })), inner);
}

/**
 * Decodes bytes this process's own `packInner` wrote from a value that passed the gate
 * (a framing worker's slices): no second walk. Throws `ProtocolError` if they are malformed.
 */
export function unpackOwnInner(inner: Uint8Array): unknown {
  return unpackWith((innerUnpackr ??= new Unpackr({ ...INNER_OPTIONS })), inner);
}

function unpackWith(unpackr: Unpackr, inner: Uint8Array): unknown {
  try {
    return unpackr.unpack(inner);
  } catch (err) {
    throw new ProtocolError(`undecodable PACKED inner of ${inner.length} bytes`, { cause: sanitizeDecodeError(err) });
  }
}

/**
 * Validates a decoded `inner`: a wire message that carries user data (REQ, RES, ERR, MSG,
 * PUSH). Handshake, heartbeat, GOAWAY and nested PACKED messages are a `ProtocolError`.
 */
export function packedMessage(value: unknown): WireMessage {
  const msg = parseWireMessage(value);
  switch (msg.type) {
    case MessageType.REQ:
    case MessageType.RES:
    case MessageType.ERR:
    case MessageType.MSG:
    case MessageType.PUSH:
      return msg;
    default:
      throw new ProtocolError(`malformed PACKED message: it may carry REQ, RES, ERR, MSG or PUSH, not type ${msg.type}`);
  }
}
