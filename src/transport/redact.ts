/**
 * Redaction of configured secrets (a RESP password, a wire token) from text the peer sent,
 * applied where that text enters an error — in the parser or the session — so neither the
 * error nor anything built on it (a cause chain, an event, a snapshot, a log line) can
 * carry the secret. A server has no business echoing a password, but a proxy, a module or
 * an attacker probing what a client logs might.
 *
 * Only exact occurrences are replaced: a server that transforms the secret (changes its
 * case, encodes it) is not caught.
 */

/** What replaces a secret. */
export const REDACTED = '<redacted>';

/**
 * `text` with every occurrence of `secret` replaced by `<redacted>`; unchanged without a
 * secret (or with an empty one, which occurs everywhere and means nothing).
 *
 * @example
 * redactSecret('WRONGPASS hunter2 is wrong', 'hunter2')   // 'WRONGPASS <redacted> is wrong'
 */
export function redactSecret(text: string, secret: string | undefined): string {
  return secret === undefined || secret.length === 0 || !text.includes(secret) ? text : text.split(secret).join(REDACTED);
}
