/**
 * wire-echo: a wire server and a client on 127.0.0.1, end to end.
 *
 *   npx tsx examples/wire-echo.ts
 *
 * Starts `createWireServer` with a token and an echo handler, dials it with `tcp()`,
 * opens a `wire()` session (HELLO handshake), sends pipelined requests, a one-way
 * message, receives a push, measures a PING round trip, shows a remote error, then
 * closes both sides gracefully and exits with nothing left running.
 */
import { asyncScheduler } from 'rxjs';
import { createWireServer, tcp, wire } from 'wirewarden';

const token = 'demo-token'; // in real code: from the environment, never logged

const server = createWireServer({
  token,
  handler: async (payload, ctx) => {
    if (payload === 'fail') throw Object.assign(new Error('you asked for it'), { code: 'E_DEMO' });
    return { echo: payload, clientId: ctx.clientId };
  },
  onMessage: (payload, ctx) => console.log(`server: one-way message from client ${ctx.clientId}:`, payload),
});
const address = await server.listen();
if (!('port' in address)) throw new Error('expected a TCP address');
console.log(`server: listening on ${address.host}:${address.port}`);

const endpoint = { host: '127.0.0.1', port: address.port };
const stream = await tcp().dial(endpoint, { connectTimeoutMs: 2000 });
const handshake = new AbortController();
const protocol = wire({ token, requestTimeoutMs: 2000 });
const session = await protocol.open(stream, {
  signal: handshake.signal,
  endpoint,
  markAlive: () => {},
  scheduler: asyncScheduler,
});
console.log('client: session open', JSON.stringify(session)); // no token in here

const pushed = new Promise<unknown>((resolve) => session.onPush(resolve));
server.push(session.clientId, { news: 'hello from the server' });
console.log('client: push', await pushed);

const replies = await Promise.all(['one', 'two', 'three'].map((word) => session.request(word)));
console.log('client: pipelined replies', replies);

session.send({ note: 'fire and forget' });
console.log(`client: ping rtt ${await session.ping()} ms`);

try {
  await session.request('fail');
} catch (err) {
  console.log(`client: ${(err as Error).name} (${(err as { code: string }).code}): ${(err as Error).message}`);
}

await protocol.close(session); // GOAWAY, drain, end
await server.close(); // GOAWAY to anyone left, bounded wait, then destroy
console.log(`done: session ${session.state}, server connections ${server.connections}`);
