/**
 * Endpoints that change at run time. A pool's `endpoints` is either a fixed list or a
 * provider: something that, once watched, emits the complete current set of endpoints
 * whenever it changes. The pool opens connections to endpoints that appear and drains
 * the connections of endpoints that disappear (idle ones close, leased ones retire on
 * release, shared ones when their dispatches settle).
 *
 * Three forms, all normalised here:
 * - an `Observable` of endpoint sets (your own discovery: Consul, DNS SRV, a config file);
 * - a function returning a set (or a promise of one), called at start, on every refresh
 *   hint and every `refreshIntervalMs`;
 * - a provider object such as `redisSentinel({ … })` (redis-sentinel.ts).
 *
 * The pool sends hints on `refresh$` when its view looks stale — a Redis `READONLY` reply
 * (a write reached a demoted master), or every dial to the current set failing — so a
 * provider re-resolves at once instead of waiting for its next poll.
 */
import { Observable, type SchedulerLike, type Subscription } from 'rxjs';
import { InvalidOptionError } from '../errors.js';
import { isDurationMs, invalidDuration, isObject } from '../options.js';
import type { Endpoint } from '../transport/types.js';

export interface DiscoveryContext {
  /** The runtime's scheduler: every timer of a provider goes through it. */
  readonly scheduler: SchedulerLike;
  /** Hints that the current set may be stale; the string says why (`READONLY`, `unreachable`). */
  readonly refresh$: Observable<string>;
  /** A discovery round that failed (no sentinel reachable, a bad set…); the last set stays in use. */
  readonly report: (error: Error) => void;
}

/** A source of endpoint sets that may change while the pool runs. */
export interface EndpointProvider {
  /** For events and health: `redis-sentinel`, `observable`, `function`. */
  readonly kind: string;
  /**
   * Starts discovery. The Observable emits complete sets (never a diff); unsubscribing
   * stops it and leaves no socket or timer behind. It does not error: failures go to
   * `ctx.report` and discovery keeps trying.
   */
  watch(ctx: DiscoveryContext): Observable<readonly Endpoint[]>;
}

/** What `endpoints` accepts besides a fixed list. */
export type EndpointSource =
  | EndpointProvider
  | Observable<readonly Endpoint[]>
  | (() => readonly Endpoint[] | Promise<readonly Endpoint[]>);

export interface EndpointsFromOptions {
  /** For a function: how often it is called again (0: only at start and on hints). Default 0. */
  readonly refreshIntervalMs?: number;
}

/** True when `value` is one of the dynamic forms rather than a fixed list. */
export function isEndpointSource(value: unknown): value is EndpointSource {
  return typeof value === 'function' || value instanceof Observable || (isObject(value) && typeof value.watch === 'function');
}

/**
 * Turns any dynamic form into a provider.
 *
 * @example
 * const pool = rt.createPool({ endpoints: endpointsFrom(() => lookUpServers(), { refreshIntervalMs: 30_000 }), protocol });
 */
export function endpointsFrom(source: EndpointSource, options: EndpointsFromOptions = {}): EndpointProvider {
  const refreshIntervalMs = options.refreshIntervalMs ?? 0;
  if (!isDurationMs(refreshIntervalMs)) throw invalidDuration('endpointsFrom.refreshIntervalMs', refreshIntervalMs);
  if (source instanceof Observable) {
    return { kind: 'observable', watch: () => source };
  }
  if (typeof source === 'function') {
    return { kind: 'function', watch: (ctx) => polled(source, refreshIntervalMs, ctx) };
  }
  if (isObject(source) && typeof source.watch === 'function') return source;
  throw new InvalidOptionError(`endpoints must be an array of endpoints, an Observable of arrays, a function or a provider; got ${typeof source}`);
}

/** Calls `lookup` at start, on each hint and every `intervalMs`; one call at a time. */
function polled(
  lookup: () => readonly Endpoint[] | Promise<readonly Endpoint[]>,
  intervalMs: number,
  ctx: DiscoveryContext,
): Observable<readonly Endpoint[]> {
  return new Observable<readonly Endpoint[]>((subscriber) => {
    let running = false;
    let again = false;
    let closed = false;
    let timer: Subscription | undefined;
    const round = (): void => {
      if (closed) return;
      if (running) {
        again = true;
        return;
      }
      running = true;
      timer?.unsubscribe();
      timer = undefined;
      Promise.resolve()
        .then(lookup)
        .then(
          (set) => {
            if (!closed) subscriber.next(set);
          },
          (err: unknown) => {
            if (!closed) ctx.report(err instanceof Error ? err : new Error(`endpoint lookup failed: ${String(err)}`));
          },
        )
        .finally(() => {
          running = false;
          if (closed) return;
          if (again) {
            again = false;
            round();
          } else if (intervalMs > 0) {
            timer = ctx.scheduler.schedule(round, intervalMs);
          }
        });
    };
    const hints = ctx.refresh$.subscribe(round);
    round();
    return () => {
      closed = true;
      hints.unsubscribe();
      timer?.unsubscribe();
    };
  });
}
