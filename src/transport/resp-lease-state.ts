/**
 * What a user did to a Redis connection that its next holder must not inherit: an open
 * MULTI, WATCHed keys, another database, or a RESET, HELLO, AUTH or state-changing CLIENT
 * subcommand sent through `command()` (each undoes part of the handshake or adds
 * per-connection state: auth, db, name, RESP3, tracking, reply mode). Subscriptions are tracked by `RespPubSub`; the session's
 * `needsReset` combines both.
 *
 *   MULTI ──▶ in MULTI ──EXEC / DISCARD──▶ out      WATCH ──▶ watching ──UNWATCH / EXEC / DISCARD──▶ not
 *   SELECT n ≠ configured ──▶ other db ──SELECT configured──▶ home      RESET (by the user) ──▶ dirty until reset()
 *
 * Trade-offs:
 * - Tracked from the commands the user *sends*, not their replies: the server runs them in
 *   the order sent, so by the time the next holder's first command arrives every earlier
 *   one has run. A released session whose EXEC is still in flight is clean, correctly.
 * - Where a command may fail, the tracker errs towards "dirty": a failed MULTI counts as
 *   inside MULTI, a refused `SELECT 3` as another db. A wrong "dirty" costs one RESET; a
 *   wrong "clean" would hand the next holder a transaction or a database it did not ask for.
 * - Inside MULTI, commands are only queued: `SELECT <configured>` and `UNWATCH` clear
 *   nothing there (they may be discarded), while `SELECT n` still marks the db (EXEC may run it).
 * - It runs on every user command, so it starts with a switch on the name's length: GET
 *   and SET (3) leave at once; nothing is allocated.
 */
import type { RespArg } from './resp-encoder.js';
import { argNumber, wordIs, wordLength } from './resp-words.js';

/** CLIENT subcommands that change nothing on the connection. */
function readOnlyClient(sub: RespArg | undefined): boolean {
  return wordIs(sub, 'ID') || wordIs(sub, 'INFO') || wordIs(sub, 'LIST') || wordIs(sub, 'GETNAME');
}

const MULTI = 1;
const WATCH = 2;
const OTHER_DB = 4;
const HANDSHAKE_LOST = 8;

/** @internal The lease-scoped state of one `RespSession` (one owner: this class). */
export class RespLeaseState {
  readonly #configuredDb: number;
  #bits = 0;

  constructor(configuredDb: number) {
    this.#configuredDb = configuredDb;
  }

  /** True when the next holder would inherit MULTI, WATCH, another db or a user RESET. */
  get dirty(): boolean {
    return this.#bits !== 0;
  }

  /** Records the effect of a user command that was just written. */
  sent(args: readonly RespArg[]): void {
    const first = args[0];
    switch (wordLength(first)) {
      case 4:
        if (wordIs(first, 'EXEC')) this.#endTransaction();
        // AUTH as another user: the next holder would run with that user's rights.
        else if (wordIs(first, 'AUTH')) this.#bits |= HANDSHAKE_LOST;
        return;
      case 5:
        if (wordIs(first, 'MULTI')) this.#bits |= MULTI;
        else if (wordIs(first, 'WATCH')) this.#bits |= WATCH;
        // RESET also de-authenticates and drops the name and RESP3; HELLO changes the
        // protocol (and maybe user and name) under the session: only reset() restores them.
        else if (wordIs(first, 'RESET') || wordIs(first, 'HELLO')) this.#bits |= HANDSHAKE_LOST;
        return;
      case 6:
        if (wordIs(first, 'SELECT')) this.#select(argNumber(args[1]));
        // CLIENT SETNAME / TRACKING / REPLY / NO-EVICT…: per-connection settings the next
        // holder would inherit. The read-only subcommands (ID, INFO, LIST, GETNAME) are not.
        else if (wordIs(first, 'CLIENT') && !readOnlyClient(args[1])) this.#bits |= HANDSHAKE_LOST;
        return;
      case 7:
        if (wordIs(first, 'DISCARD')) this.#endTransaction();
        else if (wordIs(first, 'UNWATCH') && (this.#bits & MULTI) === 0) this.#bits &= ~WATCH;
        return;
    }
  }

  /** The session was reset (RESET + handshake): the configured state again. */
  clear(): void {
    this.#bits = 0;
  }

  #endTransaction(): void {
    // EXEC/DISCARD without MULTI fail and leave a WATCH in place.
    if ((this.#bits & MULTI) !== 0) this.#bits &= ~(MULTI | WATCH);
  }

  #select(db: number): void {
    if (db !== this.#configuredDb) this.#bits |= OTHER_DB;
    else if ((this.#bits & MULTI) === 0) this.#bits &= ~OTHER_DB;
  }
}
