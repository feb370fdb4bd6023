import { writeHeapSnapshot } from 'node:v8';
import { spawnServerProcess } from '../src/demo/spawn-server.js';
import { createRuntime } from '../src/runtime.js';
import { connectionMachine } from '../src/actors/connection-machine.js';
import { wire } from '../src/transport/wire.js';
import { constantBackoff } from '../src/supervisor/backoff.js';
const n = Number(process.argv[2] ?? 1000);
const out = process.argv[3];
const gc = (globalThis as any).gc as () => void;
const heap = () => { for (let i = 0; i < 4; i++) gc(); return process.memoryUsage().heapUsed; };
const server = await spawnServerProcess();
const h0 = heap();
const rt = createRuntime();
const protocol = wire(); const heartbeat = { intervalMs: 1000, minTimeoutMs: 100, maxTimeoutMs: 2000 }; const backoff = constantBackoff({ delayMs: 100 });
const sup = rt.createSupervisor({ id: 'bench', maxRestarts: 100000, withinMs: 60000, shutdownOrder: 'parallel', children: [] });
for (let i = 0; i < n; i += 256) {
  const ids = [];
  for (let j = i; j < Math.min(n, i + 256); j++) {
    ids.push(`c${j}`);
    sup.startChild({ id: `c${j}`, logic: connectionMachine, input: { endpoint: { host: server.host, port: server.port }, protocol, heartbeat }, restart: 'permanent', backoff });
  }
  await Promise.all(ids.map((id) => sup.whenChildState(id, 'ready')));
}
await new Promise(r => setTimeout(r, 2500));
const h1 = heap();
console.log(`heap per conn ${((h1 - h0) / n / 1024).toFixed(2)} KB`);
if (out) writeHeapSnapshot(out);
await rt.shutdown();
await server.stop();
