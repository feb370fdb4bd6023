/**
 * Loopback fixtures for the chaos proxy tests: upstream servers started by the test, a
 * client that records what it receives, and a check that nothing is left open.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface TestServer {
  readonly port: number;
  readonly address: string;
  readonly sockets: Set<Socket>;
  close(): Promise<void>;
}

/** A server on 127.0.0.1:0; `onSocket` decides what it does with each connection. */
export async function startServer(onSocket: (socket: Socket) => void): Promise<TestServer> {
  const sockets = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: false }, (socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    sockets,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Echoes everything back. */
export const startEchoServer = () => startServer((s) => s.pipe(s));

/** A connected client that records data, end, close and error. */
export interface TestClient {
  readonly socket: Socket;
  /** Every chunk received, with its arrival time (performance.now()). */
  readonly chunks: { data: Buffer; at: number }[];
  received(): Buffer;
  readonly ended: Promise<number>;
  readonly closed: Promise<{ at: number; error: NodeJS.ErrnoException | undefined }>;
  /** Resolves when at least `bytes` bytes have arrived (time of arrival). */
  waitForBytes(bytes: number, timeoutMs?: number): Promise<number>;
}

export async function connectClient(port: number): Promise<TestClient> {
  const socket = connect({ port, host: '127.0.0.1', noDelay: true });
  const chunks: { data: Buffer; at: number }[] = [];
  let total = 0;
  const waiters: { bytes: number; resolve: (at: number) => void }[] = [];
  let error: NodeJS.ErrnoException | undefined;
  socket.on('error', (err) => (error = err));
  socket.on('data', (data: Buffer) => {
    const at = performance.now();
    chunks.push({ data, at });
    total += data.length;
    for (const w of [...waiters]) {
      if (total >= w.bytes) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(at);
      }
    }
  });
  const ended = new Promise<number>((resolve) => socket.once('end', () => resolve(performance.now())));
  const closed = new Promise<{ at: number; error: NodeJS.ErrnoException | undefined }>((resolve) =>
    socket.once('close', () => resolve({ at: performance.now(), error })),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return {
    socket, chunks, ended, closed,
    received: () => Buffer.concat(chunks.map((c) => c.data)),
    waitForBytes: (bytes, timeoutMs = 5000) =>
      new Promise<number>((resolve, reject) => {
        if (total >= bytes) {
          resolve(performance.now());
          return;
        }
        const timer = setTimeout(() => reject(new Error(`only ${total} of ${bytes} bytes after ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ bytes, resolve: (at) => (clearTimeout(timer), resolve(at)) });
      }),
  };
}

/** Connecting fails with this code (ECONNREFUSED…). */
export function connectError(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(undefined);
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code));
  });
}

/** Rejects if `promise` does not settle within `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms))),
  ]);
}

/** TCP handles of this process (servers and sockets), after closing handles had a moment to go. */
export async function tcpHandles(settleMs = 200): Promise<number> {
  const count = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap').length;
  const deadline = performance.now() + settleMs;
  let n = count();
  while (n > 0 && performance.now() < deadline) {
    await sleep(10);
    n = count();
  }
  return n;
}
