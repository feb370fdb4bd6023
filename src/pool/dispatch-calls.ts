/**
 * Protocol conveniences over `pool.dispatch`: `pool.command(args)` for sessions with a
 * `command()` (`resp()`), `pool.request(payload)` for sessions with a `request()`
 * (`wire()`). Each is a module-level runner handed to the core with the call's argument,
 * so a command costs no closure of its own; the caller's `signal` goes on to the session
 * (an options object is made only when there is one).
 *
 * The session shapes are structural: any protocol whose sessions have the method gets the
 * convenience at the type level (`pool.command` on a `Pool<WireSession>` does not
 * compile), and a session without it at run time fails with `WW_DISPATCH_UNSUPPORTED`.
 */
import { DispatchUnsupportedError } from '../errors.js';
import type { RespArg } from '../transport/resp-encoder.js';

/** Sessions `pool.command` works with (`RespSession`). */
export interface CommandSession {
  command(args: readonly RespArg[], options?: { readonly signal?: AbortSignal }): Promise<unknown>;
}

/** Sessions `pool.request` works with (`WireSession`). */
export interface RequestSession {
  request(payload: unknown, options?: { readonly signal?: AbortSignal }): Promise<unknown>;
}

/** `pool.command`'s runner. */
export function runCommand(conn: CommandSession, args: readonly RespArg[], signal: AbortSignal | undefined): Promise<unknown> {
  if (typeof conn?.command !== 'function') throw missing('command', 'resp()');
  return signal === undefined ? conn.command(args) : conn.command(args, { signal });
}

/** `pool.request`'s runner. */
export function runRequest(conn: RequestSession, payload: unknown, signal: AbortSignal | undefined): Promise<unknown> {
  if (typeof conn?.request !== 'function') throw missing('request', 'wire()');
  return signal === undefined ? conn.request(payload) : conn.request(payload, { signal });
}

function missing(method: string, protocol: string): DispatchUnsupportedError {
  return new DispatchUnsupportedError(
    `pool.${method}() needs sessions with a ${method}() method (${protocol}); this pool's have none: use pool.dispatch()`,
  );
}
