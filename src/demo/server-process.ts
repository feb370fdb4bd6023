/**
 * A wire server in its own process, for the demo, benchmarks and chaos scenarios: killing
 * it (SIGKILL) or freezing it (SIGSTOP) is then a real fault — the kernel, not our code,
 * decides what the client sees. Started by `spawnServerProcess`; reports its address over
 * IPC and exits when the parent goes away, so it can never outlive the parent.
 */
import { createWireServer } from '../transport/wire-server.js';

const port = Number(process.env.WW_SERVER_PORT ?? 0);
const host = process.env.WW_SERVER_HOST ?? '127.0.0.1';
const token = process.env.WW_SERVER_TOKEN || undefined;

const server = createWireServer({
  host,
  port,
  ...(token ? { token } : {}),
  handler: (payload) => payload,
});

try {
  const address = await server.listen();
  process.send?.({ type: 'listening', address });
} catch (err) {
  process.send?.({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
}

async function stop(): Promise<void> {
  await server.close({ graceful: false });
  process.exit(0);
}

process.on('message', (msg: { type?: string }) => {
  if (msg?.type === 'stop') void stop();
  else if (msg?.type === 'stats') process.send?.({ type: 'stats', connections: server.connections });
});
process.on('disconnect', () => void stop());
process.on('SIGTERM', () => void stop());
