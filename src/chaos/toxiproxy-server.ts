/**
 * A Toxiproxy-compatible HTTP API on node:http, so Toxiproxy's clients (Go, Ruby, the npm
 * `toxiproxy-node-client`, …) drive wirewarden's chaos proxies unchanged.
 *
 * Guard rails of an admin API that can open listeners:
 * - binds 127.0.0.1:8474 unless told otherwise;
 * - refuses browsers (a `User-Agent` starting with `Mozilla/` gets 403), as Toxiproxy
 *   does, so a web page cannot drive it through DNS rebinding or a cross-site POST;
 * - request bodies are capped (`maxBodyBytes`, 413 beyond, refused on its Content-Length
 *   before any byte is read) and requests time out;
 * - the request line and headers are capped together (`MAX_HEAD_BYTES`): a longer URL
 *   gets 414, longer headers 431 (`toxiproxy-client-errors.ts`), not a reset;
 * - every failure is a JSON error; nothing a client sends can crash the server.
 *
 * Node's own HTTP timeouts (`requestTimeout`, `headersTimeout`) are socket timers the
 * scheduler cannot own; they only bound misbehaving clients.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { SchedulerLike } from 'rxjs';
import { ListenFailedError } from '../errors.js';
import { custom, duration, func, integer, optional, parseOptions, shape, string } from '../options.js';
import { isScheduler } from '../scheduler.js';
import type { ProxyJson } from './chaos-proxy.js';
import { formatHostPort } from './host-port.js';
import { ProxyRegistry, type ProxyInput } from './proxy-registry.js';
import { answerClientErrors } from './toxiproxy-client-errors.js';
import { apiError, handleApiRequest, type ApiResponse } from './toxiproxy-routes.js';
import type { FrameInspector } from './toxic-types.js';

export interface ToxiproxyServerOptions {
  /** Default `127.0.0.1`. */
  readonly host?: string;
  /** Default 8474 (Toxiproxy's); 0 picks a free port. */
  readonly port?: number;
  /** What `GET /version` reports. Default: wirewarden's package version. */
  readonly version?: string;
  /** Largest accepted request body. Default 1 MiB. */
  readonly maxBodyBytes?: number;
  /** Whole-request timeout (Node's `requestTimeout`). Default 15 000, as Toxiproxy's read timeout. */
  readonly requestTimeoutMs?: number;
  /** Passed to every proxy. */
  readonly scheduler?: SchedulerLike;
  readonly random?: () => number;
  readonly frames?: FrameInspector;
  readonly connectTimeoutMs?: number;
  readonly maxBufferedBytes?: number;
  readonly onToxicError?: (err: unknown, proxy: string) => void;
}

