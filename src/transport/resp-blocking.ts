/**
 * Commands that block on the server, and how long each may: a `BLPOP jobs 30` legitimately
 * stays unanswered for 30 s, so the default `requestTimeoutMs` must not kill it at 10 s.
 *
 *   BLPOP BRPOP BRPOPLPUSH BLMOVE BZPOPMIN BZPOPMAX   last argument, seconds (a double)
 *   BLMPOP BZMPOP                                    first argument, seconds
 *   XREAD / XREADGROUP … BLOCK ms …                  milliseconds (only with BLOCK)
 *   WAIT numreplicas ms,  WAITAOF numlocal numreplicas ms
 *
 * Trade-offs:
 * - Such a command's default deadline is its block time plus `requestTimeoutMs` as grace
 *   (ioredis's `blockingTimeout` + grace works the same way); a block time of 0 (forever)
 *   gets no default deadline at all, and neither does a block longer than a timer can
 *   wait (2^31 − 1 ms, ~24.8 days). An explicit `timeoutMs` always wins.
 * - Classification runs on every command without its own `timeoutMs`, so it starts with
 *   a switch on the name's length: `GET`/`SET` (3) leave at once, and no name is upper-cased.
 * - A negative block time counts as not blocking: Redis answers it at once with an error,
 *   and the default deadline is right for that. A block time we cannot read gets no
 *   default deadline, as 0 does: Redis reads seconds with strtold, so `0x0`, `0x1p3` or a
 *   40-digit `000…0` block although they are no plain decimal, and a 10 s default would
 *   kill such a legitimate wait (one Redis refuses is answered at once anyway).
 * - Whether a command blocks at all (`isBlocking`, for a shared session to refuse it) is
 *   decided by its name and, for XREAD/XREADGROUP, by a BLOCK option anywhere before
 *   STREAMS — never by the value, which we may fail to read: fail closed.
 * - Inside MULTI Redis answers blocking commands at once (`QUEUED`, then without blocking
 *   at EXEC); the longer deadline is then merely unused.
 */
import type { RespArg } from './resp-encoder.js';
import { argNumber, wordIs, wordLength } from './resp-words.js';

/** `blockTimeMs` of a command that does not block. */
export const NOT_BLOCKING = -1;

/**
 * How long `args` may block on the server, in ms: `NOT_BLOCKING` (-1) for an ordinary
 * command, 0 for "forever".
 *
 * @example
 * blockTimeMs(['BLPOP', 'jobs', '1.5'])                       // 1500
 * blockTimeMs(['XREAD', 'BLOCK', 200, 'STREAMS', 's', '$'])   // 200
 * blockTimeMs(['GET', 'k'])                                   // -1
 */
export function blockTimeMs(args: readonly RespArg[]): number {
  if (!isBlocking(args)) return NOT_BLOCKING;
  const first = args[0];
  const last = args[args.length - 1];
  switch (wordLength(first)) {
    case 4: // WAIT numreplicas ms
      return millis(args[2]);
    case 5: // BLPOP BRPOP … seconds, XREAD … BLOCK ms
      return wordIs(first, 'XREAD') ? millis(args[streamBlockAt(args) + 1]) : seconds(last);
    case 6: // BLMOVE … seconds, BLMPOP/BZMPOP seconds …
      return seconds(wordIs(first, 'BLMOVE') ? last : args[1]);
    case 7: // WAITAOF numlocal numreplicas ms
      return millis(args[3]);
    case 10: // BRPOPLPUSH … seconds, XREADGROUP … BLOCK ms
      return wordIs(first, 'XREADGROUP') ? millis(args[streamBlockAt(args) + 1]) : seconds(last);
    default: // BZPOPMIN BZPOPMAX … seconds
      return seconds(last);
  }
}

/**
 * Whether `args` may block on the server: a blocking command by name, or XREAD/XREADGROUP
 * with a BLOCK option (whatever its value). Cheap: `GET`/`SET` leave at the length switch.
 *
 * @example
 * isBlocking(['BLPOP', 'q', '0x0'])                                      // true (strtold reads hex)
 * isBlocking(['XREADGROUP', 'BLOCK', '0', 'GROUP', 'g', 'c', 'STREAMS', 's', '>'])  // true
 * isBlocking(['XREAD', 'STREAMS', 'BLOCK', '$'])                          // false: a key named BLOCK
 */
export function isBlocking(args: readonly RespArg[]): boolean {
  const first = args[0];
  switch (wordLength(first)) {
    case 4:
      return wordIs(first, 'WAIT');
    case 5:
      if (wordIs(first, 'BLPOP') || wordIs(first, 'BRPOP')) return true;
      return wordIs(first, 'XREAD') && streamBlockAt(args) > 0;
    case 6:
      return wordIs(first, 'BLMOVE') || wordIs(first, 'BLMPOP') || wordIs(first, 'BZMPOP');
    case 7:
      return wordIs(first, 'WAITAOF');
    case 8:
      return wordIs(first, 'BZPOPMIN') || wordIs(first, 'BZPOPMAX');
    case 10:
      if (wordIs(first, 'BRPOPLPUSH')) return true;
      return wordIs(first, 'XREADGROUP') && streamBlockAt(args) > 0;
    default:
      return false;
  }
}

/** A block time in seconds as ms; 0 (no default deadline) when we cannot read it, see the header. */
function seconds(arg: RespArg | undefined): number {
  const s = argNumber(arg);
  return s < 0 ? NOT_BLOCKING : Number.isFinite(s) ? Math.ceil(s * 1000) : 0;
}

/** A block time in ms; 0 (no default deadline) when we cannot read it. */
function millis(arg: RespArg | undefined): number {
  const ms = argNumber(arg);
  return ms < 0 ? NOT_BLOCKING : Number.isFinite(ms) ? Math.ceil(ms) : 0;
}

/**
 * The index of XREAD/XREADGROUP's BLOCK option, -1 without one. Redis takes the options
 * in any order up to STREAMS (`XREADGROUP BLOCK 0 GROUP g c STREAMS s >` blocks), so the
 * scan starts at 1 and skips the values of GROUP (two) and COUNT (one): a consumer or a
 * count spelled BLOCK is no option, nor is a key after STREAMS.
 */
function streamBlockAt(args: readonly RespArg[]): number {
  for (let i = 1; i < args.length; i++) {
    const word = args[i];
    if (wordIs(word, 'STREAMS')) return -1;
    if (wordIs(word, 'BLOCK')) return i;
    if (wordIs(word, 'GROUP')) i += 2;
    else if (wordIs(word, 'COUNT')) i++;
  }
  return -1;
}
