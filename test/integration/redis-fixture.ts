/**
 * Shared set-up of the `redis-*.test.ts` acceptance tests: a real redis-server per test
 * (test/helpers/redis-server.ts), a `resp()` pool built through the public API with every
 * pool and runtime event recorded, and the bounded waits the tests use instead of sleeps.
 *
 *   const redis = useRedis();                       // registers beforeEach/afterEach
 *   it('…', () => withPool((await redis.start()).endpoint, { max: 1 }, async ({ pool, deaths }) => { … }));
 *
 * `afterEach` stops every server the test started and checks that no socket, server or
 * timer is left behind (`withPool` always ends with `rt.shutdown()`).
 */
import { afterEach, beforeEach } from 'vitest';
import { resp, type CreatePoolOptions, type RespSession } from '../../src/index.js';
import { withPoolUnderTest, type PoolUnderTest } from '../helpers/pool-under-test.js';
import { startRedis, type RedisServer, type RedisServerOptions } from '../helpers/redis-server.js';
import { expectHandlesBackTo, handleCounts } from '../transport/helpers.js';

/** Starts redis-servers for a test; afterEach stops them and checks for leaked handles. */
export function useRedis(): { start(options?: RedisServerOptions): Promise<RedisServer> } {
  let baseline: Record<string, number> = {};
  const started: RedisServer[] = [];
  beforeEach(() => {
    baseline = handleCounts();
  });
  afterEach(async () => {
    for (const server of started.splice(0)) await server.stop();
    await expectHandlesBackTo(baseline);
  });
  return {
    async start(options) {
      const server = await startRedis(options);
      started.push(server);
      return server;
    },
  };
}

export type RespPoolOptions = Omit<CreatePoolOptions<RespSession>, 'endpoints' | 'protocol'> & {
  readonly protocol?: CreatePoolOptions<RespSession>['protocol'];
};

export async function withPool(
  endpoint: { host: string; port: number },
  options: RespPoolOptions,
  body: (t: PoolUnderTest<RespSession>) => Promise<void>,
): Promise<void> {
  await withPoolUnderTest((rt) => rt.createPool<RespSession>({ protocol: resp(), ...options, endpoints: [endpoint] }), body);
}

/** A deliberate pause: the length of a fault or of an idle gap, never a wait for a condition. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls an async condition every 10 ms; fails after `timeoutMs`. */
export async function eventually(cond: () => Promise<boolean>, what: string, timeoutMs = 3000): Promise<void> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Records `process` warnings until `stop()`. */
export function captureWarnings(): { readonly warnings: Error[]; stop(): void } {
  const warnings: Error[] = [];
  const listener = (w: Error): void => void warnings.push(w);
  process.on('warning', listener);
  return { warnings, stop: () => void process.off('warning', listener) };
}

/** True when redis reports `n` clients blocked (BLPOP, XREAD BLOCK…). */
export async function blockedClients(redis: RedisServer, n: number): Promise<boolean> {
  const info = String(await redis.command(['INFO', 'clients']));
  return new RegExp(`blocked_clients:${n}\\b`).test(info);
}
