/**
 * The transport layer gathered in one place, for modules inside the package (the
 * connection actor loads its default dialers from here). Internal: the package's public
 * names are chosen one by one in src/index.ts.
 */
export type {
  Endpoint, DialOptions, Transport, Protocol, ProtocolContext, ProbeListener, SessionOf,
} from './types.js';
export { tcp, type TcpOptions } from './tcp.js';
export { tls, type TlsOptions } from './tls.js';
export { unix, type UnixOptions } from './unix.js';
export { describeEndpoint } from './dial-socket.js';
export {
  FrameDecoder, DEFAULT_MAX_FRAME_BYTES, FRAME_HEADER_BYTES, type FrameDecoderOptions,
} from './frame-decoder.js';
export { FrameWriter, encodeFrame, DEFAULT_MAX_QUEUED_BYTES, type FrameWriterOptions } from './frame-writer.js';
export { MsgpackCodec } from './msgpack-codec.js';
export { wire, WIRE_DEFAULTS, type WireOptions } from './wire.js';
export { WireSession, type RequestOptions, type WireSessionState } from './wire-session.js';
export { MessageType, WIRE_VERSION, type WireMessage } from './wire-messages.js';
export {
  createWireServer, type WireServer, type WireServerOptions, type WireServerAddress, type WireClientInfo,
  type WireClientDropped, type WireRequestContext, type WireDropReason,
} from './wire-server.js';
export { custom, type CustomProtocolOptions } from './custom.js';
export * from './resp-index.js';
export * from './framing-index.js';
