/**
 * Which Redis commands need a connection to themselves, so that a session shared by
 * `pool.dispatch` (many callers pipelining over one connection) refuses them before they
 * are written. Each of them would hand its effect to every other caller on the connection:
 *
 *   MULTI EXEC DISCARD                 a transaction: the others' commands would be queued in it
 *   WATCH UNWATCH                      the watch belongs to one caller's transaction
 *   blocking (resp-blocking.ts)        BLPOP, XREAD BLOCK, WAIT…: every reply behind it waits
 *   SUBSCRIBE … SUNSUBSCRIBE, MONITOR  replies stop following command order
 *   SELECT                             changes the database of every caller
 *   AUTH HELLO RESET                   change the user, the protocol, or everything
 *   CLIENT REPLY/TRACKING/CACHING/SETNAME/SETINFO/NO-EVICT/NO-TOUCH   per-connection settings
 *   READONLY READWRITE                 the cluster read mode of every caller
 *   ASKING                             a one-shot flag for the next command: another caller's
 *   SYNC PSYNC                         turn the connection into a replication stream
 *   QUIT                               closes the connection under every caller
 *
 * Trade-offs:
 * - It runs on every command of a shared session, so it starts with a switch on the
 *   name's length, as resp-lease-state.ts does: `GET`/`SET` (3) leave at once and nothing
 *   is allocated or upper-cased.
 * - Blocking is decided by `isBlocking` (resp-blocking.ts, one owner): by the command's
 *   name, and for XREAD/XREADGROUP by a BLOCK option, never by the block time's value.
 *   Redis reads block times we do not (strtold: `0x0`, `0x1p3`, 40 zeros), so a value we
 *   cannot read must not let a command through: a `BLPOP q soon`, which Redis would
 *   refuse at once, is refused here too (fail closed).
 * - CLIENT subcommands that only read or act on the server (ID, INFO, LIST, GETNAME,
 *   KILL, PAUSE…) share; only those that change this connection are refused.
 */
import type { RespArg } from './resp-encoder.js';
import { isBlocking } from './resp-blocking.js';
import { commandName } from './resp-pipeline.js';
import { wordIs, wordLength } from './resp-words.js';

const TRANSACTION = 'a transaction would take in the commands of every other caller';
const WATCHING = 'a WATCH belongs to one caller\'s transaction';
const BLOCKING = 'it blocks: every reply behind it would wait';
const UNORDERED = 'its replies do not follow command order';
const DATABASE = 'it changes the database of every caller';
const CONNECTION = 'it changes the connection for every caller';
const CLOSING = 'it closes the connection of every caller';
const ONE_SHOT = 'it flags the next command, which may be another caller\'s';
const REPLICATION = 'it turns the connection into a replication stream';

/**
 * `undefined` when `args` may share a connection; else why it may not.
 *
 * @example
 * exclusiveReason(['GET', 'k'])              // undefined
 * exclusiveReason(['MULTI'])                 // 'a transaction would take in …'
 * exclusiveReason(['BLPOP', 'q', '0x0'])     // 'it blocks: …'
 */
export function exclusiveReason(args: readonly RespArg[]): string | undefined {
  if (isBlocking(args)) return BLOCKING;
  const first = args[0];
  switch (wordLength(first)) {
    case 4:
      if (wordIs(first, 'EXEC')) return TRANSACTION;
      if (wordIs(first, 'AUTH')) return CONNECTION;
      if (wordIs(first, 'SYNC')) return REPLICATION;
      return wordIs(first, 'QUIT') ? CLOSING : undefined;
    case 5:
      if (wordIs(first, 'MULTI')) return TRANSACTION;
      if (wordIs(first, 'WATCH')) return WATCHING;
      if (wordIs(first, 'PSYNC')) return REPLICATION;
      return wordIs(first, 'HELLO') || wordIs(first, 'RESET') ? CONNECTION : undefined;
    case 6:
      if (wordIs(first, 'SELECT')) return DATABASE;
      if (wordIs(first, 'ASKING')) return ONE_SHOT;
      return wordIs(first, 'CLIENT') && changesConnection(args[1]) ? CONNECTION : undefined;
    case 7:
      if (wordIs(first, 'DISCARD')) return TRANSACTION;
      if (wordIs(first, 'UNWATCH')) return WATCHING;
      return wordIs(first, 'MONITOR') ? UNORDERED : undefined;
    case 8:
      return wordIs(first, 'READONLY') ? CONNECTION : undefined;
    case 9:
      if (wordIs(first, 'READWRITE')) return CONNECTION;
      return wordIs(first, 'SUBSCRIBE') ? UNORDERED : undefined;
    case 10:
      return wordIs(first, 'PSUBSCRIBE') || wordIs(first, 'SSUBSCRIBE') ? UNORDERED : undefined;
    case 11:
      return wordIs(first, 'UNSUBSCRIBE') ? UNORDERED : undefined;
    case 12:
      return wordIs(first, 'PUNSUBSCRIBE') || wordIs(first, 'SUNSUBSCRIBE') ? UNORDERED : undefined;
    default:
      return undefined;
  }
}

/** The CLIENT subcommands that change this connection's settings. */
function changesConnection(sub: RespArg | undefined): boolean {
  return wordIs(sub, 'REPLY') || wordIs(sub, 'TRACKING') || wordIs(sub, 'CACHING') || wordIs(sub, 'SETNAME') ||
    wordIs(sub, 'SETINFO') || wordIs(sub, 'NO-EVICT') || wordIs(sub, 'NO-TOUCH');
}

/** How a refused command is named: its first word, and CLIENT's subcommand (`CLIENT REPLY`); never an argument. */
export function exclusiveName(args: readonly RespArg[]): string {
  const name = commandName(args[0]);
  return name === 'CLIENT' ? `CLIENT ${commandName(args[1])}` : name;
}
