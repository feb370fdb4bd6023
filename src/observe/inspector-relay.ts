/**
 * A relay for `@statelyai/inspect`'s WebSocket protocol, bound to 127.0.0.1.
 *
 * `createInspectorServer` from `@statelyai/inspect/server` (0.7) listens on all
 * interfaces with no `host` option, and replays an unbounded stream to anyone who
 * connects. This relay speaks the same protocol — every text message a client sends is
 * forwarded to every other client and kept in a replay buffer for clients that connect
 * later; `GET /` serves the bridge page that feeds a browser's Stately inspector
 * (an iframe of stately.ai/inspect) — with these differences:
 *
 * - it binds 127.0.0.1 unless `host` names another address, and refuses a request whose
 *   `Host` or `Origin` is not this server's name (a web page elsewhere cannot connect
 *   through DNS rebinding or from its own origin);
 * - everything is bounded: clients (`maxClients`, one more is refused with 503), message
 *   size (`maxMessageBytes`, a bigger one closes its sender with 1009), the replay buffer
 *   (`replayMessages`), and each client's unsent bytes (`maxBacklogBytes`: a client that
 *   falls that far behind is disconnected). The backlog is measured before a message is
 *   written, and what a client is sent on connecting (the replay, the runtime's
 *   announcement of every actor: ~4 KB per connection, so past 8 MiB from ~2,000) does
 *   not count against it until it has drained — else a fresh viewer of a large runtime
 *   was cut off by its own announcement and reconnected forever;
 * - `close()` ends every client and the listener, and resolves when nothing is left.
 *
 * Producers are ordinary `createWebSocketInspector({ url: relay.wsUrl })` clients;
 * `rt.serveInspector()` (inspector-relay-runtime.ts) feeds the runtime in directly.
 * The WebSocket layer is the `ws` package, loaded on first use.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ListenFailedError } from '../errors.js';
import { custom, integer, parseOptions, shape, string } from '../options.js';
import { closeHttp, httpUrl, isAllowedRequest, listenHttp, LOOPBACK_HOST } from './dashboard-http.js';
import { bridgePage } from './inspector-relay-page.js';

export interface InspectorRelayOptions {
  /** TCP port; 0 picks a free one. Default 0 (`wirewarden inspect` uses 8080, Stately's default). */
  readonly port?: number;
  /** Address to bind. Default `'127.0.0.1'`; name another (`'0.0.0.0'`) only on a trusted network. */
  readonly host?: string;
  /** The inspector UI the bridge page embeds. Default `'https://stately.ai/inspect'`. */
  readonly inspectorUrl?: string;
  /** WebSocket clients at once (producers and viewers). Default 16. */
  readonly maxClients?: number;
  /** Messages replayed to a client that connects later (Stately's server keeps 200). Default 200. */
  readonly replayMessages?: number;
  /** Largest message accepted from a client. Default 4 MiB. */
  readonly maxMessageBytes?: number;
  /** Unsent bytes a client may fall behind before it is disconnected. Default 8 MiB. */
  readonly maxBacklogBytes?: number;
}

export interface InspectorRelay extends AsyncDisposable {
  /** `http://127.0.0.1:<port>/`: the bridge page; open it in a browser with internet access. */
  readonly url: string;
  /** `ws://127.0.0.1:<port>`: where `createWebSocketInspector({ url })` and receivers connect. */
  readonly wsUrl: string;
  readonly host: string;
  readonly port: number;
  /** WebSocket clients connected now. */
  readonly clients: number;
  /** Sends `message` (Stately JSON text) to every client, as if a producer had sent it. */
  publish(message: string): void;
  /** Ends every client and stops listening. Idempotent. */
  close(): Promise<void>;
}

/** What `rt.serveInspector()` needs beyond the protocol (not part of the public API; named in createInspectorRelay's declaration). */
export interface InspectorRelayHooks {
  /**
   * A client connected (after its replay); `send` writes to that client only, as part of
   * its first messages (exempt from the backlog limit until drained: an announcement).
   */
  onClient?(send: (message: string) => void): void;
  /** The number of clients changed. */
  onClientCount?(count: number): void;
}

export const inspectorRelaySchema = shape({
  port: integer({ min: 0, max: 65535, default: 0 }),
  host: string({ nonEmpty: true, default: LOOPBACK_HOST }),
  inspectorUrl: custom<string>('an http(s) URL', isHttpUrl, { default: 'https://stately.ai/inspect' }),
  maxClients: integer({ min: 1, max: 1000, default: 16 }),
  replayMessages: integer({ min: 0, max: 100_000, default: 200 }),
  maxMessageBytes: integer({ min: 1024, max: 1 << 30, default: 4 << 20 }),
  maxBacklogBytes: integer({ min: 1024, max: 1 << 30, default: 8 << 20 }),
});

/** The part of `ws` used here (the package ships no types of its own). */
interface WsClient {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  on(event: 'message', listener: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void): void;
  on(event: 'close', listener: () => void): void;
  on(event: 'error', listener: (err: Error) => void): void;
}
interface WsServer {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, done: (client: WsClient) => void): void;
  close(): void;
}
interface WsModule {
  WebSocketServer: new (options: { noServer: true; maxPayload: number; perMessageDeflate: false; clientTracking: false }) => WsServer;
}

