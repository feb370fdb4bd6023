/**
 * A pool embedded in a node:http service, as it runs in a container: `/healthz`
 * (liveness) and `/readyz` (readiness) answered from `pool.health()`, errors mapped to
 * HTTP statuses by `err.retryable` (no list of codes), the client's disconnect
 * cancelling its backend request through `pool.use((conn, signal) => …)`, and a
 * graceful SIGTERM shutdown: not ready at once, no new connections, requests in flight
 * finish, then the pool, the runtime and the backend close and the process exits by
 * itself (nothing left running).
 *
 *   npx tsx examples/http-health.ts            # a demo: asks itself, takes the backend down and up, sends itself SIGTERM
 *   npx tsx examples/http-health.ts --serve    # serves until SIGTERM / Ctrl-C; PORT=8080 picks the port
 *   curl -i 127.0.0.1:<port>/readyz ; curl -i '127.0.0.1:<port>/echo?msg=hi&delayMs=200'
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  constantBackoff, createRuntime, createWireServer, WirewardenError, wire, type WireSession,
} from 'wirewarden';

const token = 'example-token';

// ── the backend: a wire server in this process (in production, another service) ──

async function startBackend(port = 0) {
  const backend = createWireServer({
    port,
    token,
    handler: async (payload) => {
      const { msg, delayMs } = payload as { msg: string; delayMs: number };
      if (delayMs > 0) await sleep(delayMs);
      return { echo: msg };
    },
  });
  return { backend, address: await backend.listen() };
}

let { backend, address } = await startBackend();

// ── the pool ──

const rt = createRuntime();
const pool = rt.createPool<WireSession>({
  endpoints: [{ host: '127.0.0.1', port: address.port }],
  protocol: wire({ token, requestTimeoutMs: 2000 }),
  min: 2,
  max: 8,
  acquireTimeoutMs: 500,
  heartbeat: { intervalMs: 1000, maxTimeoutMs: 500 },
  backoff: constantBackoff({ delayMs: 100 }),
});

// ── the HTTP service ──

let shuttingDown = false;

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  // While draining, a keep-alive socket would hold the close open until the client drops it.
  const connection = shuttingDown ? { connection: 'close' } : {};
  res.writeHead(status, { 'content-type': 'application/json', ...connection, ...headers }).end(`${JSON.stringify(body)}\n`);
}

/** Transient failures (backend down, pool saturated, timeouts) are 503 + Retry-After; the rest 500. */
function fail(res: ServerResponse, err: unknown): void {
  if (err instanceof WirewardenError) {
    const body = { error: err.code, message: err.message, retryable: err.retryable };
    json(res, err.retryable ? 503 : 500, body, err.retryable ? { 'retry-after': '1' } : {});
  } else {
    json(res, 500, { error: 'internal', message: String(err) });
  }
}

async function echo(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  // The client hanging up aborts the wait for a connection and the backend request.
  const gone = new AbortController();
  res.once('close', () => gone.abort(new Error('client closed the connection')));
  const msg = url.searchParams.get('msg') ?? '';
  const delayMs = Number(url.searchParams.get('delayMs') ?? 0);
  try {
    const reply = await pool.use(
      (conn, signal) => conn.request<{ echo: string }>({ msg, delayMs }, { signal }),
      { signal: gone.signal },
    );
    json(res, 200, reply);
  } catch (err) {
    if (!res.headersSent && !gone.signal.aborted) fail(res, err);
  }
  void req;
}

const http = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/healthz') {
    // Liveness: only a closed pool (it never serves again) asks for a restart.
    const h = pool.health();
    json(res, h.live ? 200 : 503, { live: h.live, message: h.message });
  } else if (url.pathname === '/readyz') {
    // Readiness: send traffic only when the pool can serve now — and never while draining.
    const h = pool.health();
    const ready = h.ready && !shuttingDown;
    json(res, ready ? 200 : 503, shuttingDown ? { ...h, ready: false, reason: 'shutting-down' } : h);
  } else if (url.pathname === '/echo') {
    void echo(req, res, url);
  } else {
    json(res, 404, { error: 'not found' });
  }
});
http.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
await once(http, 'listening');
const httpPort = (http.address() as { port: number }).port;
console.log(`listening on http://127.0.0.1:${httpPort}`);

// ── graceful shutdown ──

async function shutdown(signal: string): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  console.log(`${signal}: not ready any more, draining`);
  // Stop accepting; idle keep-alive sockets close now, requests in flight finish.
  const closed = new Promise<void>((resolve) => http.close(() => resolve()));
  http.closeIdleConnections();
  await closed;
  await pool.close(); // waits (bounded by closeTimeoutMs) for leases still out
  await rt.shutdown();
  await backend.close();
  console.log('shut down cleanly');
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));

if (process.argv.includes('--serve')) {
  console.log('serving until SIGTERM');
} else {
  await demo();
}

/** Asks the service what a load balancer and a client would, then sends itself SIGTERM. */
async function demo(): Promise<void> {
  const get = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${httpPort}${path}`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const until = async (path: string, status: number, reason?: string) => {
    for (let i = 0; i < 100; i++) {
      const r = await get(path);
      if (r.status === status && (reason === undefined || r.body.reason === reason)) return r;
      await sleep(50);
    }
    throw new Error(`${path} never answered ${status} ${reason ?? ''}`);
  };

  const ready = await until('/readyz', 200);
  console.log(`GET /readyz  → ${ready.status} ${ready.body.message}`);
  const ok = await get('/echo?msg=hello');
  console.log(`GET /echo    → ${ok.status} ${JSON.stringify(ok.body)}`);

  // The backend goes away: readiness says why, requests fail fast with a retryable 503.
  await backend.close({ graceful: false });
  const down = await until('/readyz', 503, 'unreachable');
  console.log(`backend down: GET /readyz → ${down.status} ${down.body.reason}: ${down.body.message}`);
  const failed = await get('/echo?msg=lost');
  console.log(`              GET /echo   → ${failed.status} ${failed.body.error} (retryable: ${failed.body.retryable})`);
  const live = await get('/healthz');
  console.log(`              GET /healthz → ${live.status} (the process is fine: no restart)`);

  ({ backend, address } = await startBackend(address.port));
  const back = await until('/readyz', 200);
  console.log(`backend back: GET /readyz → ${back.status} ${back.body.message}`);

  // SIGTERM while a slow request is in flight: it still completes.
  const slow = get('/echo?msg=in-flight&delayMs=300');
  await sleep(50);
  process.kill(process.pid, 'SIGTERM');
  const finished = await slow;
  console.log(`in-flight request during shutdown → ${finished.status} ${JSON.stringify(finished.body)}`);
}
