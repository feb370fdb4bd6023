let made = 0;
const Orig = globalThis.AbortController;
globalThis.AbortController = class extends Orig { constructor() { super(); made++; } } as typeof AbortController;
const { spawnServerProcess } = await import('../src/demo/spawn-server.js');
const { createRuntime } = await import('../src/runtime.js');
const { connectionMachine } = await import('../src/actors/connection-machine.js');
const { wire } = await import('../src/transport/wire.js');
const { constantBackoff } = await import('../src/supervisor/backoff.js');
const { idleProbeControllers } = await import('../src/actors/probe-controllers.js');
const server = await spawnServerProcess();
const rt = createRuntime();
const protocol = wire();
const heartbeat = { intervalMs: Number(process.argv[3] ?? 200), minTimeoutMs: 100, maxTimeoutMs: 2000 };
const backoff = constantBackoff({ delayMs: 100 });
const sup = rt.createSupervisor({ id: 'b', maxRestarts: 1000, withinMs: 60000, children: [] });
const N = Number(process.argv[2] ?? 200);
for (let i = 0; i < N; i += 256) { const ids: string[] = []; for (let j = i; j < Math.min(N, i + 256); j++) { ids.push(`c${j}`);  sup.startChild({ id: `c${j}`, logic: connectionMachine, input: { endpoint: { host: server.host, port: server.port }, protocol, heartbeat }, restart: 'permanent', backoff }); }
await Promise.all(ids.map((id) => sup.whenChildState(id, 'ready'))); }
await new Promise((r) => setTimeout(r, 500));
const m0 = made;
await new Promise((r) => setTimeout(r, 3000));
let sent = 0; for (const c of sup.children()) sent += (sup.childRef(c.id)?.getSnapshot() as any).context.probesSent;
console.log({ madeDuring: made - m0, idle: idleProbeControllers(), sent });
await rt.shutdown(); await server.stop();
