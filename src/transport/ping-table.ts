/**
 * The PINGs a wire session waits a PONG for, and the abort signals they watch.
 *
 *   add(id, signal) ──▶ [latest ping inline | older ones in a Map]
 *        │                                   ▲ PONG: take(id)
 *        └─ watch(signal): one listener per signal, kept across pings ─▶ abort: reject its pings
 *
 * Trade-offs, for the heartbeat path (one ping per idle connection per interval, 10k
 * connections):
 * - The latest ping is kept in fields, older ones (several pings in flight, rare) in a
 *   Map created when first needed: an idle session allocates no table.
 * - A signal is watched once and stays watched after its ping answered: the connection
 *   actor hands the same signal to consecutive probes until one is abandoned, so a ping
 *   adds no listener (adding and removing one costs ~0.8 µs). One signal is watched at a
 *   time; when a ping brings another signal, the old listener goes if no pending ping
 *   uses the old signal, otherwise the new ping gets a listener of its own, removed with
 *   the ping. So a caller with a fresh signal per ping leaves at most one listener behind.
 */
import { addAbortListener } from 'node:events';

/** One ping waiting for its PONG. */
export interface PendingPing {
  readonly resolve: (rttMs: number) => void;
  readonly reject: (err: Error) => void;
  readonly sentAt: number;
  readonly signal: AbortSignal | undefined;
  /** A listener of its own, when its signal is not the watched one. */
  own?: Disposable;
}

/** @internal The pending pings of one session. */
export class PingTable {
  readonly #onAbort: (ping: PendingPing, signal: AbortSignal) => void;
  #latestId = -1;
  #latest: PendingPing | undefined;
  #older: Map<number, PendingPing> | undefined;
  #watched: AbortSignal | undefined;
  #watchedListener: Disposable | undefined;

  /** `onAbort` rejects a ping whose signal aborted (it was already removed). */
  constructor(onAbort: (ping: PendingPing, signal: AbortSignal) => void) {
    this.#onAbort = onAbort;
  }

  get size(): number {
    return (this.#latest ? 1 : 0) + (this.#older?.size ?? 0);
  }

  add(id: number, ping: PendingPing): void {
    if (this.#latest) (this.#older ??= new Map()).set(this.#latestId, this.#latest);
    this.#latestId = id;
    this.#latest = ping;
    if (ping.signal) this.#watch(ping);
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
    ping.own?.[Symbol.dispose]();
    return ping;
  }

  /** Removes every ping and listener; returns the pings (to reject them). */
  clear(): PendingPing[] {
    const out: PendingPing[] = [];
    if (this.#older) for (const ping of this.#older.values()) out.push(ping);
    if (this.#latest) out.push(this.#latest);
    this.#older = undefined;
    this.#latest = undefined;
    this.#watchedListener?.[Symbol.dispose]();
    this.#watched = this.#watchedListener = undefined;
    for (const ping of out) ping.own?.[Symbol.dispose]();
    return out;
  }

  #watch(ping: PendingPing): void {
    const signal = ping.signal!;
    if (signal === this.#watched) return;
    if (this.#watched !== undefined && this.#uses(this.#watched)) {
      ping.own = addAbortListener(signal, () => this.#abortOne(ping));
      return;
    }
    this.#watchedListener?.[Symbol.dispose]();
    this.#watched = signal;
    this.#watchedListener = addAbortListener(signal, () => this.#abortWatched(signal));
  }

  #uses(signal: AbortSignal): boolean {
    if (this.#latest?.signal === signal) return true;
    if (this.#older) for (const ping of this.#older.values()) if (ping.signal === signal) return true;
    return false;
  }

  #abortWatched(signal: AbortSignal): void {
    if (this.#watched === signal) {
      this.#watchedListener?.[Symbol.dispose]();
      this.#watched = this.#watchedListener = undefined;
    }
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
      this.#latest = undefined;
    }
    for (const ping of aborted) this.#onAbort(ping, signal);
  }

  #abortOne(ping: PendingPing): void {
    if (this.#latest === ping) {
      this.#latest = undefined;
    } else {
      let found = false;
      if (this.#older) for (const [id, p] of this.#older) if (p === ping) found = this.#older.delete(id);
      if (!found) return;
    }
    ping.own?.[Symbol.dispose]();
    this.#onAbort(ping, ping.signal!);
  }
}
