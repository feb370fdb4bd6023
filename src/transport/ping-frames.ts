/**
 * PING and PONG payloads (`[9, id]`, `[10, id]`) encoded and recognised by hand.
 *
 * Every idle connection exchanges one of each per heartbeat, so at 10k connections they
 * are most of the frames a process handles. Going through msgpackr for them costs a
 * `Packr` per connection (~2 KB of encoder state, kept for the connection's life) and,
 * per frame, the generic decoder, an array and a validation pass. These few bytes are
 * plain msgpack — a fixarray of two unsigned integers, no record — so:
 *
 *   0x92 │ 0x09 or 0x0a │ id: fixint (< 0x40) │ 0xcc u8 │ 0xcd u16 │ 0xce u32
 *
 * - Encoding writes exactly what msgpackr writes for the same array (tested). With
 *   records on, bytes 0x40–0x7f are record references, not integers, so ids from 64 take
 *   the u8 form. Ids of 2^32 and above (after four billion pings) take the generic path.
 * - Recognition accepts exactly these layouts, with no trailing byte; anything else (a
 *   uint64 id, an encoder that chose a wider form) returns `undefined` and takes the
 *   generic, validating path. A frame without a record leaves msgpackr's sequential
 *   record tables untouched, so skipping the codec for it keeps both peers in step.
 */
import { MessageType } from './wire-messages.js';

export type PingType = typeof MessageType.PING | typeof MessageType.PONG;

const FIXARRAY_2 = 0x92;
/** Positive fixints from here on are record references when records are on. */
const FIRST_RECORD_ID = 0x40;
const UINT8 = 0xcc;
const UINT16 = 0xcd;
const UINT32 = 0xce;

/**
 * The msgpack payload of `[type, id]`, or `undefined` for an id this path does not cover.
 * With `roomBytes`, the payload starts that far into the buffer (room for a frame header,
 * see `FrameWriter.writeFramed`).
 *
 * @example
 * encodePingPayload(MessageType.PING, 300); // <92 09 cd 01 2c>
 * encodePingPayload(MessageType.PING, 100); // <92 09 cc 64>
 */
export function encodePingPayload(type: PingType, id: number, roomBytes = 0): Buffer | undefined {
  if (!(id >= 0 && id <= 0xffffffff && Number.isInteger(id))) return undefined;
  const r = roomBytes;
  let out: Buffer;
  if (id < FIRST_RECORD_ID) {
    out = Buffer.allocUnsafe(r + 3);
    out[r + 2] = id;
  } else if (id <= 0xff) {
    out = Buffer.allocUnsafe(r + 4);
    out[r + 2] = UINT8;
    out[r + 3] = id;
  } else if (id <= 0xffff) {
    out = Buffer.allocUnsafe(r + 5);
    out[r + 2] = UINT16;
    out.writeUInt16BE(id, r + 3);
  } else {
    out = Buffer.allocUnsafe(r + 7);
    out[r + 2] = UINT32;
    out.writeUInt32BE(id, r + 3);
  }
  out[r] = FIXARRAY_2;
  out[r + 1] = type;
  return out;
}

/**
 * `{ type, id }` when `payload` is a PING or PONG in one of the layouts above, else
 * `undefined` (decode it the generic way).
 *
 * @example
 * parsePingPayload(Buffer.from([0x92, 0x0a, 0x07])); // { type: 10, id: 7 }
 */
export function parsePingPayload(payload: Buffer): { type: PingType; id: number } | undefined {
  const length = payload.length;
  if (length < 3 || length > 7 || payload[0] !== FIXARRAY_2) return undefined;
  const type = payload[1];
  if (type !== MessageType.PING && type !== MessageType.PONG) return undefined;
  const head = payload[2]!;
  let id: number;
  if (head < FIRST_RECORD_ID && length === 3) id = head;
  else if (head === UINT8 && length === 4) id = payload[3]!;
  else if (head === UINT16 && length === 5) id = payload.readUInt16BE(3);
  else if (head === UINT32 && length === 7) id = payload.readUInt32BE(3);
  else return undefined;
  return { type, id };
}