const WS_OPEN = 1;
/** A variable, so the type checker does not look for `ws`'s (absent) declarations. */
const WS_PACKAGE: string = 'ws';

/**
 * `ws` is a dependency of wirewarden, loaded on first use (never at import). If it does
 * not load, the installation is broken: the relay cannot serve, `WW_LISTEN_FAILED` with
 * the loader's error as `cause`.
 */
export async function loadWs(specifier: string = WS_PACKAGE): Promise<WsModule> {
  try {
    return (await import(specifier)) as WsModule;
  } catch (err) {
    const why = (err as { code?: unknown }).code ?? (err instanceof Error ? err.message : String(err));
    throw new ListenFailedError(`the inspector relay could not start: its WebSocket package "${specifier}", a dependency of wirewarden, did not load (${String(why)}); reinstall wirewarden`, { cause: err });
  }
}

/**
 * @example
 * const relay = await createInspectorRelay({ port: 8080 });
 * // in the service: rt.inspect(createWebSocketInspector({ url: relay.wsUrl }).inspect)
 * // in a browser: open relay.url
 */
export async function createInspectorRelay(options?: InspectorRelayOptions, hooks: InspectorRelayHooks = {}): Promise<InspectorRelay> {
  const o = parseOptions('inspectorRelay', inspectorRelaySchema, options);
  const { WebSocketServer } = await loadWs();
  const wss = new WebSocketServer({ noServer: true, maxPayload: o.maxMessageBytes, perMessageDeflate: false, clientTracking: false });
  /** Each client and the unsent bytes it may have: `maxBacklogBytes`, plus its first messages until they drained. */
  const clients = new Map<WsClient, { allowance: number }>();
  const replay: string[] = [];
  // Upgraded sockets leave the HTTP server's bookkeeping: close() destroys them itself.
  const sockets = new Set<Duplex>();
  let closed = false;
  const page = bridgePage(o.inspectorUrl);

  const send = (client: WsClient, message: string): void => {
    const state = clients.get(client);
    if (state === undefined || client.readyState !== WS_OPEN) return;
    const backlog = client.bufferedAmount;
    if (backlog > state.allowance) {
      // Too far behind to catch up: drop it (an inspector reconnects by itself).
      clients.delete(client);
      client.terminate();
      hooks.onClientCount?.(clients.size);
      return;
    }
    if (backlog <= o.maxBacklogBytes) state.allowance = o.maxBacklogBytes;
    client.send(message);
  };
  /** A client's first messages: written whatever the backlog, and allowed for until they drain. */
  const introduce = (client: WsClient, message: string): void => {
    const state = clients.get(client);
    if (state === undefined || client.readyState !== WS_OPEN) return;
    state.allowance += Buffer.byteLength(message);
    client.send(message);
  };
  const broadcast = (message: string, except?: WsClient): void => {
    for (const client of clients.keys()) if (client !== except) send(client, message);
  };
  const remember = (message: string): void => {
    if (o.replayMessages === 0) return;
    replay.push(message);
    if (replay.length > o.replayMessages) replay.shift();
  };

  const server: Server = createServer((req, res) => serveBridge(req, res, o.host, page));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    if (closed || !isAllowedRequest(req, o.host)) return refuseUpgrade(socket, 403, 'Forbidden');
    if (clients.size >= o.maxClients) return refuseUpgrade(socket, 503, 'Service Unavailable');
    wss.handleUpgrade(req, socket, head, (client) => {
      if (closed) return client.terminate();
      clients.set(client, { allowance: o.maxBacklogBytes });
      client.on('error', () => client.terminate());
      client.on('close', () => {
        if (clients.delete(client)) hooks.onClientCount?.(clients.size);
      });
      client.on('message', (data, isBinary) => {
        if (isBinary) return;
        const message = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
        remember(message);
        broadcast(message, client);
      });
      for (const message of replay) introduce(client, message);
      hooks.onClient?.((message) => introduce(client, message));
      hooks.onClientCount?.(clients.size);
    });
  });

  const port = await listenHttp(server, o.host, o.port, 'inspector relay');
  let closing: Promise<void> | undefined;
  const relay: InspectorRelay = {
    url: httpUrl(o.host, port),
    wsUrl: httpUrl(o.host, port, 'ws').replace(/\/$/, ''),
    host: o.host,
    port,
    get clients() {
      return clients.size;
    },
    publish(message) {
      if (closed) return;
      remember(message);
      broadcast(message);
    },
    close() {
      closing ??= (async () => {
        closed = true;
        for (const client of clients.keys()) client.terminate();
        clients.clear();
        for (const socket of sockets) socket.destroy();
        replay.length = 0;
        wss.close();
        await closeHttp(server);
      })();
      return closing;
    },
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
  return relay;
}

function serveBridge(req: IncomingMessage, res: ServerResponse, host: string, page: { html: string; csp: string }): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('GET and HEAD only\n');
  } else if (!isAllowedRequest(req, host)) {
    res.writeHead(403, { 'content-type': 'text/plain' }).end('forbidden: unknown Host or Origin\n');
  } else if ((req.url ?? '/').split('?', 1)[0] !== '/') {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  } else {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': page.csp, 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : page.html);
  }
}

function isHttpUrl(value: unknown): boolean {
  return typeof value === 'string' && /^https?:\/\//.test(value) && URL.canParse(value);
}

function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
}
