/**
 * A `resp({ password })` pool against a real redis-server with the Stately inspector
 * attached (`@statelyai/inspect`'s `createInspector`, serialised as its WebSocket adapter
 * does): neither the accepted password nor a refused one appears in any inspection event
 * (actor definitions, snapshots, events, outputs, errors), and the pool's supervisor is
 * drawn with its states and `maxRestarts` "Infinity".
 */
import { createInspector } from '@statelyai/inspect';
import safeStableStringify from 'safe-stable-stringify';
import { expect, it } from 'vitest';
import { hasCode, resp } from '../../src/index.js';
import { rejection } from '../transport/helpers.js';
import { useRedis, withPool } from './redis-fixture.js';

const redis = useRedis();
const serialize = safeStableStringify.configure({ maximumDepth: 10 });
/** The inspector converts events in `setTimeout(0)` callbacks, queued in order: this one runs after them. */
const inspectorQueueDrained = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

it('shows no password in any inspection event, accepted or refused', async () => {
  const PASSWORD = 'insp-S3cret-Pw-7q';
  const WRONG = 'insp-Wr0ng-Pw-3x';
  const server = await redis.start({ password: PASSWORD });
  const sent: string[] = [];
  const inspector = createInspector({ send: (event: unknown) => void sent.push(serialize(event)!) });

  await withPool(server.endpoint, { max: 2, min: 2, protocol: resp({ password: PASSWORD }) }, async ({ rt, pool }) => {
    const sub = rt.inspect(inspector.inspect);
    await pool.use((conn) => conn.command(['SET', 'k', 'v']));
    expect(await pool.use((conn) => conn.command(['GET', 'k']))).toBe('v');
    const refused = rt.createPool({ endpoints: [server.endpoint], protocol: resp({ password: WRONG }), max: 1, acquireTimeoutMs: 2000 });
    expect(hasCode(await rejection(refused.acquire()), 'WW_ENDPOINT_REFUSED')).toBe(true);
    await refused.close();
    sub.unsubscribe();
  });
  await inspectorQueueDrained();

  expect(sent.length).toBeGreaterThan(10);
  const pool = sent.map((s) => JSON.parse(s) as { type: string; name?: string; definition?: string; snapshot?: { context?: unknown } })
    .find((e) => e.type === '@xstate.actor' && e.name === 'pool-1')!;
  expect(Object.keys((JSON.parse(pool.definition!) as { states: object }).states)).toContain('failing');
  expect(pool.snapshot!.context).toMatchObject({ maxRestarts: 'Infinity' });
  // The refusal is in the events (so a leaking error would have been serialised).
  expect(sent.some((s) => s.includes('handshake-refused') || s.includes('WW_HANDSHAKE_REFUSED'))).toBe(true);
  for (const [i, s] of sent.entries()) {
    expect(s.includes(PASSWORD), `password in inspection event ${i}`).toBe(false);
    expect(s.includes(WRONG), `refused password in inspection event ${i}`).toBe(false);
  }
});
