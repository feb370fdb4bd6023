/**
 * Why neither connection logic restores a persisted snapshot: the socket, the session and
 * the timers live in the connection's live half, which a snapshot does not carry (it is
 * plain data) and which only `input` can build. A restored actor would sit in `ready` with
 * no ticker and no stream — alive in name only — so restoring is refused, for
 * `connectionMachine` and `connectionModel` alike, with the same typed error.
 */
import { InvalidOptionError } from '../errors.js';

/** `restoreSnapshot` of both connection logics: always throws `WW_INVALID_OPTION`. */
export function refuseRestore(): never {
  throw new InvalidOptionError('a connection actor cannot be restored from a persisted snapshot: its socket does not survive persistence; start a new one');
}
