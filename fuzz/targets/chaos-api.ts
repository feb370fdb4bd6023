/**
 * Target `chaos-api`: the Toxiproxy-compatible HTTP API (src/chaos/toxiproxy-server.ts)
 * on 127.0.0.1, fed over real sockets by a bounded set of concurrent clients.
 *
 * A case is one request (the input): nine in ten are well-formed HTTP/1.1 — random
 * methods and paths over the API's routes, JSON bodies shaped like proxies, toxics and
 * populate lists with wrong types, bad values, deep nesting, oversized bodies, 100 KB
 * URLs, thousands of headers, a browser's User-Agent — sent on the client's keep-alive
 * connection; one in ten is request bytes mutated until they are not HTTP, sent on a
 * fresh connection that the client then ends. Proxies really start and stop (listeners
 * on loopback only); every 1000 cases those a mutated body named outside the small set of
 * names are removed, so the registry stays small.
 *
 * Contract checked:
 * - the process survives (no uncaught exception or unhandled rejection);
 * - every well-formed request is answered with a status; an error status carries the
 *   Toxiproxy body `{ error, status }` with the same status; a 5xx never carries a JS
 *   engine's message (a bug answered as a 500 is still a bug: `uncoded`);
 * - garbage gets a status or a close, within 10 s (never a hang);
 * - after `close()`, neither the API's port nor the port of any proxy registered then
 *   accepts a connection, and no TCP handle is left (no listener the registry lost).
 */
import { createToxiproxyServer } from '../../src/chaos/toxiproxy-server.js';
import { apiRequest, garbageRequest, PROXY_NAMES, type GeneratedRequest } from '../generators/http-requests.js';
import { RawHttpConnection, type ResponseOutcome } from '../raw-http.js';
import { settlesWithin } from '../deadline.js';
import { describeError } from '../oracles.js';
import { Rng } from '../random.js';
import type { FuzzTarget, TargetContext } from '../target.js';
import { checkClosed, tcpHandles } from '../net-checks.js';

const CLIENTS = 8;
/** How long close() and registry.remove() may take. */
const SETTLE_DEADLINE_MS = 10_000;
/** Every this many cases, proxies whose names are not in `PROXY_NAMES` are removed. */
const SWEEP_EVERY_CASES = 1000;
const ANSWER_DEADLINE_MS = 10_000;

