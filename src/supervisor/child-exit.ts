/**
 * How a supervisor reads a child's exit (OTP's normal/shutdown versus everything else).
 *
 * A child exits by reaching a final state (XState `done`, with an output) or by
 * crashing (XState `error`). DESIGN.md's rule: an output `reason` of `closed`, `normal`
 * or `shutdown` is normal; any other output (a connection's `dead`, a supervisor's
 * `restart-intensity`) and any actor error is abnormal. A final state without output is
 * a plain return (OTP `normal`); an output without a string `reason` is `unknown`, which
 * counts as abnormal: better one needless restart than a silently missing connection.
 */
import type { RestartType } from './supervisor-spec.js';

/** Output reasons that count as a normal exit. */
export const NORMAL_EXIT_REASONS: ReadonlySet<string> = new Set(['closed', 'normal', 'shutdown']);

/** One exit of one child incarnation, as plain data. */
export interface ChildExit {
  /** `closed`, `dead`'s reason, `restart-intensity`, `error` (crash), `killed` (forced stop)… */
  readonly reason: string;
  readonly normal: boolean;
  /** The output's `error`, or the crash error. */
  readonly error?: unknown;
}

/** Reads a final output. */
export function exitFromOutput(output: unknown): ChildExit {
  if (output === undefined) return { reason: 'normal', normal: true };
  const o = output as { reason?: unknown; error?: unknown } | null;
  const reason = typeof o?.reason === 'string' ? o.reason : 'unknown';
  const exit: ChildExit = { reason, normal: NORMAL_EXIT_REASONS.has(reason) };
  return o?.error === undefined ? exit : { ...exit, error: o.error };
}

/** Reads an actor error (a throw in an action, a rejected promise actor…). */
export function exitFromError(error: unknown): ChildExit {
  return { reason: 'error', normal: false, error };
}

/** A child forced to stop after ignoring `CLOSE` for its `shutdownMs`. */
export const KILLED: ChildExit = Object.freeze({ reason: 'killed', normal: false });

/** OTP's restart types: `permanent` always, `transient` after abnormal exits only, `temporary` never. */
export function shouldRestart(restart: RestartType, exit: ChildExit): boolean {
  if (restart === 'permanent') return true;
  if (restart === 'transient') return !exit.normal;
  return false;
}
