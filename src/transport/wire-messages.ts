/**
 * The wire protocol's messages: every frame's payload is one msgpack array whose first
 * element is the message type. See docs/wire-protocol.md for the full description.
 *
 *   [HELLO, { version, token? }]        client → server, first frame
 *   [HELLO_OK, { version, clientId }]   server → client
 *   [HELLO_ERR, { code, message }]      server → client, then the server closes
 *   [REQ, id, payload]                  client → server
 *   [RES, id, payload] / [ERR, id, { code?, message }]
 *   [MSG, payload]                      client → server, one-way
 *   [PUSH, payload]                     server → client, one-way
 *   [PING, id] / [PONG, id]             either direction
 *   [GOAWAY, { reason? }]               either direction: no new requests from now on
 *   [PACKED, inner: bin]                either direction: a self-contained REQ, RES, ERR,
 *                                       MSG or PUSH, decodable off-thread (framing-packed.ts)
 *
 * `parseWireMessage` is the single gate for inbound messages: anything that is not one of
 * these shapes is a `ProtocolError`, so handlers downstream never see malformed input.
 * (The bytes before it passed msgpack-plain.ts: plain msgpack data only, so a payload is
 * a tree of nulls, booleans, numbers, strings, Buffers, arrays, Maps, objects and Dates.)
 */
import { ProtocolError } from '../errors.js';

export const WIRE_VERSION = 1;

export const MessageType = Object.freeze({
  HELLO: 1,
  HELLO_OK: 2,
  HELLO_ERR: 3,
  REQ: 4,
  RES: 5,
  ERR: 6,
  MSG: 7,
  PUSH: 8,
  PING: 9,
  PONG: 10,
  GOAWAY: 11,
  /** An envelope, never a `WireMessage` itself: the channel unwraps it (framing-packed.ts). */
  PACKED: 12,
} as const);
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

export interface RemoteErrorInfo {
  readonly code?: string;
  readonly message: string;
}

export type WireMessage =
  | { readonly type: typeof MessageType.HELLO; readonly version: number; readonly token: string | undefined }
  | { readonly type: typeof MessageType.HELLO_OK; readonly version: number; readonly clientId: number }
  | { readonly type: typeof MessageType.HELLO_ERR; readonly error: RemoteErrorInfo }
  | { readonly type: typeof MessageType.REQ; readonly id: number; readonly payload: unknown }
  | { readonly type: typeof MessageType.RES; readonly id: number; readonly payload: unknown }
  | { readonly type: typeof MessageType.ERR; readonly id: number; readonly error: RemoteErrorInfo }
  | { readonly type: typeof MessageType.MSG; readonly payload: unknown }
  | { readonly type: typeof MessageType.PUSH; readonly payload: unknown }
  | { readonly type: typeof MessageType.PING; readonly id: number }
  | { readonly type: typeof MessageType.PONG; readonly id: number }
  | { readonly type: typeof MessageType.GOAWAY; readonly reason: string | undefined };

/** Builds the array that goes on the wire for one message. */
export function toWire(msg: WireMessage): unknown[] {
  switch (msg.type) {
    case MessageType.HELLO:
      return [msg.type, msg.token === undefined ? { version: msg.version } : { version: msg.version, token: msg.token }];
    case MessageType.HELLO_OK:
      return [msg.type, { version: msg.version, clientId: msg.clientId }];
    case MessageType.HELLO_ERR:
      return [msg.type, errorBody(msg.error)];
    case MessageType.REQ:
    case MessageType.RES:
      return [msg.type, msg.id, msg.payload];
    case MessageType.ERR:
      return [msg.type, msg.id, errorBody(msg.error)];
    case MessageType.MSG:
    case MessageType.PUSH:
      return [msg.type, msg.payload];
    case MessageType.PING:
    case MessageType.PONG:
      return [msg.type, msg.id];
    case MessageType.GOAWAY:
      return [msg.type, msg.reason === undefined ? {} : { reason: msg.reason }];
  }
}

function errorBody(e: RemoteErrorInfo): Record<string, string> {
  return e.code === undefined ? { message: e.message } : { code: e.code, message: e.message };
}

function bad(what: string): never {
  throw new ProtocolError(`malformed wire message: ${what}`);
}

function id(v: unknown): number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : bad('id must be a non-negative integer');
}

// Our encoder sends objects as msgpackr records; a plain msgpack map (another encoder)
// decodes to a `Map` because records imply `mapsAsObjects: false`. Both are accepted.
function record(v: unknown, what: string): Record<string, unknown> {
  if (v instanceof Map) return Object.fromEntries([...v].filter(([k]) => typeof k === 'string')) as Record<string, unknown>;
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v)
    ? (v as Record<string, unknown>)
    : bad(`${what} must be a map`);
}

function optionalString(v: unknown, what: string): string | undefined {
  return v === undefined || v === null ? undefined : typeof v === 'string' ? v : bad(`${what} must be a string`);
}

function errorInfo(v: unknown): RemoteErrorInfo {
  const r = record(v, 'error');
  const message = typeof r.message === 'string' ? r.message : bad('error.message must be a string');
  const code = optionalString(r.code, 'error.code');
  return code === undefined ? { message } : { code, message };
}

function arity(a: unknown[], n: number): void {
  if (a.length !== n) bad(`type ${String(a[0])} takes ${n - 1} fields, got ${a.length - 1}`);
}

/** Validates one decoded frame; throws `ProtocolError` when it is not a wire message. */
export function parseWireMessage(value: unknown): WireMessage {
  if (!Array.isArray(value) || value.length === 0) bad('a frame must be a non-empty array');
  const a = value as unknown[];
  const type = a[0];
  switch (type) {
    case MessageType.HELLO: {
      arity(a, 2);
      const body = record(a[1], 'hello');
      const version = typeof body.version === 'number' ? body.version : bad('hello.version must be a number');
      return { type, version, token: optionalString(body.token, 'hello.token') };
    }
    case MessageType.HELLO_OK: {
      arity(a, 2);
      const body = record(a[1], 'hello_ok');
      const version = typeof body.version === 'number' ? body.version : bad('hello_ok.version must be a number');
      return { type, version, clientId: id(body.clientId) };
    }
    case MessageType.HELLO_ERR:
      arity(a, 2);
      return { type, error: errorInfo(a[1]) };
    case MessageType.REQ:
    case MessageType.RES:
      arity(a, 3);
      return { type, id: id(a[1]), payload: a[2] };
    case MessageType.ERR:
      arity(a, 3);
      return { type, id: id(a[1]), error: errorInfo(a[2]) };
    case MessageType.MSG:
    case MessageType.PUSH:
      arity(a, 2);
      return { type, payload: a[1] };
    case MessageType.PING:
    case MessageType.PONG:
      arity(a, 2);
      return { type, id: id(a[1]) };
    case MessageType.GOAWAY:
      arity(a, 2);
      return { type, reason: optionalString(record(a[1], 'goaway').reason, 'goaway.reason') };
    default:
      return bad(`unknown message type ${typeof type === 'number' ? type : typeof type}`);
  }
}
