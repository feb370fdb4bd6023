import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { spawnServerProcess } from '../src/demo/spawn-server.js';
import { createRuntime } from '../src/runtime.js';
import { connectionMachine } from '../src/actors/connection-machine.js';
import { wire } from '../src/transport/wire.js';
import { constantBackoff } from '../src/supervisor/backoff.js';
const n = Number(process.argv[2] ?? 1000); const iv = Number(process.argv[3] ?? 1000); const dur = Number(process.argv[4] ?? 6000);
const out = process.argv[5] ?? '/tmp/h9/prof.cpuprofile';
const server = await spawnServerProcess();
const rt = createRuntime();
const protocol = wire();
const heartbeat = { intervalMs: iv, minTimeoutMs: 100, maxTimeoutMs: 2000 };
const backoff = constantBackoff({ delayMs: 100 });
const sup = rt.createSupervisor({ id: 'bench', maxRestarts: 100000, withinMs: 60000, shutdownOrder: 'parallel', children: [] });
for (let i = 0; i < n; i += 256) {
  const ids = [];
  for (let j = i; j < Math.min(n, i + 256); j++) {
    ids.push(`c${j}`);
    sup.startChild({ id: `c${j}`, logic: connectionMachine, input: { endpoint: { host: server.host, port: server.port }, protocol, heartbeat }, restart: 'permanent', backoff });
  }
  await Promise.all(ids.map((id) => sup.whenChildState(id, 'ready')));
}
await new Promise(r => setTimeout(r, 2 * iv));
const session = new Session(); session.connect();
const mode = process.env.PROF_MODE ?? 'cpu';
if (mode === 'cpu') {
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 500 });
await session.post('Profiler.start');
} else if (mode === 'heap') {
await session.post('HeapProfiler.enable');
await session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as any);
}
const sentNow = () => { let t = 0; for (const c of sup.children()) t += ((sup.childRef(c.id)?.getSnapshot() as any)?.context?.probesSent ?? 0); return t; };
const s0 = sentNow();
const c0 = process.cpuUsage();
await new Promise(r => setTimeout(r, dur));
const c1 = process.cpuUsage(c0);
const s1 = sentNow();
if (mode === 'cpu') {
const { profile } = await session.post('Profiler.stop');
writeFileSync(out, JSON.stringify(profile));
} else if (mode === 'heap') {
const { profile } = await session.post('HeapProfiler.stopSampling');
writeFileSync(out, JSON.stringify(profile));
}
console.log(`cpu ${((c1.user + c1.system) / 1000).toFixed(0)} ms over ${dur} ms; ${((c1.user + c1.system) / (s1 - s0)).toFixed(1)} µs per probe (${s1 - s0} probes)`);
let failed = 0, fs = 0, sent = 0, restarts = 0;
for (const c of sup.children()) { restarts += c.restarts; const ctx = (sup.childRef(c.id)?.getSnapshot() as any)?.context; if (ctx) { failed += ctx.probesFailed; fs += ctx.falseSuspicions; sent += ctx.probesSent; } }
console.log({ sent, failed, fs, restarts });
await rt.shutdown();
await server.stop();
