/**
 * What a client learns when a handler fails, and what the server's owner sees when a
 * listener fails: any thrown or rejected value becomes bounded strings.
 *
 * Handler code may throw anything: a null-prototype object (`String()` throws), an object
 * whose `toString`, `Symbol.toPrimitive` or `message` getter throws, a revoked Proxy
 * (every operation throws), a symbol, `undefined`. The reply path runs where an exception
 * has nowhere to go (in a promise callback it is an unhandled rejection, which exits the
 * process; in a data handler it kills the connection), so every property read and every
 * conversion here is guarded, and a value that cannot be described gets a fixed text.
 *
 *   value ──▶ string? as is ──▶ object with a string `message`? that ──▶ String(value) ──▶ fixed text
 *   `code`: a string property of at most MAX_FAILURE_CODE_CHARS, else none; a code the
 *           wire client acts on (WW_GOAWAY: "never run, retry elsewhere") becomes
 *           WW_REMOTE_ERROR, since this handler did run
 *   message: cut to MAX_FAILURE_MESSAGE_CHARS (a code point is never split)
 */

/** Longest ERR message sent for a failed handler; longer ones are cut and end with '…'. */
export const MAX_FAILURE_MESSAGE_CHARS = 1024;
/** Longest `code` passed on; a longer one is an identifier no client matches, so it is left out. */
export const MAX_FAILURE_CODE_CHARS = 128;

/**
 * ERR codes the wire client interprets instead of passing them on (wire-session.ts):
 * `WW_GOAWAY` means the request was never run and is safe to retry elsewhere. A handler
 * that rethrows a downstream `GoawayError` (a gateway) did run, so its code is replaced
 * by `REPLACED_CODE`, or the client would run the request twice.
 */
export const CLIENT_INTERPRETED_CODES: ReadonlySet<string> = new Set(['WW_GOAWAY']);
/** What a handler's code from `CLIENT_INTERPRETED_CODES` is sent as: RemoteError's own. */
export const REPLACED_CODE = 'WW_REMOTE_ERROR';

/** The body of an ERR reply: `{ code?, message }`. */
export interface FailureBody {
  readonly code?: string;
  readonly message: string;
}

const UNPRINTABLE = 'a thrown value that cannot be converted to a string';

/**
 * The ERR body for a thrown or rejected value. Never throws (short of a `toString` that
 * never returns).
 *
 * @example
 * describeFailure(Object.assign(new Error('no such user'), { code: 'E_NOUSER' }));
 * // { code: 'E_NOUSER', message: 'no such user' }
 * describeFailure(Object.create(null)); // { message: 'a thrown value that cannot be converted to a string' }
 */
export function describeFailure(value: unknown): FailureBody {
  const message = bounded(failureMessage(value));
  const code = failureCode(value);
  return code === undefined ? { message } : { code, message };
}

/**
 * An `Error` safe to hand to `process.emitWarning` for a failed listener: a fresh one,
 * since Node reads `name`, `code` and `stack` of a warning on a later tick, where a
 * throwing getter would be an uncaught exception. Keeps the original's stack and `cause`.
 */
export function failureAsWarning(value: unknown, type: string): Error {
  const warning = new Error(describeFailure(value).message, { cause: value });
  warning.name = type;
  const stack = read(value, 'stack');
  if (typeof stack === 'string') warning.stack = bounded(stack, 16 * MAX_FAILURE_MESSAGE_CHARS);
  return warning;
}

/** Emits a warning for a failed listener or one-way handler; never throws. */
export function warnFailure(value: unknown, type: string): void {
  try {
    process.emitWarning(failureAsWarning(value, type));
  } catch {
    // A 'warning' machinery that throws has nothing left to tell.
  }
}

function failureMessage(value: unknown): string {
  if (typeof value === 'string') return value;
  if ((typeof value === 'object' && value !== null) || typeof value === 'function') {
    const message = read(value, 'message');
    if (typeof message === 'string') return message;
  }
  try {
    return String(value);
  } catch {
    return UNPRINTABLE;
  }
}

function failureCode(value: unknown): string | undefined {
  if ((typeof value !== 'object' || value === null) && typeof value !== 'function') return undefined;
  const code = read(value, 'code');
  if (typeof code !== 'string' || code.length > MAX_FAILURE_CODE_CHARS) return undefined;
  return CLIENT_INTERPRETED_CODES.has(code) ? REPLACED_CODE : code;
}

/** `value[key]`, or undefined when the read throws (a getter, a Proxy trap, a revoked Proxy). */
function read(value: unknown, key: string): unknown {
  if ((typeof value !== 'object' || value === null) && typeof value !== 'function') return undefined;
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

function bounded(text: string, max = MAX_FAILURE_MESSAGE_CHARS): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--; // do not split a surrogate pair
  return `${text.slice(0, end)}…`;
}
