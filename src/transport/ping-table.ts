/**
 * The PINGs a wire session waits a PONG for.
 *
 *   add(id, ping) ──▶ [latest ping inline │ older ones in a Map] ──take(id) on PONG──▶ resolve
 *                            └── its signal aborts ──▶ removed, rejected (AbortedError)
 *
 * The heartbeat sends one ping per idle connection per interval, and waits for it before
 * the next: the latest ping is kept in fields, and the Map for older ones (several pings
 * in flight) is created when first needed. An idle session, 10k of them, holds no table.
 */
import { addAbortListener } from 'node:events';
import { AbortedError } from '../errors.js';

/** One ping waiting for its PONG. */
export interface PendingPing {
  readonly resolve: (rttMs: number) => void;
  readonly reject: (err: Error) => void;
  readonly sentAt: number;
  /** Its signal's abort listener, removed with the ping. */
  abort?: Disposable;
}

/** @internal The pending pings of one session. */
export class PingTable {
  readonly #where: string;
  #latestId = -1;
  #latest: PendingPing | undefined;
  #older: Map<number, PendingPing> | undefined;

  /** `where` names the peer in the `AbortedError` of an aborted ping. */
  constructor(where: string) {
    this.#where = where;
  }

  get size(): number {
    return (this.#latest ? 1 : 0) + (this.#older?.size ?? 0);
  }

  /** Adds a ping; when `signal` aborts first, the ping is removed and rejects. */
  add(id: number, ping: PendingPing, signal: AbortSignal | undefined): void {
    if (this.#latest) (this.#older ??= new Map()).set(this.#latestId, this.#latest);
    this.#latestId = id;
    this.#latest = ping;
    if (signal) {
      ping.abort = addAbortListener(signal, () => {
        if (this.take(id) === ping) ping.reject(new AbortedError(`ping to ${this.#where} aborted`, { cause: signal.reason }));
      });
    }
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
    ping.abort?.[Symbol.dispose]();
    return ping;
  }

  /** Removes every ping; returns them (to reject them). */
  clear(): PendingPing[] {
    const out: PendingPing[] = [];
    if (this.#older) for (const ping of this.#older.values()) out.push(ping);
    if (this.#latest) out.push(this.#latest);
    this.#older = undefined;
    this.#latest = undefined;
    for (const ping of out) ping.abort?.[Symbol.dispose]();
    return out;
  }
}
