/**
 * Live discovery inside a pool: the pool watches its endpoint provider (endpoint-provider.ts,
 * e.g. `redisSentinel({ … })`) and follows each set it gives.
 *
 *   provider.watch(ctx) ──set──▶ validate ──bad──▶ 'discovery-error' (the last good set stays)
 *                                   │ good and different
 *                                   ▼
 *             table.setEndpoints ─▶ 'endpoints-changed' ─▶ drain the removed endpoints:
 *                                   idle, dialing, being checked → closed now (dials cancelled)
 *                                   leased → closed on release; shared → when its dispatches settle
 *                                   ▼
 *             grow: `min` and the queued callers get connections on the new set
 *
 *   pool ──hint──▶ ctx.refresh$ ──▶ the provider re-resolves at once (it rate-limits)
 *       'READONLY'     a call got Redis's READONLY: it reached a demoted master; every
 *                      connection to that endpoint retires (`stale`: idle and dialing ones
 *                      now, held ones when released or drained) and none is dialed to it
 *                      until the next set or `DEMOTED_HOLD_MS`, so a caller's retry goes
 *                      elsewhere or waits for the new master; the caller gets the error
 *                      (retryable)
 *       'unreachable'  a dial failed and every endpoint of the set is failing
 *   Each kind at most once per `HINT_INTERVAL_MS`: during an outage every slot's dial fails
 *   on its own backoff, and every call in flight on a demoted master says READONLY.
 *
 * Until the first set the pool has no endpoint: acquires and dispatches wait as in a
 * pool whose first dials run (within `acquireTimeoutMs`, with the last discovery error as
 * the timeout's cause) and `health()` says `discovering`. An empty set is refused like any
 * invalid one: a glitch in a registry must not close every connection of the pool.
 *
 * Draining goes through the pool's ordinary paths: a removed endpoint's leased and shared
 * connections are retired (`SlotTable.retire`), so the lifetime checks that run on release,
 * on a dispatch's settle and on every pick close them, never mid-lease.
 */
import { Subject, type SchedulerLike, type Subscription } from 'rxjs';
import { DiscoveryError, WirewardenError } from '../errors.js';
import { Alarm } from './alarm.js';
import type { EndpointRecord } from './endpoint-record.js';
import type { DiscoveryContext, EndpointProvider } from './endpoint-provider.js';
import type { PoolEvent } from './pool-events.js';
import { describeError, type DiscoveryHealth } from './pool-health.js';
import { endpointKey, parseEndpointList, type PoolEndpoint } from './pool-options.js';
import type { Slot } from './slot.js';
import type { SlotLifecycle } from './slot-lifecycle.js';
import type { SlotTable } from './slot-table.js';

export interface PoolDiscoveryDeps<C> {
  readonly provider: EndpointProvider;
  readonly scheduler: SchedulerLike;
  readonly table: SlotTable<C>;
  readonly life: SlotLifecycle<C>;
  readonly emit: (event: PoolEvent) => void;
  /** The set changed, before the pool grows on it (shared dispatch resizes its scratch). */
  readonly changed: () => void;
}

/**
 * At most one hint of each kind per this long: during an outage every slot's dial fails on
 * its own backoff, every call in flight on a demoted master gets READONLY, and a function
 * provider runs a lookup per hint it gets while healthy.
 */
const HINT_INTERVAL_MS = 1000;

/**
 * A demoted endpoint (it said READONLY) gets no new connection for this long unless a new
 * set comes first: long enough for the provider to answer the hint (Sentinel's failover has
 * happened: it only has to be asked), short enough that a provider which still names it,
 * because it is the master again, costs one second of dials.
 */
const DEMOTED_HOLD_MS = 1000;

/** First resubscription after a provider's Observable errored; doubles up to `MAX_RETRY_MS`. */
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 30_000;

/**
 * True for Redis's `READONLY` reply (a write reached a replica, i.e. a demoted master): our
 * `resp()`'s `RemoteError` (its `cause.code`), or another client's error carrying the reply
 * text (ioredis's `ReplyError`, node-redis's `ErrorReply` under `custom()`).
 */
export function isReadonlyReply(error: unknown): boolean {
  if (error instanceof WirewardenError) {
    return error.code === 'WW_REMOTE_ERROR' && (error.cause as { code?: unknown } | undefined)?.code === 'READONLY';
  }
  return error instanceof Error && error.message.startsWith('READONLY ');
}

