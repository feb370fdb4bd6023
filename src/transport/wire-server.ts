/**
 * `createWireServer()`: the server side of the wire protocol, for tests, demos and
 * services that want push-pull heartbeats.
 *
 * Push-pull heartbeats: clients probe the server (PING → PONG), and the server watches
 * its clients. One watchdog timer per server (not one per client) sweeps every quarter of
 * its shortest bound and applies the rules of wire-server-watchdog.ts (idle → PING,
 * unanswered → 'heartbeat-timeout', no HELLO → 'handshake-timeout', a frame trickling in
 * → 'frame-timeout'). The watchdog runs only while clients are connected, on the
 * `scheduler` option (virtual time in tests).
 *
 * Before authentication a peer costs little and cannot stay long: its frames are at most
 * `maxHandshakeFrameBytes` (refused from the length header), the handshake is bounded
 * from connect, and at most `maxHandshakingClients` connections may be handshaking at
 * once; a socket beyond that is destroyed as it is accepted ('handshake-limit'), before
 * any byte of it is read.
 *
 * `freeze()` simulates a hung process for demos and tests: sockets stay open, nothing is
 * read or answered (not even PINGs), the watchdog pauses. `thaw()` resumes everything
 * and forgives the silence that the freeze caused.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { interval, type Subscription } from 'rxjs';
import { ListenFailedError } from '../errors.js';
import { parseOptions } from '../options.js';
import { remoteOf, WireServerConnection, type ConnectionHooks, type WireDropReason } from './wire-server-connection.js';
import { warnFailure } from './wire-server-failure.js';
import { checkHandshakeFits, frameMaxTimeoutMs, serverSchema, type WireServer, type WireServerAddress, type WireServerOptions } from './wire-server-options.js';
import { sweepIntervalMs, watchClient } from './wire-server-watchdog.js';

export type {
  WireServer, WireServerOptions, WireServerAddress, WireClientInfo, WireClientDropped, WireRequestContext, WireDropReason,
} from './wire-server-options.js';

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/**
 * A wire protocol server.
 *
 * @example
 * const server = createWireServer({ token: 's3cret', handler: (req) => ({ echo: req }) });
 * const { port } = await server.listen();
 * // … clients connect with wire({ token: 's3cret' }) …
 * await server.close();
 */
