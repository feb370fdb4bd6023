/**
 * tcp(), tls() and unix() against servers started here on 127.0.0.1 / a tmp path.
 * Timeouts run on a VirtualTimeScheduler: the dial is real, the clock is not.
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import { asyncScheduler, VirtualTimeScheduler } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hasCode, type WirewardenError } from '../../src/errors.js';
import { tcp } from '../../src/transport/tcp.js';
import { tls } from '../../src/transport/tls.js';
import { unix } from '../../src/transport/unix.js';
import { createWireServer } from '../../src/transport/wire-server.js';
import { wire } from '../../src/transport/wire.js';
import { advance, expectHandlesBackTo, handleCounts, waitFor, rejection } from './helpers.js';

const fixtures = new URL('../fixtures/tls/', import.meta.url);
const cert = readFileSync(new URL('localhost-cert.pem', fixtures));
const key = readFileSync(new URL('localhost-key.pem', fixtures));

const cleanups: Array<() => unknown> = [];
let baseline: Record<string, number>;
beforeEach(() => {
  baseline = handleCounts();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function listen(server: Server, at: number | string = 0): Promise<number> {
  cleanups.push(() => new Promise((r) => server.close(r)));
  return new Promise((resolve) => {
    const done = (): void => resolve(typeof at === 'string' ? 0 : (server.address() as { port: number }).port);
    if (typeof at === 'string') server.listen(at, done);
    else server.listen(at, '127.0.0.1', done);
  });
}

/** A server that accepts and echoes; tracks open sockets. */
function echoServer(): { server: Server; sockets: Set<Socket> } {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.pipe(s);
  });
  return { server, sockets };
}

async function echoOnce(stream: Duplex, text: string): Promise<string> {
  const reply = new Promise<string>((resolve) => stream.once('data', (c: Buffer) => resolve(String(c))));
  stream.write(text);
  return reply;
}

