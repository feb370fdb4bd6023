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

/**
 * How a child asks its restart to be paced, through its output's `restartPace`:
 * `immediate` — a retirement, not a failure (its owner replaced it on purpose): the attempt
 * counter never grows, no restart intensity is counted, and it restarts at once unless it
 * was short-lived after failures (then at its current delay); `slowest` — a
 * failure retrying soon cannot fix (a refused handshake): the policy's slowest delay.
 */
export type RestartPace = 'immediate' | 'slowest';

/** One exit of one child incarnation, as plain data. */
export interface ChildExit {
  /** `closed`, `dead`'s reason, `restart-intensity`, `error` (crash), `killed` (forced stop)… */
  readonly reason: string;
  readonly normal: boolean;
  /** The output's `error`, or the crash error. */
  readonly error?: unknown;
  /**
   * How long the incarnation was healthy, from its output's `uptimeMs` (a connection:
   * since it was first `ready`). The backoff starts over when it reaches `resetAfterMs`;
   * without it, the time since the incarnation was spawned counts.
   */
  readonly uptimeMs?: number;
  readonly restartPace?: RestartPace;
}

/** Reads a final output. */
export function exitFromOutput(output: unknown): ChildExit {
  if (output === undefined) return { reason: 'normal', normal: true };
  const o = output as { reason?: unknown; error?: unknown; uptimeMs?: unknown; restartPace?: unknown } | null;
  const reason = typeof o?.reason === 'string' ? o.reason : 'unknown';
  const exit: { -readonly [K in keyof ChildExit]: ChildExit[K] } = { reason, normal: NORMAL_EXIT_REASONS.has(reason) };
  if (o?.error !== undefined) exit.error = o.error;
  if (typeof o?.uptimeMs === 'number' && o.uptimeMs >= 0) exit.uptimeMs = o.uptimeMs;
  if (o?.restartPace === 'immediate' || o?.restartPace === 'slowest') exit.restartPace = o.restartPace;
  return exit;
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
