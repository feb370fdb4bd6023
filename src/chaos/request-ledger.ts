/**
 * The two sides of every scenario request: what the clients issued and saw acknowledged,
 * and what the server executed. Comparing them is the "no acknowledged request lost or
 * duplicated" invariant:
 *
 *   lost        = acknowledged, but the server never executed it
 *   duplicated  = executed more than once (a replay: a retried or duplicated frame)
 *   mismatched  = acknowledged with a reply meant for another request
 *
 * A failed request (timeout, lost connection) proves nothing either way and is allowed
 * under faults: the server may or may not have executed it. A server that never reports
 * executions (a target running elsewhere) leaves `lost` and `duplicated` unknowable:
 * `executionsObserved` says so, rather than every acknowledged request counting as lost.
 * A request of the user's (`target.request`) is acknowledged when it resolves: only the
 * default wire request carries its id back to be compared.
 *
 * Ids are dense integers from 1, so the executed counts live in a growable typed array
 * rather than a Map: a long run records a few hundred thousand ids cheaply.
 */
import { WirewardenError } from '../errors.js';
import { PhaseOutcomes } from './phase-outcomes.js';
import type { PhaseOutcome, RequestCounts } from './scenario-types.js';

/** `ack`'s reply id when the reply carries none to compare (a user's request). */
export const UNCHECKED = Symbol('unchecked reply');

export class RequestLedger {
  readonly #phases: PhaseOutcomes;
  #lastId = 0;
  #executed = new Uint8Array(1024);
  #acked = new Uint8Array(1024);
  #ok = 0;
  #failed = 0;
  #inFlight = 0;
  #lost = 0;
  #duplicated = 0;
  #mismatched = 0;
  readonly #failuresByCode = new Map<string, number>();
  #executionsObserved = false;

  /** `now` is scheduler time; phase times are reported relative to `origin()`. */
  constructor(now: () => number, origin: () => number) {
    this.#phases = new PhaseOutcomes(now, origin);
  }

  /** Requests issued from now on count in a new phase (the timeline started, or a step ran). */
  startPhase(label: string): void {
    this.#phases.start(label);
  }

  /** The timeline ended. */
  endPhases(): void {
    this.#phases.end();
  }

  /** The server side reports executions (the runner's wire server does from the start). */
  observeExecutions(): void {
    this.#executionsObserved = true;
  }

  /** A new request id, counted as in flight. */
  issue(): number {
    this.#inFlight++;
    const id = ++this.#lastId;
    if (id >= this.#executed.length) {
      this.#executed = grow(this.#executed, id);
      this.#acked = grow(this.#acked, id);
    }
    this.#phases.issued(id);
    return id;
  }

  /** The server ran request `id` (called before it replies). */
  execute(id: number): void {
    this.#executionsObserved = true;
    if (!Number.isInteger(id) || id < 1 || id > this.#lastId) return;
    const n = this.#executed[id]!;
    if (n === 1) this.#duplicated++;
    if (n < 255) this.#executed[id] = n + 1;
  }

  /** The reply for `id` arrived; `replyId` is the id it carried, or `UNCHECKED`. */
  ack(id: number, replyId: unknown): void {
    this.#inFlight--;
    if (replyId !== id && replyId !== UNCHECKED) {
      this.#mismatched++;
      this.#phases.mismatched(id);
      return;
    }
    this.#ok++;
    this.#acked[id] = 1;
    this.#phases.ok(id);
    // Judged once the run is over when no execution was reported yet (see counts()).
    if (this.#executed[id] === 0 && this.#executionsObserved) this.#lost++;
  }

  fail(id: number, error: unknown): void {
    this.#inFlight--;
    this.#failed++;
    const code = error instanceof WirewardenError ? error.code : ((error as { code?: unknown } | undefined)?.code ?? 'unknown');
    const key = typeof code === 'string' ? code : 'unknown';
    this.#failuresByCode.set(key, (this.#failuresByCode.get(key) ?? 0) + 1);
    this.#phases.failed(id, key);
  }

  phases(): PhaseOutcome[] {
    return this.#phases.snapshot();
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  counts(): RequestCounts {
    const failuresByCode: Record<string, number> = {};
    for (const key of [...this.#failuresByCode.keys()].sort()) failuresByCode[key] = this.#failuresByCode.get(key)!;
    return {
      issued: this.#lastId,
      ok: this.#ok,
      failed: this.#failed,
      lost: this.#lost,
      duplicated: this.#duplicated,
      mismatched: this.#mismatched,
      inFlight: this.#inFlight,
      failuresByCode,
      executionsObserved: this.#executionsObserved,
    };
  }

  /** Acknowledged ids the server never executed (the first `limit`). */
  lostIds(limit = 10): number[] {
    const out: number[] = [];
    if (!this.#executionsObserved) return out;
    for (let id = 1; id <= this.#lastId && out.length < limit; id++) {
      if (this.#acked[id] === 1 && this.#executed[id] === 0) out.push(id);
    }
    return out;
  }

  /** Ids executed more than once (the first `limit`). */
  duplicatedIds(limit = 10): number[] {
    const out: number[] = [];
    for (let id = 1; id <= this.#lastId && out.length < limit; id++) {
      if (this.#executed[id]! > 1) out.push(id);
    }
    return out;
  }
}

function grow(array: Uint8Array<ArrayBuffer>, index: number): Uint8Array<ArrayBuffer> {
  let size = array.length * 2;
  while (size <= index) size *= 2;
  const next = new Uint8Array(size);
  next.set(array);
  return next;
}
