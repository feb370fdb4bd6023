/**
 * The PINGs a wire session waits a PONG for, and how their abort signals reach them.
 *
 *   add(id, ping, signal) ──▶ [latest ping inline │ older ones in a Map] ──take(id) on PONG──▶ resolve
 *                                    ▲
 *   signal aborts ──▶ onPingSignalAbort (one per signal, ever) ──▶ tables using it ──▶ reject
 *
 * Trade-offs, for the heartbeat path (one ping per idle connection per interval, 10k
 * connections):
 * - The latest ping is kept in fields, and the Map for older ones (several pings in
 *   flight) is created when first needed: an idle session holds no table.
 * - No listener is added and removed per ping (measured ~3 µs per heartbeat at 10k,
 *   with ~1 KB of garbage). A signal gets one module-level listener the first time a ping
 *   uses it, and keeps it; a WeakMap says which tables have a ping pending on it now.
 *   The connection actor recycles the signals of answered probes (src/actors/
 *   probe-controllers.ts), so the same few signals serve every ping, and it counts this
 *   listener as harmless (`isRecyclableAbortListener`): it does nothing for a signal no
 *   ping waits on. A caller's own long-lived signal gets the same single listener, which
 *   holds no session (only the WeakMap entry does, while a ping is pending).
 */
import { AbortedError } from '../errors.js';
import type { ProbeListener } from './types.js';

/** One ping waiting for its PONG. */
export interface PendingPing {
  readonly resolve: (rttMs: number) => void;
  readonly reject: (err: Error) => void;
  readonly sentAt: number;
  readonly signal: AbortSignal | undefined;
  /**
   * Optional: the PONG came after the ping was aborted (a probe that timed out). Only the
   * last aborted ping of a session is remembered for this (see `PingTable.takeLate`).
   */
  readonly late?: (rttMs: number) => void;
}

/**
 * A ping reported to a `ProbeListener` instead of a promise (`WireSession.pingWith`): one
 * object per ping, its methods on the prototype.
 */
export class ListenerPing implements PendingPing {
  readonly sentAt: number;
  readonly signal: AbortSignal | undefined;
  readonly #listener: ProbeListener;
  readonly #token: number;

  constructor(listener: ProbeListener, token: number, sentAt: number, signal: AbortSignal | undefined) {
    this.#listener = listener;
    this.#token = token;
    this.sentAt = sentAt;
    this.signal = signal;
  }

  resolve(): void {
    this.#listener.probeSettled(this.#token, true);
  }

  reject(): void {
    this.#listener.probeSettled(this.#token, false);
  }

  late(): void {
    this.#listener.probeAnsweredLate?.(this.#token);
  }
}

/**
 * Tables with a ping pending on each signal. The common case — a recycled probe signal,
 * used by one ping at a time — is a single table, overwritten by the next ping and never
 * deleted (a table no longer waiting on the signal ignores its abort), so the heartbeat
 * path does no Set add/delete per ping (each churned the Set's hash table). A signal shared
 * by pings of several sessions at once gets a Set.
 */
const tablesBySignal = new WeakMap<AbortSignal, PingTable | Set<PingTable>>();
/** Signals that carry `onPingSignalAbort` (it stays until the signal aborts). */
const watched = new WeakSet<AbortSignal>();

function onPingSignalAbort(this: AbortSignal): void {
  const tables = tablesBySignal.get(this);
  tablesBySignal.delete(this);
  if (tables instanceof PingTable) tables.abortPings(this);
  else if (tables) for (const table of tables) table.abortPings(this);
}

/**
 * Whether `listener` is the ping table's shared abort listener, which acts only for
 * pings pending on the signal, so a signal carrying it may serve another probe.
 */
export function isRecyclableAbortListener(listener: unknown): boolean {
  return listener === onPingSignalAbort;
}

