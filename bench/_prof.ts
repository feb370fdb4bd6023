import { spawnServerProcess } from '../src/demo/spawn-server.js';
import { createRuntime } from '../src/runtime.js';
import { connectionMachine } from '../src/actors/connection-machine.js';
import { wire } from '../src/transport/wire.js';
import { constantBackoff } from '../src/supervisor/backoff.js';
const n = Number(process.argv[2] ?? 1000); const iv = Number(process.argv[3] ?? 100); const dur = Number(process.argv[4] ?? 8000);
const server = await spawnServerProcess();
const rt = createRuntime();
const protocol = wire();
const sup = rt.createSupervisor({ id: 'bench', maxRestarts: 100000, withinMs: 60000, shutdownOrder: 'parallel', children: [] });
for (let i = 0; i < n; i += 256) {
  const ids = [];
  for (let j = i; j < Math.min(n, i + 256); j++) {
    ids.push(`c${j}`);
    sup.startChild({ id: `c${j}`, logic: connectionMachine, input: { endpoint: { host: server.host, port: server.port }, protocol, heartbeat: { intervalMs: iv, minTimeoutMs: 50, maxTimeoutMs: 1000 } }, restart: 'permanent', backoff: constantBackoff({ delayMs: 100 }) });
  }
  await Promise.all(ids.map((id) => sup.whenChildState(id, 'ready')));
}
await new Promise(r => setTimeout(r, dur));
await rt.shutdown();
await server.stop();
