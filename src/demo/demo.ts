/**
 * `wirewarden demo` (what `npm start` runs): supervised connections to a real wire server
 * in a child process, through a freeze (SIGSTOP: sockets open, nobody answers) and a crash
 * (SIGKILL), then the server's return. Everything binds 127.0.0.1; the demo ends by itself
 * after `--duration` seconds or on Ctrl-C, with exit code 0 and nothing left running.
 *
 *   0%  server up, N connections ready, heartbeats measure RTT
 *  25%  freeze  → ready → probing → suspect → dead (heartbeat-timeout) → restarts
 *  50%  kill    → dial-failed / peer-closed, restarts spread by backoff jitter
 *  65%  restart → every connection back to ready
 *
 * Beside the supervised connections, a pool serves 8 concurrent users; its gauges and
 * request counts are on the status line. `wirewarden demo` also serves the live
 * dashboard (and, with `--inspect-port`, Stately's inspector relay) and prints its URL.
 */
import { parseArgs } from 'node:util';
import { createRuntime, type Runtime } from '../runtime.js';
import { connectionMachine } from '../actors/connection-machine.js';
import { liveConnection } from '../actors/live-connection.js';
import { wire } from '../transport/wire.js';
import { exponentialBackoff } from '../supervisor/backoff.js';
import type { SupervisorHandle } from '../supervisor/supervisor-handle.js';
import type { RuntimeEvent } from '../observe/events.js';
import { spawnServerProcess, type ServerProcess } from './spawn-server.js';
import { createDemoPrinter } from './demo-printer.js';
import { startDemoPool } from './demo-pool.js';

export interface DemoOptions {
  durationS: number;
  connections: number;
  /** Write lines here (default stdout). */
  write?: (line: string) => void;
  /** Resolves early when aborted (Ctrl-C). */
  signal?: AbortSignal;
  /** Serve the live dashboard (docs/observability.md) and print its URL. Default: not served. */
  dashboard?: { port?: number; host?: string };
  /** Serve Stately's inspector relay fed by the demo's runtime. Default: not served. */
  inspect?: { port?: number; host?: string };
}

export interface DemoResult {
  deaths: Record<string, number>;
  restarts: number;
  readyAtEnd: number;
  requestsOk: number;
  requestsFailed: Record<string, number>;
}

