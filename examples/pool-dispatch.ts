/**
 * Shared dispatch: 2,000 concurrent callers multiplexed over at most two wire()
 * connections (`pool.request`), a leased connection for a multi-step job in the middle
 * (`pool.use`: the pool drains a shared connection for it, then shares it again), and
 * the figures stats() and connections() report. With `resp()` the same pool gives
 * `pool.command(['GET', 'k'])`.
 *
 *   npx tsx examples/pool-dispatch.ts
 */
import { createRuntime, createWireServer, wire } from 'wirewarden';

const token = 'example-token';
const server = createWireServer({
  token,
  // A little latency, so that requests overlap on each connection.
  handler: async (payload) => (await new Promise((r) => setTimeout(r, 2)), payload),
});
const { port } = (await server.listen()) as { port: number };

const rt = createRuntime();
const pool = rt.createPool({
  endpoints: [{ host: '127.0.0.1', port }],
  protocol: wire({ token }),
  max: 2,
  maxInFlightPerConnection: 64, // wire()'s default is 256
});

const started = performance.now();
let peak = { shared: 0, inFlight: 0, queued: 0 };
const sampler = setInterval(() => {
  const s = pool.stats();
  if (s.inFlight > peak.inFlight) peak = { shared: s.shared, inFlight: s.inFlight, queued: s.dispatch.waiting };
}, 1);

const calls = Array.from({ length: 2000 }, (_, i) => pool.request<number>(i));
// A job that needs one connection to itself, while the dispatches run.
const job = pool.use(async (conn) => [await conn.request('step 1'), await conn.request('step 2')]);

const replies = await Promise.all(calls);
console.log(`2000 requests in ${Math.round(performance.now() - started)} ms, all answered in order: ${replies.every((r, i) => r === i)}`);
console.log(`leased job: ${JSON.stringify(await job)}`);
clearInterval(sampler);
console.log(`peak: ${peak.inFlight} in flight on ${peak.shared} shared connections, ${peak.queued} queued`);
const s = pool.stats();
console.log('stats:', { open: s.open, shared: s.shared, inFlight: s.inFlight, leased: s.leased, acquired: s.acquired, dispatch: s.dispatch });
console.log('connections:', pool.connections().map((c) => `${c.id} ${c.state} inFlight=${c.inFlight}`).join(', '));

await rt.shutdown();
await server.close();
