/**
 * The Redis protocol adapter gathered for the (internal) transport barrel; the package's
 * public names are chosen in src/index.ts.
 */
export { resp, RESP_DEFAULTS, type RespOptions } from './resp.js';
export { RespSession, type CommandOptions, type RespMessage, type RespSessionState } from './resp-session.js';
export type { RespServerInfo } from './resp-handshake.js';
export {
  RespParser, ReplyKind, respRemoteError, DEFAULT_MAX_BULK_BYTES, DEFAULT_MAX_AGGREGATE_LENGTH, MAX_RESP_LINE_BYTES,
  type RespReply, type RespParserOptions,
} from './resp-parser.js';
export { encodeCommand, type RespArg, type EncodedCommand } from './resp-encoder.js';