const heartbeat = { intervalMs: 1000, minTimeoutMs: 50, maxTimeoutMs: 400, suspectProbes: 2 };

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const out = createDemoPrinter(options.write ?? ((l) => process.stdout.write(`${l}\n`)));
  const durationMs = options.durationS * 1000;
  let server: ServerProcess | undefined = await spawnServerProcess();
  const port = server.port;
  out.note(`wire server pid ${server.pid} listening on 127.0.0.1:${port}`);

  const rt: Runtime = createRuntime();
  try {
    if (options.dashboard) out.note(`dashboard: ${(await rt.serveDashboard({ ...options.dashboard, intervalMs: 500 })).url}`);
    if (options.inspect) out.note(`Stately inspector: ${(await rt.serveInspector(options.inspect)).url} (loads the UI from stately.ai)`);
  } catch (err) {
    await rt.shutdown();
    await server.stop();
    throw err;
  }
  const deaths: Record<string, number> = {};
  let restarts = 0;
  const sub = rt.events$.subscribe((e: RuntimeEvent) => {
    if (e.type === 'state') {
      if (e.to === 'dead' && e.reason) deaths[e.reason] = (deaths[e.reason] ?? 0) + 1;
      // A heartbeat round trip (ready → probing → ready) every second per connection would
      // drown the interesting lines; the status line shows RTTs instead.
      const routine = (e.from === 'ready' && e.to === 'probing') || (e.from === 'probing' && e.to === 'ready');
      if (!routine) out.transition(e.path, e.from, e.to, e.reason);
    } else if (e.type === 'restart') {
      restarts++;
      out.restart(e.path, e.attempt, e.delayMs, e.reason);
    } else if (e.type === 'escalation') {
      out.note(`supervisor ${e.path} gave up after ${e.restarts} restarts of ${e.child}`);
    }
  });

  const sup: SupervisorHandle = rt.createSupervisor({
    id: 'demo',
    strategy: 'one-for-one',
    // Reconnect storms are expected here; the intensity limit is for crash loops, so keep it wide.
    maxRestarts: 10_000,
    withinMs: 60_000,
    children: Array.from({ length: options.connections }, (_, i) => ({
      id: `conn-${i + 1}`,
      logic: connectionMachine,
      input: {
        endpoint: { host: '127.0.0.1', port },
        protocol: wire(),
        heartbeat,
        connectTimeoutMs: 1000,
        handshakeTimeoutMs: 1000,
      },
      restart: 'permanent' as const,
      shutdownMs: 2000,
      backoff: exponentialBackoff({ initialMs: 200, maxMs: 2000, multiplier: 2, jitter: 'phased' }),
      resetAfterMs: 5000,
    })),
  });

  const pool = startDemoPool(rt, port);

  const rttLine = (): void => {
    const cells = sup.children().map((c) => {
      const ref = sup.childRef(c.id);
      const live = ref ? liveConnection(ref) : undefined;
      return { id: c.id, state: c.state, rttMs: live?.rttMs };
    });
    out.status(cells, pool.gauges());
  };

  const steps: Array<[number, string, () => Promise<void> | void]> = [
    [0.25, 'freezing the server (SIGSTOP): sockets stay open, nothing answers', () => server?.freeze()],
    [0.5, 'killing the server (SIGKILL): the kernel resets every connection', async () => {
      await server?.kill();
      server = undefined;
    }],
    [0.65, 'restarting the server on the same port', async () => {
      server = await spawnServerProcess({ port });
      out.note(`wire server pid ${server.pid} back on 127.0.0.1:${port}`);
    }],
  ];

  const started = Date.now();
  const ticker = setInterval(rttLine, 1000);
  let readyAtEnd = 0;
  try {
    for (const [at, what, act] of steps) {
      if (!(await sleepUntil(started + at * durationMs, options.signal))) break;
      out.fault(what);
      await act();
    }
    await sleepUntil(started + durationMs, options.signal);
  } finally {
    clearInterval(ticker);
    rttLine();
    readyAtEnd = sup.children().filter((c) => c.state === 'ready').length;
    await pool.stop();
    await rt.shutdown();
    sub.unsubscribe();
    await server?.stop();
    out.summary(deaths, restarts, readyAtEnd, options.connections);
    out.note(`pool: ${pool.ok} requests ok, failed: ${JSON.stringify(pool.failed)}`);
  }
  return { deaths, restarts, readyAtEnd, requestsOk: pool.ok, requestsFailed: { ...pool.failed } };
}

/** Waits until `deadline` (wall clock); false when aborted first. */
function sleepUntil(deadline: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = (): void => {
      clearTimeout(t);
      resolve(false);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, Math.max(0, deadline - Date.now()));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export async function runDemoCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string', default: '30' },
      connections: { type: 'string', default: '6' },
      'dashboard-port': { type: 'string', default: '0' },
      'no-dashboard': { type: 'boolean', default: false },
      'inspect-port': { type: 'string' },
    },
    strict: true,
  });
  const durationS = Number(values.duration);
  const connections = Number(values.connections);
  if (!Number.isFinite(durationS) || durationS < 3 || durationS > 3600) {
    process.stderr.write(`--duration must be a number of seconds in [3, 3600], got ${values.duration}\n`);
    return 2;
  }
  if (!Number.isInteger(connections) || connections < 1 || connections > 1000) {
    process.stderr.write(`--connections must be an integer in [1, 1000], got ${values.connections}\n`);
    return 2;
  }
  const dashboardPort = Number(values['dashboard-port']);
  const inspectPort = values['inspect-port'] === undefined ? undefined : Number(values['inspect-port']);
  for (const [flag, port, text] of [['--dashboard-port', dashboardPort, values['dashboard-port']], ['--inspect-port', inspectPort, values['inspect-port']]] as const) {
    if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
      process.stderr.write(`${flag} must be an integer in [0, 65535], got ${text}\n`);
      return 2;
    }
  }
  const ac = new AbortController();
  const onSignal = (): void => ac.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await runDemo({
      durationS,
      connections,
      signal: ac.signal,
      ...(values['no-dashboard'] ? {} : { dashboard: { port: dashboardPort } }),
      ...(inspectPort === undefined ? {} : { inspect: { port: inspectPort } }),
    });
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
