/**
 * The default `FrameInspector`: wirewarden's wire protocol (docs/wire-protocol.md), whose
 * frame payload is one msgpack array `[type, ...fields]`.
 *
 * Classification reads only the array header and the first element (a small unsigned
 * integer) instead of decoding the whole payload with msgpackr: a proxy should not
 * allocate a 10 MiB response to learn that it is a response, and garbage must classify
 * as `other` rather than throw. The tests check it against msgpackr's own decoding.
 *
 * `carriesState` flags frames that may define a msgpackr record (the wire codec runs
 * records in `sequential` mode, src/transport/msgpack-codec.ts): protocol-aware toxics
 * never drop such a frame and never move another frame across it. The first request or
 * response of each payload object shape therefore always goes through untouched.
 *
 * `errorReply` answers a `[REQ, id, payload]` with `[ERR, id, { code, message }]`,
 * encoded as a plain msgpack map (no records), which the wire decoder accepts and which
 * leaves the peer's record table untouched.
 */
import { pack } from 'msgpackr';
import { MessageType } from '../transport/index.js';
import { FRAME_HEADER_BYTES } from './frame-splitter.js';
import type { FrameInspector, FrameKind } from './toxic-types.js';

/** `code` of the remote error a `wire_fail_requests` toxic answers with. */
export const CHAOS_ERROR_CODE = 'WW_CHAOS_INJECTED';

interface Cursor {
  readonly value: number;
  readonly next: number;
}

function arrayHeader(buf: Buffer): Cursor | undefined {
  const b = buf[0];
  if (b === undefined) return undefined;
  if (b >= 0x90 && b <= 0x9f) return { value: b & 0x0f, next: 1 };
  if (b === 0xdc && buf.length >= 3) return { value: buf.readUInt16BE(1), next: 3 };
  if (b === 0xdd && buf.length >= 5) return { value: buf.readUInt32BE(1), next: 5 };
  return undefined;
}

function unsigned(buf: Buffer, at: number): Cursor | undefined {
  const b = buf[at];
  if (b === undefined) return undefined;
  if (b <= 0x7f) return { value: b, next: at + 1 };
  if (b === 0xcc && buf.length >= at + 2) return { value: buf.readUInt8(at + 1), next: at + 2 };
  if (b === 0xcd && buf.length >= at + 3) return { value: buf.readUInt16BE(at + 1), next: at + 3 };
  if (b === 0xce && buf.length >= at + 5) return { value: buf.readUInt32BE(at + 1), next: at + 5 };
  if (b === 0xcf && buf.length >= at + 9) {
    const big = buf.readBigUInt64BE(at + 1);
    return big <= BigInt(Number.MAX_SAFE_INTEGER) ? { value: Number(big), next: at + 9 } : undefined;
  }
  return undefined;
}

/** The message type and the array length of a wire payload, if it looks like one. */
function peek(payload: Buffer): { type: number; length: number; next: number } | undefined {
  const header = arrayHeader(payload);
  if (!header || header.value < 1) return undefined;
  const type = unsigned(payload, header.next);
  return type ? { type: type.value, length: header.value, next: type.next } : undefined;
}

/** Classifies a wire payload: PING, PONG, REQ, RES/ERR; everything else is `other`. */
export function classifyWireFrame(payload: Buffer): FrameKind {
  switch (peek(payload)?.type) {
    case MessageType.PING:
      return 'ping';
    case MessageType.PONG:
      return 'pong';
    case MessageType.REQ:
      return 'request';
    case MessageType.RES:
    case MessageType.ERR:
      return 'response';
    default:
      return 'other';
  }
}

/** `[ERR, id, { code, message }]` for a `[REQ, id, payload]`, as a whole frame. */
export function wireErrorReply(payload: Buffer, message: string): Buffer | undefined {
  const head = peek(payload);
  if (!head || head.type !== MessageType.REQ || head.length !== 3) return undefined;
  const id = unsigned(payload, head.next);
  if (!id) return undefined;
  const body = pack([MessageType.ERR, id.value, { code: CHAOS_ERROR_CODE, message }]);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

/** msgpackr's inline record definition: fixext1, type 0x72 ('r'), then the record id. */
const RECORD_DEFINITION = Buffer.from([0xd4, 0x72]);

/**
 * True when the payload may define a msgpackr record. In `sequential` mode the wire codec
 * defines each object shape inline in the first frame that uses it and refers to it by id
 * afterwards, so dropping or reordering that frame would leave every later frame of the
 * connection undecodable. A byte search can also match inside a string or a binary value,
 * and with per-frame records every object frame matches; both only make toxics more
 * careful, never wrong.
 */
export function wireFrameCarriesState(payload: Buffer): boolean {
  return payload.indexOf(RECORD_DEFINITION) >= 0;
}

/**
 * wirewarden's wire protocol, as protocol-aware toxics see it.
 *
 * @example
 * createChaosProxy({ name: 'api', upstream: '127.0.0.1:7000', frames: wireFrames });
 */
export const wireFrames: FrameInspector = Object.freeze({
  classify: classifyWireFrame,
  errorReply: wireErrorReply,
  carriesState: wireFrameCarriesState,
});
