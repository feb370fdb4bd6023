/** endpointsFrom(): the dynamic forms of a pool's `endpoints`, in virtual time. */
import { Observable, Subject, of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/errors.js';
import { endpointsFrom, isEndpointSource, type DiscoveryContext } from '../../src/pool/endpoint-provider.js';
import type { Endpoint } from '../../src/transport/types.js';
import { drain, VirtualClock } from './helpers/virtual-clock.js';

/** Lets promise reactions run (the lookup may be async). */
const settle = (): Promise<void> => drain();

function context(): { ctx: DiscoveryContext; clock: VirtualClock; refresh$: Subject<string>; errors: Error[] } {
  const clock = new VirtualClock();
  const refresh$ = new Subject<string>();
  const errors: Error[] = [];
  return { ctx: { scheduler: clock.scheduler, refresh$, report: (e) => errors.push(e) }, clock, refresh$, errors };
}

const A: Endpoint = { host: '127.0.0.1', port: 1001 };
const B: Endpoint = { host: '127.0.0.1', port: 1002 };

describe('endpointsFrom', () => {
  it('recognises the dynamic forms and rejects anything else with a typed error', () => {
    expect(isEndpointSource([A])).toBe(false);
    expect(isEndpointSource(() => [A])).toBe(true);
    expect(isEndpointSource(of([A]))).toBe(true);
    expect(isEndpointSource({ kind: 'x', watch: () => of([A]) })).toBe(true);
    expect(() => endpointsFrom(42 as never)).toThrow(InvalidOptionError);
    expect(() => endpointsFrom(() => [A], { refreshIntervalMs: -1 })).toThrow(/refreshIntervalMs/);
  });

  it('an Observable is passed through as the provider', () => {
    const { ctx } = context();
    const seen: (readonly Endpoint[])[] = [];
    endpointsFrom(of([A], [A, B])).watch(ctx).subscribe((s) => seen.push(s));
    expect(seen).toEqual([[A], [A, B]]);
  });

  it('a function is called at start, on each hint and every refreshIntervalMs — never twice at once', async () => {
    const { ctx, clock, refresh$ } = context();
    let calls = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    const lookup = async (): Promise<readonly Endpoint[]> => {
      calls++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await settle();
      inFlight--;
      return calls % 2 === 1 ? [A] : [B];
    };
    const seen: (readonly Endpoint[])[] = [];
    const sub = endpointsFrom(lookup, { refreshIntervalMs: 1000 }).watch(ctx).subscribe((s) => seen.push(s));
    await settle();
    await settle();
    expect(calls).toBe(1);
    await clock.advance(999, 10);
    expect(calls).toBe(1);
    await clock.advance(2, 1);
    expect(calls).toBe(2);
    // Three hints while one lookup runs: one more lookup afterwards, not three overlapping.
    refresh$.next('READONLY');
    refresh$.next('READONLY');
    refresh$.next('READONLY');
    await clock.advance(20, 10);
    expect(calls).toBe(4);
    expect(maxInFlight).toBe(1);
    expect(seen.length).toBe(4);
    sub.unsubscribe();
    await clock.advance(5000, 100);
    expect(calls).toBe(4);
  });

  it('a failing lookup is reported and the last set stays; the next interval tries again', async () => {
    const { ctx, clock, errors } = context();
    let calls = 0;
    const seen: (readonly Endpoint[])[] = [];
    const sub = endpointsFrom(
      () => {
        calls++;
        if (calls === 2) throw new Error('dns down');
        return [A];
      },
      { refreshIntervalMs: 100 },
    ).watch(ctx).subscribe((s) => seen.push(s));
    await clock.advance(250, 10);
    expect(calls).toBe(3);
    expect(errors.map((e) => e.message)).toEqual(['dns down']);
    expect(seen).toEqual([[A], [A]]);
    sub.unsubscribe();
  });

  it('a failed lookup is retried with a growing delay even without refreshIntervalMs, and hints wait for the retry', async () => {
    const { ctx, clock, refresh$, errors } = context();
    const calledAt: number[] = [];
    const seen: (readonly Endpoint[])[] = [];
    const sub = endpointsFrom(() => {
      calledAt.push(clock.now());
      if (calledAt.length <= 3) throw new Error('registry down');
      return [A];
    }).watch(ctx).subscribe((s) => seen.push(s));
    await settle();
    // Hints during the backoff do not start extra calls.
    for (let i = 0; i < 10; i++) refresh$.next('unreachable');
    await clock.advance(1000, 10);
    expect(calledAt).toEqual([0, 100, 300, 700]);
    expect(errors).toHaveLength(3);
    expect(seen).toEqual([[A]]);
    // Healthy again: a hint starts a call at once.
    refresh$.next('READONLY');
    await settle();
    expect(calledAt).toHaveLength(5);
    sub.unsubscribe();
  });

  it('an Observable that errors is reported and resubscribed after a delay; discovery never errors', async () => {
    const { ctx, clock, errors } = context();
    let subscriptions = 0;
    const source = new Observable<readonly Endpoint[]>((s) => {
      subscriptions++;
      if (subscriptions === 1) s.error(new Error('watch broke'));
      else s.next([B]);
    });
    const seen: (readonly Endpoint[])[] = [];
    let failed = false;
    const sub = endpointsFrom(source).watch(ctx).subscribe({ next: (s) => seen.push(s), error: () => (failed = true) });
    expect(errors.map((e) => e.message)).toEqual(['watch broke']);
    await clock.advance(100, 10);
    expect(subscriptions).toBe(2);
    expect(seen).toEqual([[B]]);
    expect(failed).toBe(false);
    sub.unsubscribe();
  });
});