export function createWireServer(options: WireServerOptions & { readonly path: string }): WireServer<{ readonly path: string }>;
export function createWireServer(options?: WireServerOptions & { readonly path?: undefined }): WireServer<{ readonly host: string; readonly port: number }>;
export function createWireServer(options?: WireServerOptions): WireServer;
export function createWireServer(options?: WireServerOptions): WireServer {
  const opts = parseOptions('wireServer', serverSchema, options);
  checkHandshakeFits(opts);
  const limits = { ...opts, frameMaxTimeoutMs: frameMaxTimeoutMs(opts) };
  const scheduler = opts.scheduler;
  const tokenDigest = opts.token === undefined ? undefined : digest(opts.token);
  const conns = new Map<number, WireServerConnection>();
  const net: Server = createServer({ noDelay: true });
  let nextId = 0;
  let frozen = false;
  let closing: Promise<void> | undefined;
  let watchdog: Subscription | undefined;
  let emptied: (() => void) | undefined;
  /** Connections that have not finished their handshake; changed only by accept() and onHandshakeDone. */
  let handshaking = 0;
  const sweepMs = sweepIntervalMs(opts);

  function reportDropped(clientId: number, remote: string, reason: WireDropReason, error?: Error): void {
    try {
      opts.onClientDropped?.({ clientId, remote, reason, ...(error ? { error } : {}) });
    } catch (err) {
      warnFailure(err, 'WirewardenListenerWarning');
    }
  }

  const hooks: ConnectionHooks = {
    scheduler,
    maxFrameBytes: opts.maxFrameBytes,
    maxHandshakeFrameBytes: opts.maxHandshakeFrameBytes,
    maxQueuedBytes: opts.maxQueuedBytes,
    maxInFlight: opts.maxInFlightPerClient,
    checkToken: (t) => tokenDigest === undefined || (t !== undefined && timingSafeEqual(digest(t), tokenDigest)),
    handler: opts.handler,
    onMessage: opts.onMessage,
    framing: opts.framing,
    onDropped: (conn, reason, error) => reportDropped(conn.id, conn.remote, reason, error),
    onHandshakeDone: () => void handshaking--,
    onClosed: (conn) => {
      conns.delete(conn.id);
      if (conns.size === 0) {
        stopWatchdog();
        emptied?.();
      }
    },
  };

  function sweep(): void {
    if (frozen) return;
    const now = scheduler.now();
    for (const conn of conns.values()) watchClient(conn, now, limits);
  }

  function startWatchdog(): void {
    watchdog ??= interval(sweepMs, scheduler).subscribe(sweep);
  }

  function stopWatchdog(): void {
    watchdog?.unsubscribe();
    watchdog = undefined;
  }

  // After listening, accept errors (EMFILE…) are transient; without a listener they would
  // crash the process. `listen()` attaches its own listener for bind errors.
  net.on('error', () => {});

  // Sockets from the listener and streams handed to `accept` (an in-memory transport) are served alike.
  function accept(stream: Duplex): void {
    if (closing) {
      stream.destroy();
      return;
    }
    if (handshaking >= opts.maxHandshakingClients) {
      // Refused before a byte is read: the cheapest answer to a flood of idle sockets.
      const remote = remoteOf(stream);
      stream.on('error', noop);
      stream.destroy();
      reportDropped(++nextId, remote, 'handshake-limit');
      return;
    }
    handshaking++;
    const conn = new WireServerConnection(++nextId, stream, hooks);
    conns.set(conn.id, conn);
    if (frozen) conn.pause();
    startWatchdog();
  }

  net.on('connection', (socket: Socket) => accept(socket));

  function address(): WireServerAddress | undefined {
    const a = net.address();
    if (a === null) return undefined;
    if (typeof a === 'string') return { path: a };
    return { host: (a as AddressInfo).address, port: (a as AddressInfo).port };
  }

  function listen(): Promise<WireServerAddress> {
    return new Promise((resolve, reject) => {
      const where = opts.path ?? `${opts.host}:${opts.port}`;
      const onError = (err: Error): void => {
        net.off('listening', onListening);
        reject(new ListenFailedError(`wire server could not listen on ${where}: ${(err as NodeJS.ErrnoException).code ?? err.message}`, { cause: err }));
      };
      const onListening = (): void => {
        net.off('error', onError);
        resolve(address()!);
      };
      net.once('error', onError);
      net.once('listening', onListening);
      if (opts.path !== undefined) net.listen(opts.path);
      else net.listen(opts.port, opts.host);
    });
  }

  function close(closeOptions?: { graceful?: boolean }): Promise<void> {
    closing ??= (async () => {
      const graceful = closeOptions?.graceful ?? true;
      const stopped = new Promise<void>((resolve) => (net.listening ? net.close(() => resolve()) : resolve()));
      if (frozen) thaw();
      stopWatchdog();
      if (graceful && conns.size > 0) {
        const left = new Promise<void>((resolve) => (emptied = resolve));
        const timer = scheduler.schedule(() => emptied?.(), opts.closeTimeoutMs);
        for (const conn of conns.values()) {
          if (conn.state === 'ready') conn.goaway('server closing');
          else conn.destroy();
        }
        await left;
        timer.unsubscribe();
      }
      for (const conn of [...conns.values()]) conn.destroy();
      await stopped;
    })();
    return closing;
  }

  function thaw(): void {
    if (!frozen) return;
    frozen = false;
    const now = scheduler.now();
    for (const conn of conns.values()) {
      conn.forgive(now);
      conn.resume();
    }
  }

  return {
    listen,
    accept,
    get address() {
      return address();
    },
    get connections() {
      return conns.size;
    },
    clients: () =>
      [...conns.values()].map((c) => ({ id: c.id, remote: c.remote, state: c.state, inFlight: c.inFlight, probing: c.probe !== undefined })),
    push(target, payload, pushOptions) {
      const offload = pushOptions?.offload;
      const targets = target === 'all' ? [...conns.values()] : [conns.get(target)].filter((c) => c !== undefined);
      let sent = 0;
      for (const conn of targets) {
        if (conn.state !== 'ready' && conn.state !== 'goaway') continue;
        if (target === 'all') {
          try {
            conn.push(payload, offload);
            sent++;
          } catch {
            // A slow or closing client misses a broadcast; the others still get it.
          }
        } else {
          conn.push(payload, offload);
          sent++;
        }
      }
      return sent;
    },
    freeze() {
      if (frozen) return;
      frozen = true;
      for (const conn of conns.values()) conn.pause();
    },
    thaw,
    get frozen() {
      return frozen;
    },
    close,
    [Symbol.asyncDispose]: () => close(),
  };
}

function noop(): void {}
