/**
 * Loopback fixtures for pool integration tests: wire servers on 127.0.0.1 started by
 * the test, a runtime per test, bounded polling (never a fixed sleep), and a count of
 * the handles that a shutdown must release.
 */
import { createRuntime, type Runtime } from '../../../src/runtime.js';
import { createWireServer, type WireServer, type WireServerOptions } from '../../../src/transport/wire-server.js';

export const TOKEN = 'pool-token-never-in-events';

export const cleanups: Array<() => unknown> = [];

/** Runs the registered cleanups, last first; call from `afterEach`. */
export async function cleanup(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c();
}

/** Sockets, servers and timers: what a clean shutdown must give back. */
export function handles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap' || r === 'Timeout').length;
}

export async function waitFor(what: string, cond: () => boolean, limitMs = 5000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > limitMs) throw new Error(`timed out after ${limitMs} ms waiting for ${what}`);
    await new Promise<void>((r) => setTimeout(r, 5));
  }
}

/**
 * An echo server; `'hang'` is answered only when the client goes away, so that a
 * request can be in flight when its connection dies.
 */
export async function startServer(options: WireServerOptions = {}): Promise<{ server: WireServer; port: number }> {
  const server = createWireServer({
    token: TOKEN,
    handler: (payload, ctx) =>
      payload === 'hang' ? new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve(null), { once: true })) : payload,
    ...options,
  });
  cleanups.push(() => server.close({ graceful: false }));
  const addr = (await server.listen()) as { port: number };
  return { server, port: addr.port };
}

/** A port nobody listens on (a server bound it, then closed). */
export async function closedPort(): Promise<number> {
  const { server, port } = await startServer();
  await server.close({ graceful: false });
  return port;
}

export function runtime(): Runtime {
  const rt = createRuntime({ loadSource: () => 0 });
  cleanups.push(() => rt.shutdown());
  return rt;
}
