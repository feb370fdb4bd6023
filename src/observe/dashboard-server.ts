/**
 * `rt.serveDashboard()`: the live dashboard on a loopback HTTP server (node:http, no
 * framework). Read-only: `GET`/`HEAD` only, and no route changes anything.
 *
 *   GET /            the page (dashboard-page.ts; inline script and style, strict CSP)
 *   GET /events      Server-Sent Events (dashboard-feed.ts)
 *   GET /state.json  the current tree and pool gauges, once (for curl and scripts)
 *
 * Binds 127.0.0.1 unless `host` names another address; a request whose `Host` (or
 * `Origin`) is not this server's name is refused (403), so a web page elsewhere cannot
 * read the tree through DNS rebinding. Registered with the runtime: `rt.shutdown()`
 * closes it, and `close()` leaves no socket, timer or subscription behind.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { RuntimeShutDownError } from '../errors.js';
import { duration, integer, optional, parseOptions, shape, string } from '../options.js';
import type { Runtime } from '../runtime.js';
import { DashboardFeed, type PoolLister } from './dashboard-feed.js';
import { closeHttp, httpUrl, isAllowedRequest, listenHttp, LOOPBACK_HOST } from './dashboard-http.js';
import { DASHBOARD_CSP, DASHBOARD_PAGE } from './dashboard-page.js';

export interface DashboardOptions {
  /** TCP port; 0 picks a free one (read it from `url`). Default 0. */
  readonly port?: number;
  /** Address to bind. Default `'127.0.0.1'`; name another (`'0.0.0.0'`) only on a trusted network. */
  readonly host?: string;
  /** How often open pages get the tree, RTTs and pool gauges. Default 1000. */
  readonly intervalMs?: number;
  /** Pages open at once; one more gets 503. Default 8. */
  readonly maxClients?: number;
  /** Unsent bytes a page may fall behind before it is disconnected (it reconnects). Default 1 MiB. */
  readonly maxBacklogBytes?: number;
  /** Recent events kept for a page that opens later (heartbeat round trips excluded). Default 200. */
  readonly maxEvents?: number;
}

export interface Dashboard extends AsyncDisposable {
  /** `http://127.0.0.1:<port>/`: open it in a browser. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Pages connected now. */
  readonly clients: number;
  /** Ends every page's stream and stops listening. Idempotent. */
  close(): Promise<void>;
}

const dashboardSchema = shape({
  port: integer({ min: 0, max: 65535, default: 0 }),
  host: string({ nonEmpty: true, default: LOOPBACK_HOST }),
  intervalMs: duration({ min: 50, max: 60_000, default: 1000 }),
  maxClients: integer({ min: 1, max: 1000, default: 8 }),
  maxBacklogBytes: integer({ min: 1024, max: 1 << 30, default: 1 << 20 }),
  maxEvents: integer({ min: 0, max: 100_000, default: 200 }),
});

/** Events sent per batch; more within one batch are counted, not sent. */
const MAX_BATCH_EVENTS = 500;
/** Batching window: a burst of state changes costs one write per page, still well inside a second. */
const FLUSH_MS = 25;
/** RTT samples kept per connection (one per tick): the page's last minute at the default interval. */
const RTT_SAMPLES = 60;

/**
 * @internal The body of `rt.serveDashboard()`; `pools` lists the runtime's open pools.
 *
 * @example
 * const dashboard = await rt.serveDashboard({ port: 8475 });
 * console.log(`dashboard: ${dashboard.url}`);
 */
export async function serveDashboard(rt: Runtime, pools: PoolLister, options?: DashboardOptions): Promise<Dashboard> {
  const o = parseOptions('dashboard', dashboardSchema, options);
  if (rt.state !== 'running') throw new RuntimeShutDownError(`runtime is ${rt.state}; cannot serve a dashboard`);
  const feed = new DashboardFeed(rt, pools, {
    intervalMs: o.intervalMs, maxClients: o.maxClients, maxBacklogBytes: o.maxBacklogBytes, maxEvents: o.maxEvents,
    maxBatchEvents: MAX_BATCH_EVENTS, flushMs: FLUSH_MS, rttSamples: RTT_SAMPLES,
  });
  const server = createServer((req, res) => route(req, res, feed, o.host));
  let port: number;
  try {
    port = await listenHttp(server, o.host, o.port, 'dashboard');
  } catch (err) {
    feed.close();
    throw err;
  }
  let closing: Promise<void> | undefined;
  let unregister = (): void => {};
  const dashboard: Dashboard = {
    url: httpUrl(o.host, port),
    host: o.host,
    port,
    get clients() {
      return feed.clients;
    },
    close() {
      closing ??= (async () => {
        unregister();
        feed.close();
        await closeHttp(server);
      })();
      return closing;
    },
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
  try {
    unregister = rt.register(dashboard);
  } catch (err) {
    // The runtime began stopping while we bound the port.
    await dashboard.close();
    throw err;
  }
  return dashboard;
}

function route(req: IncomingMessage, res: ServerResponse, feed: DashboardFeed, host: string): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return plain(res, 405, 'read-only: GET and HEAD only\n', { allow: 'GET, HEAD' });
  }
  if (!isAllowedRequest(req, host)) return plain(res, 403, 'forbidden: unknown Host or Origin\n');
  const path = (req.url ?? '/').split('?', 1)[0];
  switch (path) {
    case '/':
    case '/index.html':
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': DASHBOARD_CSP,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      });
      res.end(req.method === 'HEAD' ? undefined : DASHBOARD_PAGE);
      return;
    case '/events':
      if (req.method === 'HEAD') return plain(res, 200, '');
      if (!feed.add(res)) plain(res, 503, 'too many dashboard pages open\n', { 'retry-after': '5' });
      return;
    case '/state.json': {
      const body = JSON.stringify(feed.snapshot());
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    default:
      return plain(res, 404, 'not found\n');
  }
}

function plain(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', ...headers });
  res.end(text);
}
