/**
 * A pool that follows a Redis master through a Sentinel failover: `endpoints:
 * redisSentinel({ sentinels, name })`. It starts its own topology on free loopback ports
 * (a master, a replica and three sentinels, `down-after-milliseconds` 1000), keeps
 * writing through the pool, SIGKILLs the master and shows the pool moving to the promoted
 * replica by itself: the `endpoints-changed` event, the first write that succeeds again,
 * and `health()`. Needs `redis-server` on the PATH (`redis-server FILE --sentinel` is what
 * Debian's `redis-sentinel` runs); without it, it says so and exits 0.
 *
 *   npx tsx examples/redis-sentinel.ts
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, redisSentinel, resp } from 'wirewarden';

if (spawnSync('redis-server', ['--version']).status !== 0) {
  console.log('redis-server is not installed: nothing to run (apt-get install redis-server, or brew install redis).');
  process.exit(0);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const freePort = (): Promise<number> => new Promise((resolve, reject) => {
  const probe = createServer().once('error', reject);
  probe.listen(0, '127.0.0.1', () => {
    const { port } = probe.address() as { port: number };
    probe.close(() => resolve(port));
  });
});

// ── the topology (what your operations team runs) ──
const dir = mkdtempSync(join(tmpdir(), 'ww-example-sentinel-'));
const processes: ChildProcess[] = [];
const redis = (args: string[]): ChildProcess => {
  const proc = spawn('redis-server', args, { stdio: 'ignore' });
  processes.push(proc);
  return proc;
};
const [masterPort, replicaPort] = [await freePort(), await freePort()];
const node = (port: number, extra: string[] = []): ChildProcess =>
  redis(['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning', ...extra]);
const master = node(masterPort);
node(replicaPort, ['--replicaof', '127.0.0.1', String(masterPort)]);
const sentinels: { host: string; port: number }[] = [];
for (let i = 0; i < 3; i++) {
  const port = await freePort();
  const file = join(dir, `sentinel-${i}.conf`); // sentinel rewrites its file: a fresh one each run
  writeFileSync(file, [
    `port ${port}`, 'bind 127.0.0.1', `dir ${dir}`,
    `sentinel monitor mymaster 127.0.0.1 ${masterPort} 2`,
    'sentinel down-after-milliseconds mymaster 1000', 'sentinel failover-timeout mymaster 5000', '',
  ].join('\n'));
  redis([file, '--sentinel']);
  sentinels.push({ host: '127.0.0.1', port });
}

const rt = createRuntime();
try {
  // Ready for a failover once every sentinel sees the replica and the two others.
  const admin = rt.createPool({ endpoints: sentinels.slice(0, 1), protocol: resp(), max: 1, acquireTimeoutMs: 10_000 });
  for (let ready = false; !ready; await sleep(100)) {
    const quorum = await admin.command<string>(['SENTINEL', 'CKQUORUM', 'mymaster']).catch(() => '');
    const replicas = await admin.command<unknown[]>(['SENTINEL', 'replicas', 'mymaster']).catch(() => []);
    ready = quorum.includes('3 usable') && replicas.length === 1;
  }
  await admin.close();

  // ── the application: a pool whose endpoints come from the sentinels ──
  const pool = rt.createPool({
    endpoints: redisSentinel({ sentinels, name: 'mymaster' }),
    protocol: resp(),
    min: 2,
    max: 4,
    acquireTimeoutMs: 500,
  });
  const started = Date.now();
  const t = (): string => `${((Date.now() - started) / 1000).toFixed(2)} s`;
  pool.events$.subscribe((e) => {
    if (e.type === 'endpoints-changed') console.log(`${t()}  endpoints-changed: ${e.endpoints.join(', ')} (added ${e.added.join(', ') || '-'}, removed ${e.removed.join(', ') || '-'})`);
    if (e.type === 'discovery-error') console.log(`${t()}  discovery-error: ${(e.error as Error).message}`);
  });

  await pool.command(['SET', 'greeting', 'hello']);
  console.log(`${t()}  writing to the master 127.0.0.1:${masterPort}; now SIGKILL it`);
  master.kill('SIGKILL');
  const killedAt = Date.now();
  let failed = 0;
  for (let i = 0; ; i++) {
    try {
      await pool.command(['SET', 'greeting', `hello ${i}`]);
      break;
    } catch {
      failed++; // WW_POOL_TIMEOUT or WW_CONNECTION_CLOSED while nothing can serve: retryable
      await sleep(20);
    }
  }
  console.log(`${t()}  a write succeeded ${Date.now() - killedAt} ms after the kill (${failed} failed meanwhile)`);
  const h = pool.health();
  console.log(`${t()}  health: ready ${h.ready}, endpoints ${h.endpoints.map((e) => `${e.endpoint} ${e.state}`).join(', ')}, ` +
    `discovery ${h.discovery?.source} (${h.discovery?.changes} sets, ${h.discovery?.errors} errors)`);
  console.log(`${t()}  the promoted replica was 127.0.0.1:${replicaPort}: ${h.endpoints[0]?.endpoint === `127.0.0.1:${replicaPort}`}`);
} finally {
  await rt.shutdown(); // closes the pool and its discovery: no socket or timer left
  for (const proc of processes) proc.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