/** @internal One pool's discovery: built by the core when `endpoints` is a provider. */
export class PoolDiscovery<C> {
  readonly #d: PoolDiscoveryDeps<C>;
  readonly #refresh$ = new Subject<string>();
  readonly #ctx: DiscoveryContext;
  #sub: Subscription | undefined;
  #retry: Subscription | undefined;
  #failures = 0;
  #stopped = false;
  #current: ReadonlyMap<string, PoolEndpoint> | undefined;
  #updatedAt: number | undefined;
  #changes = 0;
  #errors = 0;
  #lastError: unknown;
  #lastErrorAt = 0;
  #unreachableHintAt = Number.NEGATIVE_INFINITY;
  #readonlyHintAt = Number.NEGATIVE_INFINITY;
  /** Demoted endpoints and when their hold ends (scheduler time). */
  readonly #demoted = new Map<EndpointRecord, number>();
  readonly #holdAlarm: Alarm;

  constructor(deps: PoolDiscoveryDeps<C>) {
    this.#d = deps;
    this.#ctx = Object.freeze({
      scheduler: deps.scheduler,
      refresh$: this.#refresh$.asObservable(),
      report: (error: Error) => this.#report(error),
    });
    this.#holdAlarm = new Alarm(deps.scheduler, (now) => this.#endHolds(now));
  }

  /** The provider's kind, for events and health. */
  get source(): string {
    return this.#d.provider.kind;
  }

  /** Subscribes to the provider (a set it has at once is taken before this returns). */
  start(): void {
    if (this.#stopped || this.#sub !== undefined) return;
    let sub: Subscription | undefined;
    try {
      sub = this.#d.provider.watch(this.#ctx).subscribe({
        next: (set) => {
          this.#failures = 0;
          this.#take(set);
        },
        // A provider should not error (it reports instead); one that does is watched again later.
        error: (err: unknown) => {
          this.#report(err instanceof Error ? err : new DiscoveryError(`${this.source} failed: ${String(err)}`));
          this.#resubscribeLater();
        },
      });
    } catch (err) {
      this.#report(err instanceof Error ? err : new DiscoveryError(`${this.source} failed: ${String(err)}`));
      this.#resubscribeLater();
      return;
    }
    if (sub.closed) return;
    this.#sub = sub;
  }

  /** Closes the provider's subscription (its sockets and timers) and any retry. Idempotent. */
  stop(): void {
    this.#stopped = true;
    this.#holdAlarm.cancel();
    this.#retry?.unsubscribe();
    this.#retry = undefined;
    this.#sub?.unsubscribe();
    this.#sub = undefined;
    this.#refresh$.complete();
  }

  /** Asks the provider to re-resolve now; `why` as `ctx.refresh$` documents it. */
  hint(why: 'READONLY' | 'unreachable'): void {
    if (!this.#stopped) this.#refresh$.next(why);
  }

  /**
   * A call on `slot` failed. A READONLY reply: the connection reached a demoted master, and
   * so does every other connection to that endpoint. They all retire (idle and dialing ones
   * now; held ones on release, or when their dispatches settle — they take no new one), the
   * endpoint gets no new connection until the next set or `DEMOTED_HOLD_MS`, and the
   * provider is asked to re-resolve. Any other error is not discovery's business.
   */
  callFailed(slot: Slot<C>, error: unknown): void {
    if (!isReadonlyReply(error)) return;
    const rec = slot.site;
    if (!rec.demoted && !rec.removed) this.#demote(rec);
    else if (slot.ready && slot.retireReason === undefined) this.#d.table.retire(slot, 'stale');
    const now = this.#d.scheduler.now();
    if (now - this.#readonlyHintAt < HINT_INTERVAL_MS) return;
    this.#readonlyHintAt = now;
    this.hint('READONLY');
  }

  /** `rec` said READONLY: its connections retire, and it is dialed no more for a while. */
  #demote(rec: EndpointRecord): void {
    const { table, life, scheduler } = this.#d;
    rec.demoted = true;
    const until = scheduler.now() + DEMOTED_HOLD_MS;
    this.#demoted.set(rec, until);
    this.#holdAlarm.armAt(until);
    const close: Slot<C>[] = [];
    for (const slot of table.slots) {
      if (slot.site !== rec) continue;
      if (slot.state === 'leased' || slot.state === 'shared') {
        if (slot.retireReason === undefined) table.retire(slot, 'stale');
      } else {
        close.push(slot);
      }
    }
    for (const slot of close) {
      // A check may have closed it meanwhile (a validating waiter moved on).
      if (slot.state !== 'closing') life.closeSlot(slot, slot.state === 'pending' ? 'unavailable' : 'lifetime', 'stale');
    }
    // What `min` and the queues need, on the endpoints still dialed.
    life.grow();
  }

  /** Holds that ended: their endpoints may be dialed again, for what the pool needs. */
  #endHolds(now: number): void {
    let next = Number.POSITIVE_INFINITY;
    for (const [rec, until] of this.#demoted) {
      if (until <= now) {
        rec.demoted = false;
        this.#demoted.delete(rec);
      } else if (until < next) {
        next = until;
      }
    }
    if (next !== Number.POSITIVE_INFINITY) this.#holdAlarm.armAt(next);
    if (!this.#stopped) this.#d.life.grow();
  }

  /** A new set: it is the provider's answer, so no endpoint stays demoted. */
  #clearHolds(): void {
    for (const rec of this.#demoted.keys()) rec.demoted = false;
    this.#demoted.clear();
    this.#holdAlarm.cancel();
  }

  /**
   * A dial failed: when every endpoint of the set is failing, the set itself may be stale.
   * At most one hint per `HINT_INTERVAL_MS`.
   */
  dialFailed(): void {
    const t = this.#d.table;
    if (t.endpoints.length === 0 || !t.allFailing()) return;
    const now = this.#d.scheduler.now();
    if (now - this.#unreachableHintAt < HINT_INTERVAL_MS) return;
    this.#unreachableHintAt = now;
    this.hint('unreachable');
  }

  /** The cause for a timed-out acquire while no set has come yet; undefined once one has. */
  timeoutCause(): unknown {
    if (this.#current !== undefined) return undefined;
    return this.#lastError ?? new DiscoveryError(`no endpoint yet: ${this.source} has not given a set`);
  }

  health(): DiscoveryHealth {
    const base = {
      source: this.source,
      resolved: this.#current !== undefined,
      changes: this.#changes,
      errors: this.#errors,
      ...(this.#updatedAt === undefined ? {} : { updatedAt: this.#updatedAt }),
    };
    const last = describeError(this.#lastError);
    return Object.freeze(last === undefined ? base : { ...base, lastError: { ...last, at: this.#lastErrorAt } });
  }

  #report(error: Error): void {
    if (this.#stopped) return;
    const at = this.#d.scheduler.now();
    this.#errors++;
    this.#lastError = error;
    this.#lastErrorAt = at;
    this.#d.emit({ type: 'discovery-error', at, source: this.source, error });
  }

  #resubscribeLater(): void {
    this.#sub = undefined;
    if (this.#stopped) return;
    this.#failures++;
    const delayMs = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(this.#failures - 1, 16));
    this.#retry?.unsubscribe();
    this.#retry = this.#d.scheduler.schedule(() => {
      this.#retry = undefined;
      this.start();
    }, delayMs);
  }

  /** Validates a set and, when it differs from the current one, moves the pool to it. */
  #take(input: unknown): void {
    if (this.#stopped) return;
    let list: readonly PoolEndpoint[];
    try {
      list = parseEndpointList(input, 'set');
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      this.#report(new DiscoveryError(`pool.endpoints: ${this.source} gave a set the pool refused (the last good set stays in use): ${why}`, { cause: err }));
      return;
    }
    const next = new Map(list.map((e) => [endpointKey(e), e]));
    if (this.#current !== undefined && sameSet(this.#current, next)) return;
    this.#current = next;
    const { table, life } = this.#d;
    const at = this.#d.scheduler.now();
    this.#updatedAt = at;
    this.#changes++;
    this.#clearHolds();
    const { added, removed } = table.setEndpoints(list);
    // The removed endpoints' slots: those nobody holds close now, the held ones drain.
    const close: Slot<C>[] = [];
    const drain: Slot<C>[] = [];
    for (const slot of table.slots) {
      if (!slot.site.removed) continue;
      if (slot.state === 'leased' || slot.state === 'shared') drain.push(slot);
      else close.push(slot);
    }
    this.#d.emit({
      type: 'endpoints-changed', at, source: this.source, endpoints: [...next.keys()], added, removed,
      closed: close.length, draining: drain.length,
    });
    for (const slot of drain) table.retire(slot, 'removed');
    for (const slot of close) {
      // A check may have closed it meanwhile (a validating waiter moved on).
      if (slot.state !== 'closing') life.closeSlot(slot, 'lifetime', 'removed');
    }
    this.#d.changed();
    life.grow();
  }
}

/** Same keys with the same priority, weight and server name. */
function sameSet(a: ReadonlyMap<string, PoolEndpoint>, b: ReadonlyMap<string, PoolEndpoint>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, e] of a) {
    const f = b.get(key);
    if (f === undefined || f.priority !== e.priority || f.weight !== e.weight || f.servername !== e.servername) return false;
  }
  return true;
}
