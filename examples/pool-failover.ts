/**
 * Priority groups on loopback: a primary and a backup wire server. The primary goes away:
 * traffic fails over to the backup at once, while a scout keeps dialing the primary. When
 * it is back, traffic returns only after `failbackAfterMs` (2 s here) of unbroken health —
 * and a primary that fails again must stay healthy twice as long before the next failback.
 *
 *   npx tsx examples/pool-failover.ts
 */
import { constantBackoff, createRuntime, createWireServer, wire, type WireServer } from 'wirewarden';

const token = 'example-token';

async function startServer(name: string, port = 0): Promise<{ server: WireServer; port: number }> {
  const server = createWireServer({ port, token, handler: () => name });
  const address = (await server.listen()) as { port: number };
  return { server, port: address.port };
}

let primary = await startServer('primary');
const backup = await startServer('backup');
const rt = createRuntime();
const pool = rt.createPool({
  endpoints: [
    { host: '127.0.0.1', port: primary.port, priority: 0 },
    { host: '127.0.0.1', port: backup.port, priority: 1 },
  ],
  protocol: wire({ token }),
  min: 2,
  max: 4,
  backoff: constantBackoff({ delayMs: 100 }),
  failover: { failbackAfterMs: 2000 },
});
const started = Date.now();
const t = () => `${String(Date.now() - started).padStart(5)} ms`;
pool.events$.subscribe((e) => {
  if (e.type === 'priority-failover') console.log(`${t()}  failover: group ${e.from} → ${e.to}`);
  if (e.type === 'priority-failback') console.log(`${t()}  failback: group ${e.from} → ${e.to} (stable for ${e.stableForMs} ms, needed ${e.requiredStableMs} ms)`);
});

/** Who answers, over `ms`. */
async function traffic(ms: number): Promise<void> {
  const until = Date.now() + ms;
  const seen = new Map<string, number>();
  while (Date.now() < until) {
    const who = await pool.use((conn) => conn.request('who?')).then(String, (err: { code?: string }) => err.code ?? 'error');
    seen.set(who, (seen.get(who) ?? 0) + 1);
    await new Promise((r) => setTimeout(r, 20));
  }
  console.log(`${t()}    answered by ${[...seen].map(([who, n]) => `${who} ${n}`).join(', ')}`);
}

await traffic(500);
console.log(`${t()}  the primary goes away`);
await primary.server.close({ graceful: false });
await traffic(1500);
console.log(`${t()}  the primary is back`);
primary = await startServer('primary', primary.port);
await traffic(1500); // healthy, but not for 2 s yet: traffic stays on the backup
await traffic(1500); // failed back
console.log(`${t()}  the primary fails again, and comes back at once`);
await primary.server.close({ graceful: false });
await traffic(500);
primary = await startServer('primary', primary.port);
await traffic(4500); // it flapped: now it needs 4 s of health before traffic returns
console.log(`${t()}  active group: ${pool.health().activePriority}; connections: ${pool.connections().map((c) => `${c.endpoint === `127.0.0.1:${primary.port}` ? 'primary' : 'backup'} ${c.state}`).join(', ')}`);

await rt.shutdown();
await Promise.all([primary.server.close(), backup.server.close()]);
