/**
 * Prometheus metrics for a pool, served on http://127.0.0.1:<port>/metrics.
 *
 *   npx tsx examples/metrics.ts            # serves, scrapes itself once, prints a few series, exits
 *   npx tsx examples/metrics.ts --serve    # keeps serving until Ctrl-C (point Prometheus at it)
 *
 * A wire server stands in for your backend; the pool leases connections to it and a
 * prom-client Registry (yours: add your own metrics to it) carries wirewarden's.
 */
import { createServer } from 'node:http';
import { once } from 'node:events';
import { Registry } from 'prom-client';
import { createPrometheusMetrics, createRuntime, createWireServer, wire } from 'wirewarden';

const serve = process.argv.includes('--serve');

// The backend (in a real service: your database, cache or RPC server).
const backend = createWireServer({ token: 'example-token', handler: (payload) => payload });
const { port: backendPort } = (await backend.listen()) as { port: number };

const rt = createRuntime();
const register = new Registry();
const metrics = createPrometheusMetrics(rt, { register });
const pool = rt.createPool({
  id: 'backend',
  endpoints: [{ host: '127.0.0.1', port: backendPort }],
  protocol: wire({ token: 'example-token' }),
  min: 2,
  max: 4,
  heartbeat: { intervalMs: 200 },
});

// The scrape endpoint, on loopback only.
const http = createServer((req, res) => {
  if (req.url !== '/metrics') {
    res.writeHead(404).end();
    return;
  }
  register.metrics().then(
    (text) => res.writeHead(200, { 'content-type': register.contentType }).end(text),
    (err: unknown) => res.writeHead(500).end(String(err)),
  );
});
http.listen(0, '127.0.0.1');
await once(http, 'listening');
const { port } = http.address() as { port: number };

// Some traffic, and a few heartbeats.
for (let i = 0; i < 20; i++) await pool.use((conn) => conn.request({ op: 'echo', i }));
await new Promise((resolve) => setTimeout(resolve, 500));
console.log(`metrics on http://127.0.0.1:${port}/metrics`);

async function stop(): Promise<void> {
  metrics.close();
  await rt.shutdown();
  await backend.close();
  http.close();
}

if (serve) {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stop());
} else {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { connection: 'close' } })).text();
  const shown = /^wirewarden_(connections|pool_open_connections|pool_acquires_total|connection_probe_rtt_seconds_count)\{/;
  for (const line of text.split('\n')) if (shown.test(line)) console.log(line);
  await stop();
}
