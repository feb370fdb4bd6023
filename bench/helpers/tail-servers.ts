/**
 * The tail-latency bench's servers, in their own process so that serving and proxying do
 * not share the client's event loop: three wire echo servers, the third behind a
 * ChaosProxy with a latency toxic (`latency ± jitter` ms on every chunk it returns,
 * order kept). Reports `{ type: 'ready', ports: [a, b, slowViaProxy] }` over IPC, answers
 * `{ type: 'counts' }` with the requests each server handled, exits on `stop` or when the
 * parent goes away.
 */
import { createChaosProxy } from '../../src/chaos/index.js';
import { createWireServer } from '../../src/transport/wire-server.js';

const latencyMs = Number(process.env.WW_TAIL_LATENCY_MS ?? 50);
const jitterMs = Number(process.env.WW_TAIL_JITTER_MS ?? 25);
const counts = [0, 0, 0];
const servers = [0, 1, 2].map((i) => createWireServer({
  handler: (payload) => {
    counts[i]!++;
    return payload;
  },
}));

const ports = await Promise.all(servers.map(async (s) => ((await s.listen()) as { port: number }).port));
const proxy = createChaosProxy({ name: 'slow', upstream: `127.0.0.1:${ports[2]}` });
await proxy.start();
proxy.addToxic({ name: 'latency', type: 'latency', stream: 'downstream', attributes: { latency: latencyMs, jitter: jitterMs } });
process.send?.({ type: 'ready', ports: [ports[0], ports[1], proxy.address!.port] });

process.on('message', (msg: { type?: string }) => {
  if (msg?.type === 'counts') process.send?.({ type: 'counts', counts: [...counts] });
  if (msg?.type === 'stop') {
    void Promise.all([proxy.close(), ...servers.map((s) => s.close({ graceful: false }))]).then(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
