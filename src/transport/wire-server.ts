/**
 * `createWireServer()`: the server side of the wire protocol, for tests, demos and
 * services that want push-pull heartbeats.
 *
 * Push-pull heartbeats: clients probe the server (PING → PONG), and the server watches
 * its clients. One watchdog timer per server (not one per client) sweeps every
 * `min(clientIdleTimeoutMs, clientProbeTimeoutMs, handshakeTimeoutMs) / 4`:
 *
 *   inbound traffic since last sweep ──▶ active, no probe
 *   silent ≥ clientIdleTimeoutMs      ──▶ send PING
 *   PING unanswered ≥ clientProbeTimeoutMs ──▶ drop ('heartbeat-timeout')
 *   no HELLO within handshakeTimeoutMs     ──▶ drop ('handshake-timeout')
 *
 * so detection takes between idle + probe and idle + probe + 2 sweeps. The watchdog runs
 * only while clients are connected, on the `scheduler` option (virtual time in tests).
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
import { WireServerConnection, type ConnectionHooks } from './wire-server-connection.js';
import { serverSchema, type WireServer, type WireServerAddress, type WireServerOptions } from './wire-server-options.js';

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
 * const { port } = (await server.listen()) as { port: number };
 * // … clients connect with wire({ token: 's3cret' }) …
 * await server.close();
 */
export function createWireServer(options?: WireServerOptions): WireServer {
  const opts = parseOptions('wireServer', serverSchema, options);
  const scheduler = opts.scheduler;
  const tokenDigest = opts.token === undefined ? undefined : digest(opts.token);
  const conns = new Map<number, WireServerConnection>();
  const net: Server = createServer({ noDelay: true });
  let nextId = 0;
  let frozen = false;
  let closing: Promise<void> | undefined;
  let watchdog: Subscription | undefined;
  let emptied: (() => void) | undefined;
  const sweepMs = Math.max(1, Math.floor(Math.min(opts.clientIdleTimeoutMs, opts.clientProbeTimeoutMs, opts.handshakeTimeoutMs) / 4));

  const hooks: ConnectionHooks = {
    scheduler,
    maxFrameBytes: opts.maxFrameBytes,
    maxQueuedBytes: opts.maxQueuedBytes,
    maxInFlight: opts.maxInFlightPerClient,
    checkToken: (t) => tokenDigest === undefined || (t !== undefined && timingSafeEqual(digest(t), tokenDigest)),
    handler: opts.handler,
    onMessage: opts.onMessage,
    framing: opts.framing,
    onDropped: (conn, reason, error) => {
      try {
        opts.onClientDropped?.({ clientId: conn.id, remote: conn.remote, reason, ...(error ? { error } : {}) });
      } catch (err) {
        process.emitWarning(err instanceof Error ? err : new Error(String(err)), 'WirewardenListenerWarning');
      }
    },
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
    for (const conn of conns.values()) {
      if (conn.chunks !== conn.seenChunks) {
        conn.seenChunks = conn.chunks;
        conn.lastActiveAt = now;
        conn.probe = undefined; // any inbound traffic proves liveness
      }
      if (conn.state === 'hello') {
        if (now - conn.connectedAt >= opts.handshakeTimeoutMs) conn.drop('handshake-timeout');
      } else if (conn.probe) {
        if (now - conn.probe.sentAt >= opts.clientProbeTimeoutMs) conn.drop('heartbeat-timeout');
      } else if (now - conn.lastActiveAt >= opts.clientIdleTimeoutMs) {
        conn.sendProbe(now);
      }
    }
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
      conn.seenChunks = conn.chunks;
      conn.lastActiveAt = now;
      conn.probe = undefined;
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
