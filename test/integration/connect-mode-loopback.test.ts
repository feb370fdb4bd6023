/**
 * Connect mode on real sockets: a tiny self-dialing client library (it calls
 * `net.connect` itself, as node-postgres does) against a line-protocol server on
 * 127.0.0.1 started by the test, under `rt.createPool` and `pool.use`. Real time, bounded
 * polling; no timing assertion with a tight tolerance.
 */
import { EventEmitter, once } from 'node:events';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { custom } from '../../src/transport/custom.js';
import { hasCode } from '../../src/errors.js';
import { constantBackoff } from '../../src/supervisor/backoff.js';
import { cleanup, cleanups, handles, runtime, waitFor } from '../pool/helpers/loopback.js';

afterEach(cleanup);

const PASSWORD = 'line-secret-never-in-errors';

/** `AUTH <password>` → `OK` | `ERR …`; `PING` → `PONG`; `ECHO <x>` → `<x>`; `QUIT` closes. */
async function startLineServer(): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let authed = false;
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const [verb, ...rest] = line.split(' ');
        if (!authed) {
          if (verb === 'AUTH' && rest.join(' ') === PASSWORD) {
            authed = true;
            socket.write('OK\n');
          } else {
            socket.end('ERR password authentication failed\n');
          }
        } else if (verb === 'PING') socket.write('PONG\n');
        else if (verb === 'ECHO') socket.write(`${rest.join(' ')}\n`);
        else if (verb === 'QUIT') socket.end();
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { server, port: (server.address() as { port: number }).port, sockets };
}

class AuthError extends Error {
  readonly code = 'EAUTH';
}

/** The library: dials by itself, emits 'error'/'end' when its socket goes, 'traffic' per line read. */
class LineClient extends EventEmitter {
  readonly #socket: Socket;
  readonly #waiting: Array<{ resolve: (line: string) => void; reject: (err: Error) => void }> = [];
  #buffered = '';
  ended = false;

  constructor(host: string, port: number) {
    super();
    this.#socket = netConnect({ host, port });
    this.#socket.setEncoding('utf8');
    this.#socket.on('data', (chunk: string) => {
      this.#buffered += chunk;
      let nl: number;
      while ((nl = this.#buffered.indexOf('\n')) >= 0) {
        const line = this.#buffered.slice(0, nl);
        this.#buffered = this.#buffered.slice(nl + 1);
        this.#waiting.shift()?.resolve(line);
        this.emit('traffic');
      }
    });
    this.#socket.on('error', (err) => this.emit('error', err));
    this.#socket.on('close', () => {
      this.ended = true;
      for (const w of this.#waiting.splice(0)) w.reject(new Error('connection closed'));
      this.emit('end');
    });
  }

  async connect(password: string): Promise<void> {
    await once(this.#socket, 'connect');
    const reply = await this.query(`AUTH ${password}`);
    if (reply !== 'OK') throw new AuthError(reply.replace(/^ERR /, ''));
  }

  query(line: string): Promise<string> {
    if (this.ended) return Promise.reject(new Error('connection closed'));
    return new Promise<string>((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      this.#socket.write(`${line}\n`);
    });
  }

  async end(signal?: AbortSignal): Promise<void> {
    if (this.ended) return;
    const closed = once(this.#socket, 'close');
    const destroy = (): void => void this.#socket.destroy();
    signal?.addEventListener('abort', destroy, { once: true });
    this.#socket.end('QUIT\n');
    await closed;
    signal?.removeEventListener('abort', destroy);
  }

  destroy(): void {
    this.#socket.destroy();
  }
}

function lineProtocol(password: string, made: LineClient[]) {
  return custom<LineClient>({
    connect: async ({ endpoint, signal, lost, markAlive }) => {
      const client = new LineClient(endpoint.host ?? '127.0.0.1', endpoint.port!);
      made.push(client);
      client.on('error', lost);
      client.on('end', () => lost());
      client.on('traffic', markAlive);
      const abort = (): void => client.destroy();
      signal.addEventListener('abort', abort, { once: true });
      try {
        await client.connect(password);
      } catch (err) {
        client.destroy();
        throw err;
      } finally {
        signal.removeEventListener('abort', abort);
      }
      return client;
    },
    probe: async (client) => {
      if ((await client.query('PING')) !== 'PONG') throw new Error('bad PING reply');
    },
    close: (client, signal) => client.end(signal),
    refused: (err) => err instanceof AuthError,
  });
}

describe('connect mode over loopback: a self-dialing line client', () => {
  it('serves through rt.createPool and pool.use, replaces a killed connection, and shutdown leaves no socket', async () => {
    const baseline = handles();
    const { port, sockets } = await startLineServer();
    const made: LineClient[] = [];
    const rt = runtime();
    const pool = rt.createPool({
      endpoints: [{ host: '127.0.0.1', port }], protocol: lineProtocol(PASSWORD, made), min: 2, max: 3,
      heartbeat: { intervalMs: 50, minTimeoutMs: 20, maxTimeoutMs: 500 }, backoff: constantBackoff({ delayMs: 20 }),
    });
    await waitFor('min ready', () => pool.stats().open === 2);
    expect(sockets.size).toBe(2);

    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => pool.use((client) => client.query(`ECHO ${i}`))));
    expect(replies).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    // Idle connections are probed over the library's own socket.
    await waitFor('an RTT measured', () => pool.connections().some((c) => c.rttMs !== undefined));

    // The server drops every connection: the clients report it through lost(), the pool redials.
    const before = made.length;
    for (const s of sockets) s.destroy();
    await waitFor('replaced', () => made.length >= before + 2 && pool.stats().open >= 2);
    expect(await pool.use((client) => client.query('ECHO again'))).toBe('again');

    await rt.shutdown();
    expect(made.every((c) => c.ended)).toBe(true);
    await waitFor('server sockets gone', () => sockets.size === 0);
    await waitFor('handles back to baseline (+ the server)', () => handles() <= baseline + 1);
  });

  it('a wrong password fails acquires fast with the server message, and the secret appears nowhere', async () => {
    const { port } = await startLineServer();
    const wrong = 'wrong-password-never-shown';
    const rt = runtime();
    const made: LineClient[] = [];
    const pool = rt.createPool({
      endpoints: [{ host: '127.0.0.1', port }], protocol: lineProtocol(wrong, made), min: 1, max: 1, acquireTimeoutMs: 10_000,
    });
    const started = Date.now();
    const err = (await pool.acquire().catch((e: unknown) => e)) as Error;
    expect(Date.now() - started).toBeLessThan(5000); // not acquireTimeoutMs
    expect(hasCode(err, 'WW_ENDPOINT_REFUSED')).toBe(true);
    expect(hasCode(err.cause, 'WW_HANDSHAKE_REFUSED')).toBe(true);
    expect((err.cause as Error).message).toBe(`connect to 127.0.0.1:${port} refused: password authentication failed`);
    const text = JSON.stringify([err.message, (err.cause as Error).message, pool.stats(), pool.health()]);
    expect(text).not.toContain(wrong);
    await waitFor('the refused client closed', () => made.length > 0 && made.every((c) => c.ended));
  });
});
