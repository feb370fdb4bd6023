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
    return { kind: 'observable', watch: (ctx) => resubscribed(source, ctx) };
  }
  if (typeof source === 'function') {
    return { kind: 'function', watch: (ctx) => polled(source, refreshIntervalMs, ctx) };
  }
  if (isObject(source) && typeof source.watch === 'function') return source;
  throw new InvalidOptionError(`endpoints must be an array of endpoints, an Observable of arrays, a function or a provider; got ${typeof source}`);
}

/** First retry after a failed lookup; it doubles per failure up to `MAX_RETRY_MS`. */
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 30_000;

function retryDelayMs(failures: number, intervalMs: number): number {
  const grown = FIRST_RETRY_MS * 2 ** Math.min(failures - 1, 16);
  return Math.min(grown, intervalMs > 0 ? Math.min(intervalMs, MAX_RETRY_MS) : MAX_RETRY_MS);
}

/**
 * A user's Observable must not end discovery by erroring: the error is reported and the
 * source resubscribed after a growing delay (the last set stays in use meanwhile).
 */
function resubscribed(source: Observable<readonly Endpoint[]>, ctx: DiscoveryContext): Observable<readonly Endpoint[]> {
  return new Observable<readonly Endpoint[]>((subscriber) => {
    let failures = 0;
    let inner: Subscription | undefined;
    let timer: Subscription | undefined;
    let closed = false;
    const start = (): void => {
      timer = undefined;
      inner = source.subscribe({
        next: (set) => {
          failures = 0;
          subscriber.next(set);
        },
        error: (err: unknown) => {
          if (closed) return;
          failures++;
          ctx.report(err instanceof Error ? err : new Error(`endpoint source failed: ${String(err)}`));
          timer = ctx.scheduler.schedule(start, retryDelayMs(failures, 0));
        },
        // A completed source leaves its last set in use.
      });
    };
    start();
    return () => {
      closed = true;
      inner?.unsubscribe();
      timer?.unsubscribe();
    };
  });
}

/**
 * Calls `lookup` at start, on each hint and every `intervalMs`; one call at a time. A
 * failed call is retried after a growing delay (whatever `intervalMs`), and hints wait
 * for that retry, so an outage's burst of hints does not hammer the lookup.
 */
function polled(
  lookup: () => readonly Endpoint[] | Promise<readonly Endpoint[]>,
  intervalMs: number,
  ctx: DiscoveryContext,
): Observable<readonly Endpoint[]> {
  return new Observable<readonly Endpoint[]>((subscriber) => {
    let running = false;
    let again = false;
    let closed = false;
    let failures = 0;
    let timer: Subscription | undefined;
    const arm = (ms: number): void => {
      timer?.unsubscribe();
      timer = ctx.scheduler.schedule(() => {
        timer = undefined;
        round(true);
      }, ms);
    };
    const round = (due: boolean): void => {
      if (closed) return;
      if (running) {
        again = true;
        return;
      }
      // After a failure only the retry timer starts the next call.
      if (!due && failures > 0) return;
      running = true;
      timer?.unsubscribe();
      timer = undefined;
      Promise.resolve()
        .then(lookup)
        .then(
          (set) => {
            failures = 0;
            if (!closed) subscriber.next(set);
          },
          (err: unknown) => {
            failures++;
            again = false; // the retry timer runs the next call
            if (!closed) ctx.report(err instanceof Error ? err : new Error(`endpoint lookup failed: ${String(err)}`));
          },
        )
        .finally(() => {
          running = false;
          if (closed) return;
          if (failures > 0) arm(retryDelayMs(failures, intervalMs));
          else if (again) {
            again = false;
            round(true);
          } else if (intervalMs > 0) arm(intervalMs);
        });
    };
    const hints = ctx.refresh$.subscribe(() => round(false));
    round(true);
    return () => {
      closed = true;
      hints.unsubscribe();
      timer?.unsubscribe();
    };
  });
}