/** Messages of errors a JS engine throws: a 5xx that quotes one leaked a bug. */
const ENGINE_ERROR = /TypeError|ReferenceError|RangeError|SyntaxError|Cannot read prop|is not a function|is not iterable|Maximum call stack|undefined \(reading/;

function checkResponse(response: ResponseOutcome, request: GeneratedRequest, served: number, index: number, context: TargetContext): void {
  const { report } = context;
  if (typeof response === 'string') {
    report.note(`unanswered after ${served === 0 ? 'no' : 'earlier'} requests on the connection`);
    report.record('unanswered', `${request.method} got no status (${response}) on a connection that had served ${served} requests`, index, request.bytes);
    return;
  }
  report.note(`status ${response.status}`);
  if (response.status < 200 || response.status > 599) {
    report.record('mismatch', `status ${response.status} out of range`, index, request.bytes);
    return;
  }
  if (request.method === 'HEAD' || response.status === 204) return;
  let body: unknown;
  try {
    body = JSON.parse(response.body.toString('utf8'));
  } catch {
    report.record('mismatch', `status ${response.status} with a body that is not JSON: ${JSON.stringify(response.body.toString('latin1', 0, 80))}`, index, request.bytes);
    return;
  }
  if (response.status >= 400) {
    const e = body as { error?: unknown; status?: unknown };
    if (typeof e?.error !== 'string' || e.status !== response.status) {
      report.record('mismatch', `error status ${response.status} with body ${JSON.stringify(body).slice(0, 120)}`, index, request.bytes);
    } else if (response.status >= 500 && ENGINE_ERROR.test(e.error)) {
      report.record('uncoded', `${response.status} quoting an engine error: ${e.error}`, index, request.bytes);
    } else if (response.status >= 500) {
      // Listen failures are 500s in Toxiproxy too; the notes show which (names, ports masked).
      report.note(`${response.status}: ${e.error.replace(/chaos proxy ".*" (cannot)/s, 'chaos proxy <name> $1').replace(/\d+/g, 'N').slice(0, 80)}`);
    }
  }
}

export const chaosApiTarget: FuzzTarget = {
  name: 'chaos-api',
  summary: `the Toxiproxy-compatible API on 127.0.0.1 fed random, mutated and garbage HTTP requests by ${CLIENTS} clients`,
  async run(context: TargetContext) {
    const { report, seed } = context;
    const tcpBaseline = tcpHandles();
    const api = createToxiproxyServer({ port: 0 });
    await api.start();
    const port = api.address!.port;
    let finalPorts: number[] = [];
    let nextCase = context.onlyCase ?? 0;
    let nextLog = Math.max(1, Math.floor(context.inputs / 10));

    // A mutated body can name a proxy anything; the sweep keeps the registry (and the
    // listeners it holds) to a handful however long the run.
    const sweep = async (): Promise<void> => {
      for (const p of api.registry.list()) {
        if (PROXY_NAMES.includes(p.name)) continue;
        await settlesWithin(api.registry.remove(p.name), SETTLE_DEADLINE_MS, `registry.remove(${JSON.stringify(p.name).slice(0, 40)})`, report);
      }
    };
    const worker = async (): Promise<void> => {
      let conn: RawHttpConnection | undefined;
      let served = 0;
      try {
        while (context.onlyCase === undefined ? report.inputs < context.inputs : nextCase === context.onlyCase) {
          const index = nextCase++;
          context.monitor.currentCase = index;
          report.cases++;
          report.inputs++;
          const rng = Rng.forCase(seed, 'chaos-api', index);
          if (index % SWEEP_EVERY_CASES === SWEEP_EVERY_CASES - 1) await sweep();
          if (rng.chance(0.1)) {
            const request = garbageRequest(rng, port);
            const raw = await RawHttpConnection.open(port);
            raw.write(request.bytes);
            raw.socket.end();
            const response = await raw.next(ANSWER_DEADLINE_MS);
            if (response === 'timeout') report.record('stuck', 'garbage neither answered nor closed', index, request.bytes);
            else report.note(typeof response === 'string' ? `garbage ${response}` : 'garbage answered');
            raw.destroy();
          } else {
            const request = apiRequest(rng, port);
            if (conn === undefined || conn.closed) {
              conn = await RawHttpConnection.open(port);
              served = 0;
            }
            conn.write(request.bytes);
            const response = await conn.next(ANSWER_DEADLINE_MS, request.method === 'HEAD');
            checkResponse(response, request, served++, index, context);
            if (typeof response === 'string' || response.headers.get('connection') === 'close') {
              conn.destroy();
              conn = undefined;
            }
          }
          if (report.inputs >= nextLog) {
            context.log(`chaos-api: ${report.inputs.toLocaleString('en-US')} inputs, ${report.findings} findings, ${api.registry.list().length} proxies`);
            nextLog += Math.max(1, Math.floor(context.inputs / 10));
          }
        }
      } catch (err) {
        report.record('unserved', `client failed: ${describeError(err)}`, nextCase - 1);
      } finally {
        conn?.destroy();
      }
    };
    try {
      await Promise.all(Array.from({ length: context.onlyCase === undefined ? CLIENTS : 1 }, worker));
    } finally {
      // Ports of proxies removed during the run may be taken by other processes since;
      // those still registered must be closed by close(), and the handle count catches
      // any listener the registry lost track of.
      finalPorts = api.registry.list().flatMap((p) => (p.address === undefined ? [] : [p.address.port]));
      await settlesWithin(api.close(), SETTLE_DEADLINE_MS, 'chaos API close()', report);
    }
    for (const p of finalPorts) await checkClosed(p, `proxy port ${p}`, tcpBaseline, context);
    await checkClosed(port, 'chaos API', tcpBaseline, context);
  },
};
