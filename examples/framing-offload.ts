/**
 * framing-offload: big wire messages decoded on worker threads, on 127.0.0.1.
 *
 *   npx tsx examples/framing-offload.ts [--rows 150000]
 *
 * A wire server and a client, each with a framing pool (threshold lowered to 1 MiB so the
 * demo's payload qualifies). The client sends a big batch as a PACKED frame
 * (`{ offload: true }`) with three small requests right behind it; the server decodes the
 * batch on a worker and answers with `offloaded(...)`, which the client decodes on its own
 * worker. The small requests are handled, and answered, after the big one: order is kept
 * per connection. Then a big push, and everything is closed: no socket and no worker
 * thread left, and the process exits by itself.
 *
 * Client and server share one process here, so their encodes and decodes share its event
 * loop; for what offloading buys and costs, see bench/framing.ts and docs/benchmarks.md.
 */
import { parseArgs } from 'node:util';
import { asyncScheduler } from 'rxjs';
import { createFramingPool, createWireServer, offloaded, tcp, wire } from 'wirewarden';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '150000' } } });
const batch = Array.from({ length: Number(values.rows) }, (_, i) => ({ id: i, name: `user-${i}`, score: i * 0.5, tags: ['a', 'b'] }));

const handled: string[] = [];
const serverFraming = createFramingPool({ maxThreads: 1, offloadThresholdBytes: 1 << 20 });
const server = createWireServer({
  framing: serverFraming,
  handler: (req) => {
    const r = req as { op: string; rows?: unknown[]; n?: number };
    handled.push(r.op === 'echo-batch' ? 'big' : `small ${r.n}`);
    if (r.op === 'echo-batch') return offloaded({ count: r.rows!.length, rows: r.rows });
    return { op: r.op, n: r.n };
  },
});
const address = await server.listen();
if (!('port' in address)) throw new Error('expected a TCP address');
console.log(`server: listening on ${address.host}:${address.port}, framing pool threshold 1 MiB`);

const clientFraming = createFramingPool({ maxThreads: 1, offloadThresholdBytes: 1 << 20 });
const endpoint = { host: '127.0.0.1', port: address.port };
const protocol = wire({ framing: clientFraming, requestTimeoutMs: 30_000 });
const session = await protocol.open(await tcp().dial(endpoint, { connectTimeoutMs: 2000 }), {
  signal: new AbortController().signal,
  endpoint,
  markAlive: () => {},
  scheduler: asyncScheduler,
});

const answered: string[] = [];
const started = performance.now();
const big = session
  .request({ op: 'echo-batch', rows: batch }, { offload: true })
  .then((reply) => void answered.push(`big (${(reply as { count: number }).count} rows)`));
const small = [1, 2, 3].map((n) => session.request({ op: 'small', n }).then(() => void answered.push(`small ${n}`)));
await Promise.all([big, ...small]);
console.log(`server: requests handled in order: ${handled.join(', ')}`);
console.log(`client: answers dispatched in order: ${answered.join(', ')} (${(performance.now() - started).toFixed(0)} ms)`);
console.log(`worker threads now: server ${serverFraming.threads}, client ${clientFraming.threads} (idle; they end after idleTimeoutMs or at close)`);

const pushed = new Promise<unknown>((resolve) => session.onPush(resolve));
server.push(session.clientId, { rows: batch.slice(0, 50_000) }, { offload: true });
console.log(`client: big push with ${((await pushed) as { rows: unknown[] }).rows.length} rows`);

await protocol.close(session);
await server.close();
await Promise.all([serverFraming.close(), clientFraming.close()]);
const left = process.getActiveResourcesInfo().filter((r) => /Worker|MessagePort|TCP/.test(r));
console.log(`done: framing threads ${serverFraming.threads + clientFraming.threads}, handles left ${JSON.stringify(left)}`);
