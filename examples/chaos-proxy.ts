/**
 * A chaos proxy in front of an echo server: measure a round trip, add 100 ms of
 * downstream latency, measure again, then shut everything down cleanly.
 *
 *   npx tsx examples/chaos-proxy.ts
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { createChaosProxy } from 'wirewarden/chaos';

async function roundTripMs(socket: Socket, text: string): Promise<number> {
  const start = performance.now();
  const reply = new Promise<void>((resolve) => {
    let got = 0;
    const onData = (chunk: Buffer) => {
      got += chunk.length;
      if (got < text.length) return;
      socket.off('data', onData);
      resolve();
    };
    socket.on('data', onData);
  });
  socket.write(text);
  await reply;
  return performance.now() - start;
}

const echo = createServer((s) => s.pipe(s));
await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
const upstream = `127.0.0.1:${(echo.address() as AddressInfo).port}`;

const proxy = createChaosProxy({ name: 'echo', upstream });
await proxy.start();
console.log(`proxy ${proxy.name}: ${proxy.listen} -> ${proxy.upstream}`);

const client = connect({ host: '127.0.0.1', port: proxy.address!.port, noDelay: true });
await new Promise((resolve) => client.once('connect', resolve));

console.log(`round trip, clean link:      ${(await roundTripMs(client, 'hello')).toFixed(1)} ms`);
proxy.addToxic({ type: 'latency', stream: 'downstream', attributes: { latency: 100, jitter: 10 } });
console.log(`round trip, +100 ms latency: ${(await roundTripMs(client, 'hello')).toFixed(1)} ms`);
proxy.removeToxic('latency_downstream');
console.log(`round trip, toxic removed:   ${(await roundTripMs(client, 'hello')).toFixed(1)} ms`);
console.log('stats:', proxy.stats);

client.end();
await proxy.close();
await new Promise((resolve) => echo.close(resolve));
console.log('closed: no listener, no socket left');
