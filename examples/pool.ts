/**
 * A supervised connection pool on loopback: an in-process wire server, `rt.createPool`
 * with 20 concurrent users, a server outage in the middle (every connection reset, the
 * port refused for a while) that the pool's supervisor rides out with backoff, then
 * stats(), connections() and a shutdown that leaves nothing behind.
 *
 *   npx tsx examples/pool.ts
 */
import { createRuntime, createWireServer, exponentialBackoff, hasCode, wire, type WireServer } from 'wirewarden';

const token = 'example-token';

async function startServer(port = 0): Promise<{ server: WireServer; port: number }> {
  const server = createWireServer({ port, token, handler: (payload) => ({ echo: payload }) });
  const address = (await server.listen()) as { port: number };
  return { server, port: address.port };
}

let { server, port } = await startServer();
const rt = createRuntime();
rt.events$.subscribe((e) => {
  if (e.type === 'pool' && e.event.type !== 'dial-failed') console.log(`  [${e.id}] ${e.event.type} ${'id' in e.event ? e.event.id : ''}`);
  if (e.type === 'restart' && e.attempt === 1) console.log(`  [supervisor] ${e.path} restarts in ${Math.round(e.delayMs)} ms (${e.reason})`);
});

const pool = rt.createPool({
  endpoints: [{ host: '127.0.0.1', port }],
  protocol: wire({ token }),
  min: 2,
  max: 5,
  acquireTimeoutMs: 5000,
  heartbeat: { intervalMs: 500, minTimeoutMs: 50, maxTimeoutMs: 1000 },
  backoff: exponentialBackoff({ initialMs: 50, maxMs: 500, multiplier: 2, jitter: 'full' }),
});

/** One user: a few requests, each on a connection leased for the duration of the call. */
async function user(n: number): Promise<number> {
  let ok = 0;
  for (let i = 0; i < 5; i++) {
    try {
      await pool.use((conn) => conn.request({ user: n, i }));
      ok++;
    } catch (err) {
      // A connection that died mid-request fails with a coded error; the user retries.
      if (hasCode(err, 'WW_CONNECTION_CLOSED') || hasCode(err, 'WW_LEASE_LOST')) i--;
      else throw err;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return ok;
}

console.log(`pool ${pool.path} → 127.0.0.1:${port}`);
const users = Promise.all(Array.from({ length: 20 }, (_, n) => user(n)));

await new Promise((r) => setTimeout(r, 100));
console.log('server down (every connection reset, dials refused) …');
await server.close({ graceful: false });
await new Promise((r) => setTimeout(r, 300));
console.log(`  while down: ${JSON.stringify({ ...pool.stats(), closed: undefined, endpoints: undefined })}`);
({ server } = await startServer(port));
console.log('server back on the same port');

const done = await users;
console.log(`requests answered: ${done.reduce((a, b) => a + b, 0)} of ${20 * 5}`);
const s = pool.stats();
console.log('stats:', { open: s.open, idle: s.idle, acquired: s.acquired, waitCount: s.waitCount, timeouts: s.timeouts, closed: s.closed });
console.log('connections:', pool.connections().map((c) => `${c.id} ${c.state} rtt=${c.rttMs?.toFixed(2) ?? '-'}ms`).join(', '));

await rt.shutdown(); // closes the pool first, then the supervision tree
await server.close();
await new Promise((r) => setTimeout(r, 10)); // the listening handle is released just after close() resolves
const left = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap' && r !== 'PipeWrap'); // stdout
console.log('shut down; left behind:', left.length === 0 ? 'nothing' : left);
