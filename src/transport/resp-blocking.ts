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
 * - A block time Redis would refuse (negative, not a number) counts as not blocking: Redis
 *   answers it at once with an error, and the default deadline is right for that.
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
  const first = args[0];
  const last = args[args.length - 1];
  switch (wordLength(first)) {
    case 4:
      return wordIs(first, 'WAIT') ? millis(args[2]) : NOT_BLOCKING;
    case 5:
      if (wordIs(first, 'BLPOP') || wordIs(first, 'BRPOP')) return seconds(last);
      return wordIs(first, 'XREAD') ? streamBlock(args, 1) : NOT_BLOCKING;
    case 6:
      if (wordIs(first, 'BLMOVE')) return seconds(last);
      return wordIs(first, 'BLMPOP') || wordIs(first, 'BZMPOP') ? seconds(args[1]) : NOT_BLOCKING;
    case 7:
      return wordIs(first, 'WAITAOF') ? millis(args[3]) : NOT_BLOCKING;
    case 8:
      return wordIs(first, 'BZPOPMIN') || wordIs(first, 'BZPOPMAX') ? seconds(last) : NOT_BLOCKING;
    case 10:
      if (wordIs(first, 'BRPOPLPUSH')) return seconds(last);
      // XREADGROUP GROUP <group> <consumer> [COUNT n] [BLOCK ms] [NOACK] STREAMS …
      return wordIs(first, 'XREADGROUP') ? streamBlock(args, 4) : NOT_BLOCKING;
    default:
      return NOT_BLOCKING;
  }
}


function seconds(arg: RespArg | undefined): number {
  const s = argNumber(arg);
  return s >= 0 && Number.isFinite(s) ? Math.ceil(s * 1000) : NOT_BLOCKING;
}

function millis(arg: RespArg | undefined): number {
  const ms = argNumber(arg);
  return ms >= 0 && Number.isFinite(ms) ? Math.ceil(ms) : NOT_BLOCKING;
}

/** The `BLOCK ms` option of XREAD/XREADGROUP, read up to `STREAMS` (keys may be named BLOCK). */
function streamBlock(args: readonly RespArg[], from: number): number {
  for (let i = from; i < args.length; i++) {
    const word = args[i];
    if (wordIs(word, 'STREAMS')) return NOT_BLOCKING;
    if (wordIs(word, 'BLOCK')) return millis(args[i + 1]);
    // COUNT's value could spell anything; skip it.
    if (wordIs(word, 'COUNT')) i++;
  }
  return NOT_BLOCKING;
}
