/**
 * The built-in request workload: `concurrency` loops, each leasing a connection from the
 * pool, sending one request with a fresh id (`{ id }`, or the scenario's own
 * `target.request`), waiting for its outcome, pausing `intervalMs` on the scheduler, and
 * going again until stopped.
 *
 * Closed-loop on purpose: a loop never has more than one request in flight, so an outage
 * does not pile up thousands of doomed requests (which would make a simulated run cost
 * as much as a real one) and the failure count stays readable. Requests are never retried:
 * a retry with the same id is exactly what the duplicate check must not hide.
 */
import type { SchedulerLike, Subscription } from 'rxjs';
import type { Pool } from '../pool/pool.js';
import { UNCHECKED, type RequestLedger } from './request-ledger.js';
import type { TargetRequest } from './scenario-target.js';
import type { WorkloadOptions } from './scenario-types.js';

export interface RunningWorkload {
  /** Stops issuing; requests in flight go on to their outcome. */
  stop(): void;
  /** Resolves when stopped and nothing is in flight. */
  readonly drained: Promise<void>;
}

/** @internal */
export function startWorkload<S>(
  pool: Pool<S>,
  request: TargetRequest<S>,
  scheduler: SchedulerLike,
  ledger: RequestLedger,
  options: Required<WorkloadOptions>,
): RunningWorkload {
  const { send, checksReplyId } = request;
  const { concurrency, intervalMs } = options;
  const timers = new Set<Subscription>();
  let stopped = false;
  let inFlight = 0;
  let onDrained!: () => void;
  const drained = new Promise<void>((resolve) => (onDrained = resolve));
  const checkDrained = () => {
    if (stopped && inFlight === 0) onDrained();
  };

  const next = (): void => {
    if (stopped) return;
    const sub = scheduler.schedule(() => {
      timers.delete(sub);
      issue();
    }, intervalMs);
    if (!sub.closed) timers.add(sub);
  };

  const issue = (): void => {
    if (stopped) return;
    const id = ledger.issue();
    inFlight++;
    // The pool's acquireTimeoutMs and the session's requestTimeoutMs are both `timeoutMs`
    // (run-scenario.ts): the defaults share one timer per pool and per session.
    pool.use((conn, signal) => send(conn, { id, signal })).then(
      (reply) => ledger.ack(id, checksReplyId ? (reply as { id?: unknown } | null)?.id : UNCHECKED),
      (err: unknown) => ledger.fail(id, err),
    ).finally(() => {
      inFlight--;
      checkDrained();
      next();
    });
  };

  for (let i = 0; i < concurrency; i++) issue();
  return {
    stop: () => {
      stopped = true;
      for (const sub of timers) sub.unsubscribe();
      timers.clear();
      checkDrained();
    },
    drained,
  };
}
