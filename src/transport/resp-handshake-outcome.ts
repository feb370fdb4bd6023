/**
 * What the replies to the handshake's pipelined steps mean: the server's HELLO info, or
 * the first failure in order as the error `open`/`reset` throw.
 *
 *   error reply to a step ──▶ "no password set" answer to RESP2 AUTH ──▶ success + one warning
 *                         ├──▶ a retry cannot fix it ──▶ HandshakeRefusedError (WW_HANDSHAKE_REFUSED)
 *                         └──▶ anything else ─────────▶ HandshakeFailedError  (WW_HANDSHAKE_FAILED)
 *   timeout, abort, connection lost ─────────────────▶ HandshakeFailedError
 *
 * Trade-offs:
 * - "Cannot fix" is decided from Redis's error prefix first (WRONGPASS, NOAUTH, NOPROTO,
 *   NOPERM), then from the few `ERR` texts that mean the same (a pre-6 wrong password, a
 *   db index out of range, SELECT in cluster mode, a server without HELLO). A text we do
 *   not know stays "failed": retrying a permanent failure costs backoff, refusing a
 *   transient one would fail every caller of a pool at once.
 * - `NOAUTH` on any step counts: the server wants credentials the options do not give
 *   (no password set, or HELLO/SELECT after a refused AUTH).
 * - Redis 6+ answers `AUTH <password>` on a server without a password with an error;
 *   ioredis warns and carries on, and RESP3's `HELLO 3 AUTH default <pw>` succeeds
 *   silently there, so RESP2 does the same (the warning names no password).
 * - The message and the `cause` carry the server's text after redaction, never the password.
 */
import { HandshakeFailedError, HandshakeRefusedError, RemoteError } from '../errors.js';
import { RESET_STEP, serverInfoFromHello, type HandshakeStep, type RespHandshake, type RespServerInfo } from './resp-handshake.js';
import { respRemoteError, type RespReply } from './resp-parser.js';

const REFUSED_CODES = new Set(['WRONGPASS', 'NOAUTH', 'NOPROTO', 'NOPERM']);

const REFUSED_TEXTS = [
  /^ERR invalid password/, // Redis < 6, wrong password
  /^ERR DB index is out of range/,
  /^ERR invalid DB index/,
  /^ERR SELECT is not allowed in cluster mode/,
  /^ERR unknown command [`']HELLO[`']/, // RESP3 asked of Redis < 6
];

const NO_PASSWORD_TEXTS = [
  /^ERR AUTH <password> called without any password configured/, // Redis ≥ 6
  /^ERR Client sent AUTH, but no password is set/, // Redis < 6
];

/**
 * Reads the settled replies of `steps` in order: returns what a `HELLO` reply said (or
 * `undefined` without one), throws the first failure. A failed `RESET` throws its
 * `RemoteError` as is (the server lacks RESET: not a handshake matter).
 */
export function settleHandshake(
  steps: readonly HandshakeStep[], results: readonly PromiseSettledResult<RespReply>[], handshake: RespHandshake, where: string,
): RespServerInfo | undefined {
  let server: RespServerInfo | undefined;
  for (let i = 0; i < steps.length; i++) {
    const result = results[i]!;
    const step = steps[i]!;
    if (result.status === 'fulfilled') {
      if (step.args[0] === 'HELLO') server = serverInfoFromHello(result.value, (text) => handshake.redact(text));
      continue;
    }
    const reason = result.reason as Error;
    if (step === RESET_STEP && reason instanceof RemoteError) throw reason;
    if (isAuthNotRequired(step.label, reason)) {
      handshake.warnAuthNotRequired(where);
      continue;
    }
    throw handshakeError(step.label, reason, where, (text) => handshake.redact(text));
  }
  return server;
}

/** True for RESP2 `AUTH <password>` answered "no password is set" (the step counts as done). */
export function isAuthNotRequired(label: string, reason: unknown): boolean {
  return label === 'AUTH' && reason instanceof RemoteError && NO_PASSWORD_TEXTS.some((re) => re.test(reason.message));
}

/** True when `error` (a `RemoteError` from a handshake step) is one a retry cannot fix. */
export function isPermanentRefusal(error: RemoteError): boolean {
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && REFUSED_CODES.has(code)) return true;
  return REFUSED_TEXTS.some((re) => re.test(error.message));
}

/**
 * The error `open`/`reset` throw for a failed step: `<label> failed on <where>: <text>`,
 * with the text redacted and, for an error reply, a redacted `RemoteError` as `cause`.
 */
function handshakeError(
  label: string, reason: Error, where: string, redact: (text: string) => string,
): HandshakeFailedError | HandshakeRefusedError {
  const text = redact(reason.message);
  const message = `${label} failed on ${where}: ${text}`;
  if (!(reason instanceof RemoteError)) return new HandshakeFailedError(message, { cause: reason });
  const cause = respRemoteError(text);
  return isPermanentRefusal(cause) ? new HandshakeRefusedError(message, { cause }) : new HandshakeFailedError(message, { cause });
}
