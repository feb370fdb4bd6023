/**
 * undici under supervision: a pool of undici `Client`s — each one is one HTTP/1.1
 * connection to one origin — whose connections wirewarden heartbeats, replaces when they
 * die, and never probes while they are leased.
 *
 *   npx tsx examples/undici-pool.ts     # starts its own HTTP server on 127.0.0.1
 *
 * A `Client` dials by itself and redials on its own at the next request, so this is
 * `custom()`'s connect mode, with undici's `connect` option doing two jobs: it taps the
 * socket's reads (`markAlive`), and it dials exactly once, so that one `Client` is one
 * connection — a lost one is replaced by wirewarden (with backoff, under supervision),
 * never silently redialed under a lease that believes it still holds the old one.
 * Recipe, and what undici does on its own versus what this adds: docs/custom-clients.md,
 * "undici".
 *
 * The module also exports the protocol (`undiciClients(settings)`): the tests pool it
 * against a real `node:http` server on loopback (test/integration/custom-undici.test.ts).
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { pathToFileURL } from 'node:url';
import { buildConnector, Client } from 'undici';
import { createRuntime, custom, type ConnectProtocol, type Endpoint } from 'wirewarden';

export interface UndiciClientSettings {
  /**
   * The probe: one request whose response, whatever its status, proves the connection
   * alive (a 503 is an unhealthy service on a live connection). Default `HEAD /`.
   */
  readonly probe?: { readonly method?: 'HEAD' | 'GET' | 'OPTIONS'; readonly path?: string };
  /** `'https:'` dials TLS (the endpoint's `servername` for SNI). Default `'http:'`. */
  readonly scheme?: 'http:' | 'https:';
  /** The connector's options (`ca`, `rejectUnauthorized`, `timeout`…), passed to undici's `buildConnector`. */
  readonly tls?: buildConnector.BuildOptions;
  /** Any other `Client` option (`pipelining`, `headersTimeout`, `keepAliveTimeout`…); `connect` is the recipe's. */
  readonly client?: Omit<Client.Options, 'connect'>;
}

/** What the recipe keeps per client beside undici's own state. */
interface ClientWatch {
  /** Probes waiting for a reply: their own response is not "other traffic". */
  probesWaiting: number;
  /** The probe request on the wire, if any: a later probe waits for it instead of queueing another. */
  pending: Promise<void> | undefined;
}
const watches = new WeakMap<Client, ClientWatch>();

/** The error a lost connection's `Client` gives a request instead of dialing again. */
export class ClientReplacedError extends Error {
  readonly code = 'CLIENT_REPLACED';
}

/**
 * One request, its body read to the end (so the connection is free again). `reset:
 * false`: undici otherwise closes the connection after every HEAD (for servers that send
 * a body anyway), and a probe must not end the connection it proves alive.
 */
async function ask(client: Client, method: string, path: string): Promise<void> {
  const { body } = await client.request({ method: method as 'HEAD', path, reset: false });
  await body.dump();
}

/**
 * undici closing a socket on purpose — its keep-alive idle timer, a response with
 * `Connection: close`, `maxRequestsPerClient` — reports an `InformationalError`
 * (`UND_ERR_INFO`): an orderly end (`peer-closed`), not a socket error.
 */
const orderly = (err: unknown): boolean => (err as { code?: unknown } | null)?.code === 'UND_ERR_INFO';

function originOf(endpoint: Endpoint, scheme: string): string {
  const host = endpoint.host ?? '127.0.0.1';
  return `${scheme}//${host.includes(':') ? `[${host}]` : host}:${endpoint.port}`;
}

