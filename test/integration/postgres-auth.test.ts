/**
 * Credentials with a real PostgreSQL (scram-sha-256 over TCP): a wrong password fails
 * callers at once with the server's own message, not after `acquireTimeoutMs`, and no
 * output of wirewarden carries the password — the error and its cause chain (message,
 * stack, JSON, util.inspect with hidden properties), pool and runtime events, stats,
 * health, connections, logged warnings, inspector events and every actor snapshot. The
 * right password, once connected, appears in none of them either.
 */
import { inspect } from 'node:util';
import { expect, it } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { hasCode, type Pool } from '../../src/index.js';
import { rejection, waitFor } from '../transport/helpers.js';
import { backendPid, usePostgres, withPgPool, type PgPoolUnderTest } from './postgres-fixture.js';
import type pg from 'pg';

const server = usePostgres();

/** Long, with characters JSON and inspect escape differently. */
const WRONG_PASSWORD = 'Wq9-üe€-Xr4#Lp2!Zk7%Vb8&Tc3*Hn6+Yd5';

const deep = (value: unknown): string => inspect(value, { depth: null, showHidden: true });
const json = (value: unknown): string => {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return '';
  }
};

/** Every 8-character piece of `secret`. */
function pieces(secret: string): string[] {
  return Array.from({ length: secret.length - 7 }, (_, i) => secret.slice(i, i + 8));
}

function expectNoSecret(secret: string, surfaces: ReadonlyArray<readonly [string, string]>): void {
  const all = pieces(secret);
  for (const [where, text] of surfaces) {
    const piece = all.find((p) => text.includes(p));
    expect(piece, `a piece of the password in ${where}:\n${text.slice(0, 2000)}`).toBeUndefined();
  }
}

function chainSurfaces(label: string, err: unknown): Array<[string, string]> {
  const out: Array<[string, string]> = [[`${label} inspect`, deep(err)], [`${label} JSON`, json(err)]];
  let depth = 0;
  for (let e: unknown = err; e instanceof Error; e = e.cause, depth++) {
    out.push([`${label} cause ${depth} (${e.name})`, `${e.message}\n${e.stack}\n${String((e as { code?: unknown }).code)}`]);
  }
  expect(depth, `${label} is an Error`).toBeGreaterThan(0);
  return out;
}

/** The pool's and runtime's own outputs: events, stats, health, connections, inspections with snapshots. */
function poolSurfaces(t: PgPoolUnderTest, pool: Pool<pg.Client>, inspections: InspectionEvent[], warnings: string[]): Array<[string, string]> {
  return [
    ['pool.connections()', json(pool.connections()) + deep(pool.connections())],
    ['pool.stats()', json(pool.stats()) + deep(pool.stats())],
    ['pool.health()', json(pool.health()) + deep(pool.health())],
    ...t.events.map((e, i): [string, string] => [`pool event ${i} (${e.type})`, deep(e) + json(e)]),
    ...t.runtimeEvents.map((e, i): [string, string] => [`runtime event ${i} (${e.type})`, deep(e)]),
    ...warnings.map((w, i): [string, string] => [`logged warning ${i}`, w]),
    ...inspections.flatMap((e, i): Array<[string, string]> => {
      // The event without the actor refs (they lead to the whole system), then the actor's snapshot.
      const { actorRef, ...rest } = e as InspectionEvent & { sourceRef?: unknown };
      const { sourceRef: _source, ...plain } = rest as typeof rest & { sourceRef?: unknown };
      return [[`inspection ${i} (${e.type})`, inspect(plain, { depth: 8 })], [`snapshot ${i}`, inspect(actorRef.getSnapshot(), { depth: 8 })]];
    }),
  ];
}

it('a wrong password fails the caller at once with the server message; the password is in no output', async () => {
  const warnings: string[] = [];
  const logger = { warn: (message: string) => void warnings.push(message) };
  const inspections: InspectionEvent[] = [];
  await withPgPool(server(), { max: 2, acquireTimeoutMs: 10_000, logger, settings: { password: WRONG_PASSWORD } }, async (t) => {
    t.rt.inspect((e) => inspections.push(e));
    const { pool } = t;
    const t0 = Date.now();
    const err = await rejection(pool.use(backendPid));
    const waitedMs = Date.now() - t0;
    expect(waitedMs, 'failed at once, not after acquireTimeoutMs').toBeLessThan(2000);
    expect(hasCode(err, 'WW_ENDPOINT_REFUSED')).toBe(true);
    expect(hasCode(err.cause, 'WW_HANDSHAKE_REFUSED')).toBe(true);
    const messages: string[] = [];
    for (let e: unknown = err; e instanceof Error; e = e.cause) messages.push(e.message);
    expect(messages.join('\n')).toContain(`password authentication failed for user "${server().user}"`);
    // The pg error itself is the root cause, SQLSTATE 28P01 (invalid_password).
    let root: unknown = err;
    while (root instanceof Error && root.cause !== undefined) root = root.cause;
    expect((root as { code?: string }).code).toBe('28P01');
    // A second caller fails at once too, and the pool says why it is not ready.
    await expect(pool.use(backendPid)).rejects.toMatchObject({ code: 'WW_ENDPOINT_REFUSED' });
    expect(pool.health()).toMatchObject({ ready: false, reason: 'refused' });
    await waitFor(() => warnings.length > 0, 'the refusal logged once');
    expect(t.events.some((e) => e.type === 'endpoint-refused')).toBe(true);
    expect(inspections.length).toBeGreaterThan(0);
    expectNoSecret(WRONG_PASSWORD, [...chainSurfaces('use error', err), ...poolSurfaces(t, pool, inspections, warnings)]);
  });
});

it('the right password, connected and in use: not in events, stats, health, inspector events or snapshots', async () => {
  const warnings: string[] = [];
  const logger = { warn: (message: string) => void warnings.push(message) };
  const inspections: InspectionEvent[] = [];
  await withPgPool(server(), { min: 2, max: 2, logger, heartbeat: { intervalMs: 50 } }, async (t) => {
    t.rt.inspect((e) => inspections.push(e));
    const { pool } = t;
    await Promise.all([pool.use(backendPid), pool.use(backendPid)]);
    await waitFor(() => pool.connections().every((c) => c.rttMs !== undefined), 'heartbeated connections');
    // A connection dies (its backend terminated) so its error travels through events too.
    await server().terminate((await server().backendPids())[0]!);
    await waitFor(() => t.deaths().length === 1, 'a death');
    await waitFor(() => pool.stats().open === 2, 'its replacement');
    expect(inspections.length).toBeGreaterThan(0);
    expectNoSecret(server().password, poolSurfaces(t, pool, inspections, warnings));
  });
});
