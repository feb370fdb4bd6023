/**
 * Outlier ejection wired into the pool (issue 14), in virtual time over the fake source:
 * an ejected endpoint gets no dial, no lease and no dispatch until its time is served, the
 * cap holds, and it earns its way back on probation.
 */
import { describe, expect, it } from 'vitest';
import type { PoolEvent } from '../../src/pool/pool-events.js';
import type { FakeConn } from './helpers/fake-source.js';
import { makePool, shareableProtocol } from './helpers/make-pool.js';
import { drain } from './helpers/virtual-clock.js';

const endpoints = [{ host: 'a', port: 1 }, { host: 'b', port: 1 }, { host: 'c', port: 1 }];
const outlierDetection = { consecutiveGatewayFailure: 2, baseEjectionTimeMs: 1000, maxEjectionTimeJitterMs: 0, maxEjectionPercent: 34, healthyThreshold: 2 };

function pool(extra: Record<string, unknown> = {}) {
  const t = makePool({ endpoints, outlierDetection, min: 3, max: 6, ...extra });
  const events: PoolEvent[] = [];
  t.pool.events$.subscribe((e) => events.push(e));
  t.source.readyAll();
  return { ...t, events };
}

const slotOn = (t: ReturnType<typeof pool>, key: string) => t.source.opened.find((s) => s.endpointKey === key && s.ready)!;

describe('outlier ejection through the pool', () => {
  it('ejects an endpoint after consecutive connection failures: no dial, no lease goes there until its time is served', async () => {
    const t = pool();
    expect(t.source.opened.map((s) => s.endpointKey).sort()).toEqual(['a:1', 'b:1', 'c:1']);
    const b = slotOn(t, 'b:1');
    t.source.die(b); // one
    t.source.failDial(b); // two in a row: ejected
    await drain();
    expect(t.events.filter((e) => e.type === 'endpoint-ejected')).toEqual([
      { type: 'endpoint-ejected', at: 0, endpoint: 'b:1', reason: 'consecutive-gateway-failure', ejections: 1, ejectedForMs: 1000 },
    ]);
    expect(t.pool.stats().endpoints['b:1']).toMatchObject({ outlier: 'ejected', pending: 0, open: 0 });
    // Its slot's next dial went to a live peer instead.
    expect(t.events.filter((e) => e.type === 'failover')).toEqual([expect.objectContaining({ id: b.id, from: 'b:1' })]);
    t.source.readyAll();
    const leases = await Promise.all(Array.from({ length: 3 }, () => t.pool.acquire()));
    const endpointOf = (l: { conn: FakeConn }) => t.source.opened.find((s) => s.id === l.conn.slotId)!.endpointKey;
    expect(leases.map(endpointOf).sort()).toEqual(['a:1', 'a:1', 'c:1']);
    expect(t.source.opened.filter((s) => s.endpointKey === 'b:1')).toEqual([]); // nothing dials b meanwhile
    for (const l of leases) l.release();

    await t.clock.advance(1000, 100); // time served: on probation, serves again
    expect(t.events.filter((e) => e.type === 'endpoint-readmitted').map((e) => e.endpoint)).toEqual(['b:1']);
    expect(t.pool.stats().endpoints['b:1']!.outlier).toBe('probation');
  });

  it('never ejects past maxEjectionPercent: a second failing endpoint of three stays in', async () => {
    const t = pool();
    for (const key of ['a:1', 'b:1']) {
      const s = slotOn(t, key);
      t.source.die(s);
      t.source.failDial(s);
    }
    await drain();
    const s = t.pool.stats().endpoints;
    expect([s['a:1']!.outlier, s['b:1']!.outlier, s['c:1']!.outlier]).toEqual(['ejected', 'healthy', 'healthy']);
  });

  it('the dispatch balancer passes an ejected endpoint over; probation ends after a healthy streak', async () => {
    const t = pool({ protocol: shareableProtocol(4), balance: 'round-robin' });
    const b = slotOn(t, 'b:1');
    t.source.die(b);
    t.source.failDial(b);
    await drain();
    t.source.readyAll();
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) await t.pool.dispatch((conn) => seen.add((conn as FakeConn).slotId));
    expect(seen.has(b.id)).toBe(false);
    await t.clock.advance(1000, 100);
    // Time served: b may be dialed again, and a scout does (new connections would all go to
    // the live peers); its connection serves dispatches on probation.
    const scout = t.source.opened.find((s) => s.endpointKey === 'b:1' && s.state === 'pending');
    expect(scout?.pinned).toBe(true);
    t.source.readyAll();
    await drain();
    // Two successes in a row end its probation (healthyThreshold 2).
    for (let i = 0; i < 40 && t.pool.stats().endpoints['b:1']!.outlier !== 'healthy'; i++) await t.pool.dispatch(() => i);
    expect(t.events.filter((e) => e.type === 'endpoint-healthy').map((e) => e.endpoint)).toEqual(['b:1']);
  });
});
