/**
 * Fail fast (issue 14): with every endpoint down, how long does an acquire take to fail?
 * `rt.createPool` on loopback with `acquireTimeoutMs` 3000, side by side in one run with the
 * breaker on (`breaker: { waitDurationInOpenStateMs: 5000 }`, the defaults otherwise) and off:
 *
 *   refused   a closed port: every dial is refused at once
 *   frozen    a server that accepts TCP and never answers the handshake (a frozen server's
 *             backlog), `handshakeTimeoutMs` 500
 *
 * For each: the time from the outage's start until the breaker opened (it needs
 * `minimumNumberOfCalls` failed dials first), then `--acquires` sequential acquires once it
 * has opened, each timed (p50, p99, max) — and, breaker off, `--slow` acquires that each
 * wait out `acquireTimeoutMs`. Bar: ≤ 50 ms with the breaker, while acquireTimeoutMs is 3 s.
 *
 * Run: `npx tsx bench/pool-fail-fast.ts` (`--acquires N`, default 1000; `--slow N`, default 3).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { constantBackoff, createRuntime, wire, type Pool, type WireSession } from '../src/index.js';

const { values } = parseArgs({
  options: { acquires: { type: 'string' }, slow: { type: 'string' } },
  strict: true,
});
const ACQUIRES = Number(values.acquires ?? 1000);
const SLOW = Number(values.slow ?? 3);
const ACQUIRE_TIMEOUT_MS = 3000;

/** `frozen`: a server that accepts and never writes; `refused`: a port it bound, then closed. */
async function deadEndpoint(kind: 'refused' | 'frozen'): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const close = async (): Promise<void> => {
    for (const s of sockets) s.destroy();
    if (server.listening) await new Promise<void>((r) => server.close(() => r()));
  };
  if (kind === 'refused') await close();
  return { port, close };
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const ms = (x: number) => `${x < 10 ? x.toFixed(3) : x.toFixed(0)} ms`;

async function timeAcquire(pool: Pool<WireSession>): Promise<{ ms: number; code: string }> {
  const t0 = performance.now();
  const err = await pool.acquire().then((l) => (l.release(), undefined), (e: unknown) => e);
  return { ms: performance.now() - t0, code: (err as { code?: string } | undefined)?.code ?? 'ok' };
}

async function run(kind: 'refused' | 'frozen', breakerOn: boolean): Promise<string> {
  const dead = await deadEndpoint(kind);
  const rt = createRuntime();
  const started = performance.now();
  const pool = rt.createPool<WireSession>({
    endpoints: [{ host: '127.0.0.1', port: dead.port }], protocol: wire({ token: 'bench' }), max: 4,
    acquireTimeoutMs: ACQUIRE_TIMEOUT_MS, handshakeTimeoutMs: 500, backoff: constantBackoff({ delayMs: 50 }),
    breaker: breakerOn ? { waitDurationInOpenStateMs: 5000 } : false,
  });
  let line: string;
  if (breakerOn) {
    // The evidence: acquires wait (and fail) until the breaker has seen enough failed dials.
    let first = await timeAcquire(pool);
    while (first.code !== 'WW_CIRCUIT_OPEN') first = await timeAcquire(pool);
    const openedAfterMs = performance.now() - started;
    const times: number[] = [];
    let other = 0;
    for (let i = 0; i < ACQUIRES; i++) {
      const r = await timeAcquire(pool);
      times.push(r.ms);
      if (r.code !== 'WW_CIRCUIT_OPEN') other++;
    }
    line = `| ${kind} | on | ${ms(openedAfterMs)} | ${ms(pct(times, 0.5))} | ${ms(pct(times, 0.99))} | ${ms(Math.max(...times))} | ${ACQUIRES} × WW_CIRCUIT_OPEN${other ? `, ${other} other` : ''} |`;
  } else {
    const times: number[] = [];
    const codes = new Set<string>();
    for (let i = 0; i < SLOW; i++) {
      const r = await timeAcquire(pool);
      times.push(r.ms);
      codes.add(r.code);
    }
    line = `| ${kind} | off | — | ${ms(pct(times, 0.5))} | ${ms(pct(times, 0.99))} | ${ms(Math.max(...times))} | ${SLOW} × ${[...codes].join(', ')} |`;
  }
  await rt.shutdown();
  await dead.close();
  return line;
}

console.log(`pool fail-fast: every endpoint down, acquireTimeoutMs ${ACQUIRE_TIMEOUT_MS}; node ${process.version}, ${availableParallelism()} cpus (${cpus()[0]?.model ?? '?'}), load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log('');
console.log('| endpoint | breaker | breaker opened after | acquire p50 | p99 | max | results |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const kind of ['refused', 'frozen'] as const) {
  for (const on of [true, false]) console.log(await run(kind, on));
}
process.exit(0);