/** A `custom()` connect-mode protocol whose sessions are connected undici `Client`s. */
export function undiciClients(settings: UndiciClientSettings = {}): ConnectProtocol<Client> {
  const method = settings.probe?.method ?? 'HEAD';
  const path = settings.probe?.path ?? '/';
  const scheme = settings.scheme ?? 'http:';
  const dial = buildConnector({ ...settings.tls });

  /** The probe request, shared by probes that overlap (the first one's is still on the wire). */
  const probeOnce = (client: Client, watch: ClientWatch): Promise<void> =>
    (watch.pending ??= ask(client, method, path).finally(() => (watch.pending = undefined)));

  return custom<Client>({
    async connect({ endpoint, signal, lost, markAlive }) {
      const watch: ClientWatch = { probesWaiting: 0, pending: undefined };
      let dialed = false;
      const client = new Client(originOf(endpoint, scheme), {
        ...settings.client,
        connect: (opts, callback) => {
          // One Client, one connection: after it is lost, the pool replaces the Client.
          if (dialed) {
            callback(new ClientReplacedError(`the connection to ${opts.hostname}:${opts.port} was lost; wirewarden replaces this client (acquire again)`), null);
            return;
          }
          dialed = true;
          dial({ ...opts, servername: endpoint.servername ?? opts.servername }, (err, socket) => {
            if (err !== null) return callback(err, null);
            callback(null, socket);
            // Added after undici's 'readable' listener (attached inside callback): the
            // socket stays in paused mode and 'data' fires for each chunk undici reads.
            socket.on('data', () => {
              if (watch.probesWaiting === 0) markAlive();
            });
          });
        },
      });
      // 'disconnect': the socket ended (server closed, reset, undici's idle timer);
      // 'connectionError': the dial failed. Either way this client is finished.
      client.on('disconnect', (_origin, _targets, err) => lost(orderly(err) ? undefined : err));
      client.on('connectionError', (_origin, _targets, err) => lost(err));
      const abort = (): void => void client.destroy(signal.reason as Error).catch(() => {});
      signal.addEventListener('abort', abort, { once: true });
      try {
        // undici dials at the first request: the probe request is the handshake.
        await probeOnce(client, watch);
      } catch (err) {
        await client.destroy().catch(() => {});
        throw signal.aborted ? signal.reason : err;
      } finally {
        signal.removeEventListener('abort', abort);
      }
      watches.set(client, watch);
      return client;
    },

    // Never passed to undici: aborting an HTTP/1.1 request on the wire destroys the
    // socket, so a probe timeout would kill a connection the suspicion window is still
    // judging. The timed-out request stays on the wire; the next probe waits for it.
    probe: (client, signal) =>
      new Promise<void>((resolve, reject) => {
        const watch = watches.get(client)!;
        const reply = probeOnce(client, watch);
        watch.probesWaiting++;
        let settled = false;
        const settle = (): boolean => {
          if (settled) return false;
          settled = true;
          watch.probesWaiting--;
          signal.removeEventListener('abort', onAbort);
          return true;
        };
        const onAbort = (): void => {
          if (settle()) reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort);
        reply.then(() => settle() && resolve(), (err: unknown) => settle() && reject(err));
      }),

    // HTTP keeps no session between requests: nothing to reset. But a Client released
    // with a request still running (a response body nobody read) would make the next
    // holder's requests wait behind it: with no `reset`, the pool retires it.
    needsReset: (client) => client.stats.size > 0,

    // Graceful: undici finishes what is queued, then closes the socket. A client whose
    // socket already died closes at once; past closeTimeoutMs the signal destroys it.
    async close(client, signal) {
      if (client.destroyed) return;
      const destroy = (): void => void client.destroy().catch(() => {});
      signal?.addEventListener('abort', destroy, { once: true });
      try {
        await client.close();
      } catch (err) {
        if (!client.destroyed) throw err;
      } finally {
        signal?.removeEventListener('abort', destroy);
      }
    },
  });
}

/** The demo's origin: `HEAD /` answers the probe, `GET /hello?name=` greets. */
async function startDemoServer(): Promise<{ server: Server; port: number; connections: () => number }> {
  let connections = 0;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/hello') res.end(`hello ${url.searchParams.get('name') ?? 'there'}`);
    else res.end();
  });
  server.on('connection', () => connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port, connections: () => connections };
}

async function main(): Promise<void> {
  const demo = await startDemoServer();
  const rt = createRuntime();
  const pool = rt.createPool({
    endpoints: [{ host: '127.0.0.1', port: demo.port }],
    protocol: undiciClients({ probe: { method: 'HEAD', path: '/' } }),
    min: 2,
    max: 4,
    // Below the keep-alive window undici takes from the server's hint (Node's 5 s minus
    // undici's 2 s margin): an idle connection's probe keeps it open.
    heartbeat: { intervalMs: 1000 },
    acquireTimeoutMs: 5000,
  });
  try {
    const greetings = await Promise.all(['ada', 'bob', 'cy', 'di', 'eve', 'fay', 'gus', 'hal'].map((name) =>
      pool.use(async (client) => {
        const { statusCode, body } = await client.request({ method: 'GET', path: `/hello?name=${name}` });
        return `${statusCode} ${await body.text()}`;
      })));
    console.log('8 requests:', greetings.join(', '));
    console.log(`over ${demo.connections()} keep-alive connections (pool max 4)`);

    // The server drops every connection: each Client reports it, the pool dials new ones.
    // (A request sent in between fails with CLIENT_REPLACED and its lease is lost: undici
    // alone would redial for it; here the pool owns the dialing, so call pool.use again.)
    const replaced = new Promise<void>((resolve) => {
      let ready = 0;
      const sub = pool.events$.subscribe((e) => {
        if (e.type === 'connection-ready' && ++ready === 2) {
          sub.unsubscribe();
          resolve();
        }
      });
    });
    demo.server.closeAllConnections();
    await replaced;
    const again = await pool.use(async (client) => (await client.request({ method: 'GET', path: '/hello?name=again' })).body.text());
    console.log('after the server closed every connection:', again);
    console.log('stats:', JSON.stringify({ acquired: pool.stats().acquired, closed: pool.stats().closed }));
  } finally {
    await rt.shutdown(); // closes every Client (client.close()), no socket or timer left
    demo.server.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
