/**
 * `resp()` sessions against a real redis-server (test/helpers/redis-server.ts), opened the
 * way a connection actor opens them: `tcp()` dials, `protocol.open(stream, ctx)` runs the
 * handshake. No pool, so a test sees the session itself.
 *
 *   const redis = useRealRedis();                        // beforeAll/afterAll: one server per file
 *   const session = await openSession(redis.server, resp({ requestTimeoutMs: 300 }));
 *
 * Sessions opened here are destroyed after each test; the server is stopped after the file.
 */
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { Protocol } from '../../../src/transport/types.js';
import type { RespSession } from '../../../src/transport/resp-session.js';
import { tcp } from '../../../src/transport/tcp.js';
import { startRedis, type RedisServer, type RedisServerOptions } from '../../helpers/redis-server.js';

const opened: RespSession[] = [];

/**
 * One real redis-server for the test file, started before its tests and stopped after
 * them; the sessions `openSession` opened are destroyed after each test.
 */
export function useRealRedis(options?: RedisServerOptions): { readonly server: RedisServer } {
  const holder = {} as { server: RedisServer };
  beforeAll(async () => {
    holder.server = await startRedis(options);
  });
  afterEach(() => {
    for (const session of opened.splice(0)) session.destroy();
  });
  afterAll(async () => {
    await holder.server?.stop();
  });
  return holder;
}

/** Dials `redis` and opens a session with `protocol`; `signal` aborts the handshake. */
export async function openSession(
  redis: RedisServer, protocol: Protocol<RespSession>, signal = new AbortController().signal, scheduler: SchedulerLike = asyncScheduler,
): Promise<RespSession> {
  const stream = await tcp().dial(redis.endpoint, { connectTimeoutMs: 2000 });
  try {
    const session = await protocol.open(stream, { signal, endpoint: redis.endpoint, markAlive: () => {}, scheduler });
    opened.push(session);
    return session;
  } catch (err) {
    stream.destroy();
    throw err;
  }
}

/** Waits until the server reports `n` clients blocked (BLPOP, XREAD BLOCK, WAIT). */
export async function blockedClients(redis: RedisServer, n: number): Promise<void> {
  let seen = -1;
  const started = Date.now();
  while (seen !== n) {
    const info = String(await redis.command(['INFO', 'clients']));
    seen = Number(/blocked_clients:(\d+)/.exec(info)?.[1] ?? -1);
    if (seen === n) return;
    if (Date.now() - started > 3000) throw new Error(`expected ${n} blocked clients, the server reports ${seen}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Real time passes (the server's own timers are under test). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
