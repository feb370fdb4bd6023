/**
 * The workload's outcomes per phase of the timeline, so that a scenario can say what
 * callers saw *during* a fault and *after* it, not only over the whole run:
 *
 *   phase 0 "before the first step" ─ step 1 "blackhole" ─ step 2 "heal" ─▶ end
 *   each request counts in the phase that issued it, whenever its outcome arrives
 *
 * Counted per request in small typed arrays indexed by id (the ledger's ids are dense),
 * never a Map or an object per request: a long simulated run issues hundreds of
 * thousands. Latencies are kept per phase only for acknowledged requests.
 */
import type { PhaseOutcome } from './scenario-types.js';
import { summarize } from './scenario-report.js';

const TIMEOUT_CODES = new Set(['WW_REQUEST_TIMEOUT', 'WW_POOL_TIMEOUT']);

interface Phase {
  readonly label: string;
  readonly startedAt: number;
  endedAt: number | undefined;
  issued: number;
  ok: number;
  failed: number;
  timedOut: number;
  mismatched: number;
  readonly failuresByCode: Map<string, number>;
  readonly latencies: number[];
}

/** The first phase's label. */
export const FIRST_PHASE = 'before the first step';

/** @internal The per-phase half of the request ledger. */
export class PhaseOutcomes {
  readonly #now: () => number;
  readonly #origin: () => number;
  readonly #phases: Phase[] = [];
  /** Phase index of request `id`, and when it was issued (scheduler time). */
  #phaseOf = new Uint16Array(1024);
  #issuedAt = new Float64Array(1024);

  /** `now` is scheduler time; reported times are relative to `origin()` (the timeline's start). */
  constructor(now: () => number, origin: () => number) {
    this.#now = now;
    this.#origin = origin;
  }

  /** A new phase begins now (the timeline started, or a step ran); the current one ends. */
  start(label: string): void {
    if (this.#phases.length >= 0xffff) return; // bounded: later steps count in the last phase
    const now = this.#now();
    const current = this.#phases.at(-1);
    if (current) current.endedAt = now;
    this.#phases.push({
      label, startedAt: now, endedAt: undefined, issued: 0, ok: 0, failed: 0, timedOut: 0, mismatched: 0,
      failuresByCode: new Map(), latencies: [],
    });
  }

  /** The timeline is over: the current phase ends (requests still in flight keep counting in it). */
  end(): void {
    const current = this.#phases.at(-1);
    if (current && current.endedAt === undefined) current.endedAt = this.#now();
  }

  issued(id: number): void {
    if (this.#phases.length === 0) this.start(FIRST_PHASE);
    if (id >= this.#phaseOf.length) {
      let size = this.#phaseOf.length * 2;
      while (size <= id) size *= 2;
      const phaseOf = new Uint16Array(size);
      phaseOf.set(this.#phaseOf);
      const issuedAt = new Float64Array(size);
      issuedAt.set(this.#issuedAt);
      this.#phaseOf = phaseOf;
      this.#issuedAt = issuedAt;
    }
    const index = this.#phases.length - 1;
    this.#phaseOf[id] = index;
    this.#issuedAt[id] = this.#now();
    this.#phases[index]!.issued++;
  }

  ok(id: number): void {
    const phase = this.#phases[this.#phaseOf[id]!]!;
    phase.ok++;
    phase.latencies.push(this.#now() - this.#issuedAt[id]!);
  }

  failed(id: number, code: string): void {
    const phase = this.#phases[this.#phaseOf[id]!]!;
    phase.failed++;
    if (TIMEOUT_CODES.has(code)) phase.timedOut++;
    phase.failuresByCode.set(code, (phase.failuresByCode.get(code) ?? 0) + 1);
  }

  /** A reply for another request: neither ok nor failed (the run-wide `mismatched` says so). */
  mismatched(id: number): void {
    this.#phases[this.#phaseOf[id]!]!.mismatched++;
  }

  snapshot(): PhaseOutcome[] {
    const origin = this.#origin();
    return this.#phases.map((p) => {
      const failuresByCode: Record<string, number> = {};
      for (const code of [...p.failuresByCode.keys()].sort()) failuresByCode[code] = p.failuresByCode.get(code)!;
      return {
        label: p.label,
        startedAt: p.startedAt - origin,
        endedAt: p.endedAt === undefined ? undefined : p.endedAt - origin,
        issued: p.issued,
        ok: p.ok,
        failed: p.failed,
        timedOut: p.timedOut,
        failuresByCode,
        inFlight: p.issued - p.ok - p.failed - p.mismatched,
        latency: summarize(p.latencies),
      };
    });
  }
}
