/**
 * Reading command words and numeric arguments the way the session's trackers need them:
 * on every user command, so without allocating. A word may arrive as a string or as
 * bytes (a Buffer command name, a reply under `returnBuffers`), in any case.
 *
 * Trade-off: the comparison is exact ASCII (`c === U || c === U + 32`), not `toUpperCase`:
 * no string is built for `INCR` just to learn it is not `EXEC`, and no non-ASCII character
 * can fold onto a command name.
 */
import type { RespArg } from './resp-encoder.js';

/** The length of a word argument (string or bytes); -1 for anything else. */
export function wordLength(value: unknown): number {
  if (typeof value === 'string' || value instanceof Uint8Array) return value.length;
  return -1;
}

/**
 * True when `value` spells `word` in ASCII, ignoring case. `word` must be all upper or
 * all lower case letters.
 *
 * @example
 * wordIs('multi', 'MULTI')                 // true
 * wordIs(Buffer.from('message'), 'message')  // true
 */
export function wordIs(value: unknown, word: string): boolean {
  const n = word.length;
  if (typeof value === 'string') {
    if (value.length !== n) return false;
    for (let i = 0; i < n; i++) if (!sameLetter(value.charCodeAt(i), word.charCodeAt(i))) return false;
    return true;
  }
  if (value instanceof Uint8Array) {
    if (value.length !== n) return false;
    for (let i = 0; i < n; i++) if (!sameLetter(value[i]!, word.charCodeAt(i))) return false;
    return true;
  }
  return false;
}

function sameLetter(c: number, w: number): boolean {
  // `w` is a letter: its other case is 32 away.
  return c === w || c === (w ^ 0x20);
}

/**
 * A numeric argument (`'1.5'`, `30`, `Buffer.from('0')`) as a number; NaN when it is not
 * a plain decimal (Redis would refuse it, so callers fall back to their default).
 */
export function argNumber(arg: RespArg | undefined): number {
  if (typeof arg === 'number') return arg;
  if (typeof arg === 'bigint') return Number(arg);
  let text: string;
  if (typeof arg === 'string') text = arg;
  else if (arg instanceof Uint8Array && arg.length <= 32) text = Buffer.from(arg.buffer, arg.byteOffset, arg.length).toString('latin1');
  else return NaN;
  return /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(text) ? Number(text) : NaN;
}
