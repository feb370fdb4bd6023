/**
 * Watching a running service: the live dashboard and Stately's inspector, both on
 * 127.0.0.1, both closed by `rt.shutdown()`.
 *
 *   npx tsx examples/dashboard.ts            # prints what the dashboard serves, then exits
 *   npx tsx examples/dashboard.ts --serve    # serves until Ctrl-C; open the printed URLs
 *
 * Walkthrough: docs/observability.md.
 */
import { createRuntime, createWireServer, wire } from 'wirewarden';

const serve = process.argv.includes('--serve');

// ── the backend: a wire server in this process (in production, another service) ──
const server = createWireServer({ token: 's3cret', handler: (req) => req });
const { port } = (await server.listen()) as { port: number };

// ── the service: a pool with some traffic ──
const rt = createRuntime();
const pool = rt.createPool({
  id: 'orders',
  endpoints: [{ host: '127.0.0.1', port }],
  protocol: wire({ token: 's3cret' }),
  min: 2,
  max: 4,
  heartbeat: { intervalMs: 1000 },
});
const traffic = setInterval(() => void pool.use((conn) => conn.request({ op: 'get' })).catch(() => {}), 50);

// ── watching it ──
const dashboard = await rt.serveDashboard({ port: serve ? 8475 : 0 });
console.log(`dashboard:         ${dashboard.url}`);
const inspector = await rt.serveInspector({ port: serve ? 8080 : 0 });
console.log(`Stately inspector: ${inspector.url}  (the page loads the inspector UI from stately.ai)`);

async function stop(): Promise<void> {
  clearInterval(traffic);
  await rt.shutdown(); // closes the dashboard and the relay too
  await server.close();
}

if (serve) {
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
} else {
  // What the page is fed, once: the supervision tree and the pool's gauges.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const state = (await (await fetch(`${dashboard.url}state.json`)).json()) as {
    tree: { children?: Array<{ id: string; state: string; children?: Array<{ id: string; state: string; rttMs?: number }> }> };
    pools: Array<{ id: string; stats: { open: number; idle: number; leased: number } }>;
  };
  for (const sup of state.tree.children ?? []) {
    console.log(`${sup.id} (${sup.state})`);
    for (const c of sup.children ?? []) console.log(`  ${c.id}: ${c.state}${c.rttMs === undefined ? '' : `, RTT ${c.rttMs.toFixed(2)} ms`}`);
  }
  for (const p of state.pools) console.log(`pool ${p.id}: open ${p.stats.open}, idle ${p.stats.idle}, leased ${p.stats.leased}`);
  await stop();
}
