/**
 * The one place that turns msgpackr's decode error into a cause safe to carry: every
 * decoder (the connection's codec, PACKED inners here or on a framing worker) reports
 * through it, so no error text quotes the value.
 *
 * Why: msgpackr's "Data read, but end of buffer not reached <the value as JSON>" quotes
 * up to 100 characters of the decoded value, and a payload may hold a token or user data.
 * Other msgpackr messages describe the bytes, not the value, and are kept (bounded).
 */

/** Longest text of msgpackr's own error kept in the cause. */
const MAX_CAUSE_CHARS = 120;

/**
 * A fresh `Error` with msgpackr's message, the quoted value dropped and the text bounded;
 * the original error is not kept (its message is the leak).
 *
 * @example
 * new ProtocolError(`undecodable msgpack frame of ${n} bytes`, { cause: sanitizeDecodeError(err) });
 */
export function sanitizeDecodeError(err: unknown): Error {
  const text = err instanceof Error ? err.message : String(err);
  const cut = text.startsWith('Data read, but end of buffer not reached') ? 'trailing bytes after the value' : text;
  const out = new Error(cut.slice(0, MAX_CAUSE_CHARS));
  out.name = err instanceof Error ? err.name : 'Error';
  return out;
}
