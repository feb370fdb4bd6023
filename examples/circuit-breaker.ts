/**
 * A pool with a circuit breaker riding out an outage on loopback: an in-process wire
 * server goes away for 3 s. The breaker opens on the deaths and refused redials, so calls
 * fail at once with WW_CIRCUIT_OPEN (the last failure as cause) instead of each waiting
 * `acquireTimeoutMs`; after its open wait a trial dial finds the server back, trial calls
 * close it, and service resumes by itself. The pool's events tell each step.
 *
 *   npx tsx examples/circuit-breaker.ts
 */
import { constantBackoff, createRuntime, createWireServer, hasCode, wire, type WireServer } from 'wirewarden';

const token = 'example-token';

async function startServer(port = 0): Promise<{ server: WireServer; port: number }> {
  const server = createWireServer({ port, token, handler: (payload) => ({ echo: payload }) });
  const address = (await server.listen()) as { port: number };
  return { server, port: address.port };
}

let { server, port } = await startServer();
const rt = createRuntime();
const pool = rt.createPool({
  endpoints: [{ host: '127.0.0.1', port }],
  protocol: wire({ token }),
  min: 2,
  max: 4,
  acquireTimeoutMs: 5000,
  backoff: constantBackoff({ delayMs: 50 }),
  // Opens at 50 % failures over the last calls (at least 5), waits 1 s before trial calls.
  breaker: { waitDurationInOpenStateMs: 1000 },
});
const started = Date.now();
const t = () => `${String(Date.now() - started).padStart(5)} ms`;
pool.events$.subscribe((e) => {
  if (e.type === 'breaker') console.log(`${t()}  breaker ${e.from} → ${e.to}${e.reason ? ` (${e.reason}: ${e.failures} of ${e.calls} calls failed)` : ''}`);
});

/** One call a 100 ms, for `ms`: counts outcomes and how long failures took. */
async function calls(ms: number): Promise<void> {
  const until = Date.now() + ms;
  const tally = new Map<string, { n: number; slowestMs: number }>();
  while (Date.now() < until) {
    const t0 = performance.now();
    let outcome = 'ok';
    try {
      await pool.use((conn) => conn.request('ping'));
    } catch (err) {
      outcome = hasCode(err, 'WW_CIRCUIT_OPEN') ? `WW_CIRCUIT_OPEN (cause ${(err.cause as { code?: string }).code})` : String((err as { code?: string }).code);
    }
    const entry = tally.get(outcome) ?? { n: 0, slowestMs: 0 };
    entry.n++;
    entry.slowestMs = Math.max(entry.slowestMs, performance.now() - t0);
    tally.set(outcome, entry);
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const [outcome, { n, slowestMs }] of tally) console.log(`${t()}    ${n} × ${outcome}, slowest ${slowestMs.toFixed(1)} ms`);
}

await calls(500);
console.log(`${t()}  the server goes away for 3 s`);
await server.close({ graceful: false });
await calls(3000);
console.log(`${t()}  the server is back`);
({ server, port } = await startServer(port));
await calls(2500);
console.log(`${t()}  health: ${JSON.stringify({ ready: pool.health().ready, breaker: pool.health().endpoints[0]?.breaker })}, stats: circuitOpen ${pool.stats().circuitOpen}`);

await rt.shutdown();
await server.close();