/** @internal The pending pings of one session. */
export class PingTable {
  readonly #where: string;
  #latestId = -1;
  #latest: PendingPing | undefined;
  #older: Map<number, PendingPing> | undefined;
  /**
   * The latest ping aborted by its signal (a probe that timed out), kept so that its PONG,
   * if it still comes, is a measured round trip: ping ids are unique, so a late answer is
   * not ambiguous. One slot, overwritten, no allocation.
   */
  #abortedId = -1;
  #aborted: PendingPing | undefined;

  /** `where` names the peer in the `AbortedError` of an aborted ping. */
  constructor(where: string) {
    this.#where = where;
  }

  get size(): number {
    return (this.#latest ? 1 : 0) + (this.#older?.size ?? 0);
  }

  /** Adds a ping; when its signal aborts first, the ping is removed and rejects. */
  add(id: number, ping: PendingPing): void {
    if (this.#latest) (this.#older ??= new Map()).set(this.#latestId, this.#latest);
    this.#latestId = id;
    this.#latest = ping;
    const signal = ping.signal;
    if (signal === undefined) return;
    if (!watched.has(signal)) {
      watched.add(signal);
      signal.addEventListener('abort', onPingSignalAbort, { once: true });
    }
    const tables = tablesBySignal.get(signal);
    if (tables === undefined || tables === this) tablesBySignal.set(signal, this);
    else if (tables instanceof PingTable) {
      // Another table holds the slot: share it only if that table still waits on the signal.
      if (tables.waitsOn(signal)) tablesBySignal.set(signal, new Set([tables, this]));
      else tablesBySignal.set(signal, this);
    } else tables.add(this);
  }

  /** Removes and returns the ping with `id`, if it is pending. */
  take(id: number): PendingPing | undefined {
    let ping: PendingPing | undefined;
    if (this.#latest && this.#latestId === id) {
      ping = this.#latest;
      this.#latest = undefined;
    } else {
      ping = this.#older?.get(id);
      if (!ping) return undefined;
      this.#older!.delete(id);
    }
    if (ping.signal !== undefined && !this.waitsOn(ping.signal)) this.#release(ping.signal);
    return ping;
  }

  /** The PONG `id` matched no pending ping: the last aborted one, if it is that, once. */
  takeLate(id: number): PendingPing | undefined {
    if (this.#aborted === undefined || this.#abortedId !== id) return undefined;
    const ping = this.#aborted;
    this.#aborted = undefined;
    return ping;
  }

  /** Removes every ping; returns them (to reject them). */
  clear(): PendingPing[] {
    this.#aborted = undefined;
    const out: PendingPing[] = [];
    if (this.#older) for (const ping of this.#older.values()) out.push(ping);
    if (this.#latest) out.push(this.#latest);
    this.#older = undefined;
    this.#latest = undefined;
    for (const ping of out) if (ping.signal !== undefined) this.#release(ping.signal);
    return out;
  }

  /** @internal `signal` aborted: its pending pings reject with `AbortedError`. */
  abortPings(signal: AbortSignal): void {
    const aborted: PendingPing[] = [];
    if (this.#older) {
      for (const [id, ping] of this.#older) {
        if (ping.signal !== signal) continue;
        this.#older.delete(id);
        aborted.push(ping);
      }
    }
    if (this.#latest?.signal === signal) {
      aborted.push(this.#latest);
      this.#abortedId = this.#latestId;
      this.#aborted = this.#latest;
      this.#latest = undefined;
    }
    for (const ping of aborted) ping.reject(new AbortedError(`ping to ${this.#where} aborted`, { cause: signal.reason }));
  }

  /** @internal Whether a ping of this table is pending on `signal`. */
  waitsOn(signal: AbortSignal): boolean {
    if (this.#latest?.signal === signal) return true;
    if (this.#older) for (const ping of this.#older.values()) if (ping.signal === signal) return true;
    return false;
  }

  /**
   * No ping of this table waits on `signal` any more. A single-table entry stays (stale
   * but harmless: `abortPings` finds nothing); a shared set drops this table.
   */
  #release(signal: AbortSignal): void {
    const tables = tablesBySignal.get(signal);
    if (tables instanceof Set) tables.delete(this);
  }
}