describe('tcp()', () => {
  it('dials 127.0.0.1 by default with Nagle off', async () => {
    const { server } = echoServer();
    const port = await listen(server);
    const stream = await tcp().dial({ port }, { connectTimeoutMs: 2000 });
    cleanups.push(() => stream.destroy());
    expect((stream as Socket).remoteAddress).toBe('127.0.0.1');
    expect(await echoOnce(stream, 'ping')).toBe('ping');
  });

  it('maps a refused connection (a port just closed) to WW_DIAL_REFUSED and leaves nothing behind', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const err = await rejection(tcp().dial({ host: '127.0.0.1', port }, { connectTimeoutMs: 2000 }));
    expect(hasCode(err, 'WW_DIAL_REFUSED')).toBe(true);
    expect(err.message).toBe(`dial tcp 127.0.0.1:${port} refused (ECONNREFUSED)`);
    expect((err.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    await expectHandlesBackTo(baseline);
  });

  it('times out on the injected scheduler with WW_DIAL_TIMEOUT, destroying the socket', async () => {
    const { server, sockets } = echoServer();
    const port = await listen(server);
    const vts = new VirtualTimeScheduler();
    let settled = false;
    const dialing = rejection(tcp().dial({ port }, { connectTimeoutMs: 500, scheduler: vts })).finally(() => (settled = true));
    advance(vts, 499);
    await Promise.resolve(); // microtasks only: the connect cannot complete meanwhile
    expect(settled).toBe(false);
    advance(vts, 1);
    const err = await dialing;
    expect(hasCode(err, 'WW_DIAL_TIMEOUT')).toBe(true);
    expect(err.message).toBe(`dial tcp 127.0.0.1:${port} timed out after 500 ms`);
    expect(vts.actions.filter((a) => !a.closed)).toHaveLength(0);
    await waitFor(() => sockets.size === 0, 'server side to see no open socket');
  });

  it('aborts with WW_ABORTED (already aborted, or during the dial)', async () => {
    const { server } = echoServer();
    const port = await listen(server);
    const pre = await rejection(tcp().dial({ port }, { connectTimeoutMs: 1000, signal: AbortSignal.abort(new Error('stop')) }));
    expect(hasCode(pre, 'WW_ABORTED')).toBe(true);
    const ac = new AbortController();
    const dialing = rejection(tcp().dial({ port }, { connectTimeoutMs: 1000, signal: ac.signal }));
    ac.abort(new Error('user gave up'));
    const err = await dialing;
    expect(hasCode(err, 'WW_ABORTED')).toBe(true);
    expect(err.message).toBe(`dial tcp 127.0.0.1:${port} aborted`);
    expect((err.cause as Error).message).toBe('user gave up');
  });

  it('rejects a bad endpoint or timeout with InvalidOptionError (async, no throw)', async () => {
    const t = tcp();
    expect((await rejection(t.dial({ port: 0 }, { connectTimeoutMs: 1 }))).message).toBe(
      'endpoint.port must be an integer in [1, 65535], got 0',
    );
    expect((await rejection(t.dial({ port: 80 }, { connectTimeoutMs: 0 }))).message).toBe(
      'dial.connectTimeoutMs must be an integer in [1, 2147483647] (ms), got 0',
    );
  });
});

describe('tls()', () => {
  async function tlsServer(): Promise<number> {
    const server = createTlsServer({ cert, key }, (s) => {
      s.on('error', () => {});
      s.pipe(s);
    });
    server.on('tlsClientError', () => {});
    return listen(server as unknown as Server);
  }

  it('verifies certificates by default: a self-signed server fails with WW_TLS', async () => {
    const port = await tlsServer();
    const err = await rejection(tls().dial({ port }, { connectTimeoutMs: 2000 }));
    expect(hasCode(err, 'WW_TLS')).toBe(true);
    expect(err.message).toMatch(new RegExp(`^TLS handshake with 127\\.0\\.0\\.1:${port} failed: `));
    expect((err.cause as NodeJS.ErrnoException).code).toMatch(/SELF_SIGNED/);
    await expectHandlesBackTo(baseline);
  });

  it('connects when the CA is given (IP SAN, or servername localhost)', async () => {
    const port = await tlsServer();
    const byIp = await tls({ ca: cert }).dial({ host: '127.0.0.1', port }, { connectTimeoutMs: 2000 });
    cleanups.push(() => byIp.destroy());
    expect(await echoOnce(byIp, 'secure')).toBe('secure');
    const byName = await tls({ ca: cert }).dial({ host: '127.0.0.1', port, servername: 'localhost' }, { connectTimeoutMs: 2000 });
    cleanups.push(() => byName.destroy());
    expect((byName as unknown as { authorized: boolean }).authorized).toBe(true);
  });

  it('fails with WW_TLS when the name does not match the certificate', async () => {
    const port = await tlsServer();
    const err = await rejection(tls({ ca: cert, servername: 'not-this-host.example' }).dial({ port }, { connectTimeoutMs: 2000 }));
    expect(hasCode(err, 'WW_TLS')).toBe(true);
    expect((err.cause as NodeJS.ErrnoException).code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('times out a handshake the server never answers (WW_DIAL_TIMEOUT), leaving nothing behind', async () => {
    const { server, sockets } = echoServer();
    server.removeAllListeners('connection');
    server.on('connection', (s) => {
      sockets.add(s); // accepts TCP, never speaks TLS
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
      s.resume(); // read (and drop) the ClientHello, so the FIN is noticed
    });
    const port = await listen(server);
    const vts = new VirtualTimeScheduler();
    const dialing = rejection(tls({ ca: cert }).dial({ port }, { connectTimeoutMs: 3000, scheduler: vts }));
    await waitFor(() => sockets.size === 1, 'TCP leg to be up');
    advance(vts, 3000);
    const err = await dialing;
    expect(hasCode(err, 'WW_DIAL_TIMEOUT')).toBe(true);
    expect(err.message).toBe(`dial tls 127.0.0.1:${port} timed out after 3000 ms`);
    await waitFor(() => sockets.size === 0, 'server to see the socket closed');
  });

  it('a server that accepts TCP and then resets or closes is a retryable WW_DIAL_FAILED, not WW_TLS', async () => {
    // A TLS backend restarting, or a load balancer with no healthy target: a retry can help.
    const resetting = createServer((s) => {
      s.on('error', () => {});
      s.once('data', () => s.resetAndDestroy()); // after the ClientHello: mid-handshake
    });
    const port = await listen(resetting);
    const reset = (await rejection(tls({ ca: cert }).dial({ port }, { connectTimeoutMs: 2000 }))) as WirewardenError;
    expect(reset.code).toBe('WW_DIAL_FAILED');
    expect(reset.retryable).toBe(true);
    expect(reset.message).toBe(`dial tls 127.0.0.1:${port} failed during the TLS handshake (ECONNRESET)`);

    const closing = createServer((s) => {
      s.on('error', () => {});
      s.resume(); // read (and drop) the ClientHello, so the client's FIN is noticed
      s.end(); // a clean FIN, no handshake byte
    });
    const closingPort = await listen(closing);
    const eof = (await rejection(tls({ ca: cert }).dial({ port: closingPort }, { connectTimeoutMs: 2000 }))) as WirewardenError;
    expect(eof.code).toBe('WW_DIAL_FAILED');
    expect(eof.retryable).toBe(true);
    expect(eof.message).toBe(`dial tls 127.0.0.1:${closingPort} failed during the TLS handshake (ECONNRESET)`);
    expect((eof.cause as Error).message).toContain('disconnected before secure TLS connection');
  });

  it('a server that answers in plain text (no TLS) is WW_TLS: a retry cannot fix it', async () => {
    const server = createServer((s) => {
      s.on('error', () => {});
      s.resume();
      s.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    });
    const port = await listen(server);
    const err = (await rejection(tls({ ca: cert }).dial({ port }, { connectTimeoutMs: 2000 }))) as WirewardenError;
    expect(err.code).toBe('WW_TLS');
    expect(err.retryable).toBe(false);
    expect((err.cause as NodeJS.ErrnoException).code).toMatch(/^ERR_SSL_/);
    await expectHandlesBackTo(baseline);
  });

  it('keeps key material out of the transport object', () => {
    const t = tls({ ca: cert, cert, key, passphrase: 'pw-never-shown' });
    expect(Object.keys(t)).toEqual(['kind', 'dial']);
    expect(JSON.stringify(t)).not.toContain('pw-never-shown');
  });
});

describe('unix()', () => {
  it('dials a unix socket; a missing path is WW_DIAL_REFUSED', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ww-unix-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'echo.sock');
    const { server } = echoServer();
    await listen(server, path);
    const stream = await unix().dial({ path }, { connectTimeoutMs: 2000, scheduler: asyncScheduler });
    cleanups.push(() => stream.destroy());
    expect(await echoOnce(stream, 'over unix')).toBe('over unix');
    const missing = join(dir, 'nobody.sock');
    const err = await rejection(unix().dial({ path: missing }, { connectTimeoutMs: 2000 }));
    expect(hasCode(err, 'WW_DIAL_REFUSED')).toBe(true);
    expect(err.message).toBe(`dial unix ${missing} refused (ENOENT)`);
    expect((await rejection(unix().dial({}, { connectTimeoutMs: 1 }))).message).toBe(
      'endpoint.path must be a non-empty string, got undefined',
    );
  });

  it('carries the wire protocol (server on a unix path)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ww-unix-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'wire.sock');
    const server = createWireServer({ path, handler: (p) => ({ got: p }) });
    cleanups.push(() => server.close());
    expect(await server.listen()).toEqual({ path });
    const stream = await unix().dial({ path }, { connectTimeoutMs: 2000 });
    const session = await wire().open(stream, {
      signal: new AbortController().signal, endpoint: { path }, markAlive: () => {}, scheduler: asyncScheduler,
    });
    expect(await session.request(1)).toEqual({ got: 1 });
    await session.close();
  });
});
