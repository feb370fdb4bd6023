/**
 * `resp()` as the protocol of a supervised pool, against the fake Redis on 127.0.0.1:
 * the seams (open/probe/reset/close) as the pool and the connection actor drive them.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { hasCode } from '../../src/errors.js';
import { createRuntime } from '../../src/runtime.js';
import { resp } from '../../src/transport/resp.js';
import { expectHandlesBackTo, handleCounts, waitFor } from '../transport/helpers.js';
import { FakeRedis } from '../transport/resp-helpers/fake-redis.js';

const PASSWORD = 'pool-Pa55word';
let baseline: Record<string, number>;
let redis: FakeRedis;

beforeEach(async () => {
  baseline = handleCounts();
  redis = await new FakeRedis({ password: PASSWORD }).listen();
});

afterEach(async () => {
  await redis.close();
  await expectHandlesBackTo(baseline);
});

it('leases authenticated sessions, resets them on release, and shuts down leaving no connection', async () => {
  const rt = createRuntime();
  try {
    const pool = rt.createPool({
      endpoints: [{ host: '127.0.0.1', port: redis.port }],
      protocol: resp({ password: PASSWORD, db: 2, clientName: 'pooled' }),
      min: 1,
      max: 2,
      acquireTimeoutMs: 3000,
      resetOnRelease: true,
    });
    await pool.use((conn) => conn.command(['SET', 'k', 'v']));
    expect(redis.dbs.get(2)?.get('k')).toBe('v');
    await pool.use(async (conn) => {
      await conn.command(['SELECT', '7']);
      await conn.command(['CLIENT', 'SETNAME', 'borrowed']);
    });
    await waitFor(() => redis.commands.filter((c) => c[0] === 'RESET').length >= 2, 'RESET after each release');
    expect(await pool.use((conn) => conn.command(['GET', 'k']))).toBe('v');
    for (const client of redis.clients) expect(client).toMatchObject({ db: 2, name: 'pooled', authed: true });
    const err = await pool.use((conn) => conn.command(['NOSUCH'])).catch((e: unknown) => e);
    expect(hasCode(err, 'WW_REMOTE_ERROR')).toBe(true);
    expect(redis.commands.filter((c) => c.includes(PASSWORD)).length).toBeGreaterThan(0);
    expect(JSON.stringify(pool.connections())).not.toContain(PASSWORD);
  } finally {
    await rt.shutdown();
  }
  await waitFor(() => redis.connections === 0, 'every connection closed');
});