export interface ToxiproxyServer {
  /** The proxies this API manages. */
  readonly registry: ProxyRegistry;
  /** Where the API listens, once started. */
  readonly address: { readonly host: string; readonly port: number } | undefined;
  /** `http://host:port`, once started. */
  readonly url: string | undefined;
  /** Binds the API. Rejects with `ListenFailedError`. */
  start(): Promise<void>;
  /** Toxiproxy's `/populate` (what `--config` loads). */
  populate(proxies: readonly ProxyInput[]): Promise<ProxyJson[]>;
  /** Stops the API, drops its HTTP connections and closes every proxy. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Bound on a request's line and headers together (Node's `maxHeaderSize`), fixed here so
 * that `--max-http-header-size` cannot widen it. The API's URLs and headers are short.
 */
export const MAX_HEAD_BYTES = 16 * 1024;

const isInspector = (v: unknown) => typeof v === 'object' && v !== null && typeof (v as FrameInspector).classify === 'function';

const optionsSchema = shape({
  host: string({ nonEmpty: true, default: '127.0.0.1' }),
  port: integer({ min: 0, max: 65535, default: 8474 }),
  version: string({ nonEmpty: true, default: () => packageVersion() }),
  maxBodyBytes: integer({ min: 1, default: 1024 * 1024 }),
  requestTimeoutMs: duration({ min: 1, default: 15_000 }),
  scheduler: optional(custom<SchedulerLike>('a SchedulerLike', isScheduler)),
  random: optional(func<() => number>()),
  frames: optional(custom<FrameInspector>('a FrameInspector ({ classify, errorReply? })', isInspector)),
  connectTimeoutMs: optional(duration({ min: 1 })),
  maxBufferedBytes: optional(integer({ min: 1 })),
  onToxicError: optional(func<(err: unknown, proxy: string) => void>()),
});

let cachedVersion: string | undefined;

function packageVersion(): string {
  if (cachedVersion) return cachedVersion;
  try {
    // src/chaos/ and dist/chaos/ both sit two levels below the package root.
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    cachedVersion = typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    cachedVersion = 'unknown';
  }
  return cachedVersion;
}

/**
 * Creates the API server (call `start()`).
 *
 * @example
 * const api = createToxiproxyServer({ port: 0 });
 * await api.start();
 * const toxiproxy = new Toxiproxy(api.url!);          // toxiproxy-node-client
 * const proxy = await toxiproxy.createProxy({ name: 'redis', listen: '127.0.0.1:0', upstream: '127.0.0.1:6379' });
 * await api.close();
 */
export function createToxiproxyServer(options?: ToxiproxyServerOptions): ToxiproxyServer {
  const o = parseOptions('toxiproxyServer', optionsSchema, options);
  const { host, port, version, maxBodyBytes, requestTimeoutMs, ...proxyDefaults } = o;
  const registry = new ProxyRegistry(
    Object.fromEntries(Object.entries(proxyDefaults).filter(([, v]) => v !== undefined)),
  );
  let server: Server | undefined;
  let address: { host: string; port: number } | undefined;

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    req.on('error', () => req.destroy());
    res.on('error', () => undefined);
    if ((req.headers['user-agent'] ?? '').startsWith('Mozilla/')) {
      send(res, apiError(403, 'User agent not allowed'));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    const refuse = () => {
      refused = true;
      res.setHeader('Connection', 'close');
      send(res, apiError(413, `bad request body: larger than ${maxBodyBytes} bytes`), () => req.destroy());
    };
    // A declared length over the cap is refused before any of the body is read.
    if (Number(req.headers['content-length']) > maxBodyBytes) refuse();
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > maxBodyBytes) {
        refuse();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (refused) return;
      const body = size === 0 ? undefined : Buffer.concat(chunks, size).toString('utf8');
      handleApiRequest(registry, req.method ?? 'GET', req.url ?? '/', body, version).then(
        (response) => send(res, response),
        (err: unknown) => send(res, apiError(500, err instanceof Error ? err.message : String(err))),
      );
    });
  };

  return {
    registry,
    get address() {
      return address;
    },
    get url() {
      return address && `http://${formatHostPort(address.host, address.port)}`;
    },
    async start() {
      if (server) return;
      const s = createServer({ maxHeaderSize: MAX_HEAD_BYTES }, handle);
      s.requestTimeout = requestTimeoutMs;
      s.headersTimeout = Math.min(requestTimeoutMs, 60_000);
      answerClientErrors(s, MAX_HEAD_BYTES);
      await new Promise<void>((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException) =>
          reject(new ListenFailedError(`Toxiproxy API cannot listen on ${formatHostPort(host, port)}: ${err.code ?? err.message}`, { cause: err }));
        s.once('error', onError);
        s.listen({ host, port }, () => {
          s.off('error', onError);
          resolve();
        });
      });
      s.on('error', () => undefined);
      const bound = s.address();
      server = s;
      address = bound !== null && typeof bound === 'object' ? { host: bound.address, port: bound.port } : { host, port };
    },
    async populate(proxies) {
      return (await registry.populate(proxies)).map((p) => p.toJSON());
    },
    async close() {
      const s = server;
      server = undefined;
      address = undefined;
      if (s) {
        const closed = new Promise<void>((resolve) => s.close(() => resolve()));
        s.closeAllConnections();
        await closed;
      }
      await registry.close();
    },
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
}

function send(res: ServerResponse, response: ApiResponse, done?: () => void): void {
  if (res.headersSent || res.destroyed) return;
  if (response.body === undefined) {
    res.writeHead(response.status).end(done);
    return;
  }
  // Go's http.Error ends error bodies with a newline; plain responses have none.
  const isError = response.status >= 400;
  const text = JSON.stringify(response.body) + (isError ? '\n' : '');
  res.writeHead(response.status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text, done);
}
