/**
 * What unauthenticated peers can make a wire server hold (issue 10, item 4): N sockets
 * connect and, without a HELLO, each announce a 16 MiB frame and send all of it but the
 * last byte; then one more sends a complete 16 MiB frame, which a server that accepts it
 * decodes on its event loop. The server runs in a child process (its RSS is its own) and
 * reports, after a forced GC, its RSS and `arrayBuffers` above its idle baseline, the
 * connections it still holds, and the longest event-loop stall seen (monitorEventLoopDelay).
 *
 * Two servers side by side:
 * - `before`: `maxHandshakeFrameBytes` = `maxFrameBytes` (16 MiB), the behaviour before the
 *   pre-auth limit existed;
 * - `after`: the defaults (8 KiB before HELLO: refused from the length header).
 *
 * Last, the worst case within the new limits: `--held` sockets (default 2000, with
 * `maxHandshakingClients` raised to match) each hold all but one byte of an 8 KiB HELLO;
 * reported per socket, it is what each handshaking slot can cost.
 *
 * Run: `npx tsx bench/preauth-flood.ts [--sockets 40] [--held 2000] [--settle-ms 3000]`
 * Peak memory of the `before` server is about sockets × 16 MiB; the client side writes
 * one shared buffer, so it stays small.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createWireServer } from '../src/transport/wire-server.js';

const MiB = 1024 * 1024;
const FRAME_BYTES = 16 * MiB;

interface Report {
  readonly rssMiB: number;
  readonly arrayBuffersMiB: number;
  readonly connections: number;
  readonly stallMaxMs: number;
}

if (process.argv.includes('--serve')) serve();
else await main();

/** Child: a wire server that reports its memory above baseline when asked. */
function serve(): void {
  const limit = Number(process.argv[process.argv.indexOf('--serve') + 1]);
  const handshaking = Number(process.argv[process.argv.indexOf('--serve') + 2] ?? 0);
  const server = createWireServer({
    maxHandshakeFrameBytes: limit > 0 ? limit : undefined,
    maxHandshakingClients: handshaking > 0 ? handshaking : undefined,
    handshakeTimeoutMs: 60_000,
    frameTimeoutMs: 60_000,
  });
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  const usage = (): { rss: number; arrayBuffers: number } => {
    gc();
    const m = process.memoryUsage();
    return { rss: m.rss, arrayBuffers: m.arrayBuffers };
  };
  let base = usage();
  const delay = monitorEventLoopDelay({ resolution: 10 });
  void server.listen().then((addr) => process.send!({ type: 'listening', port: (addr as { port: number }).port }));
  process.on('message', (msg: { type: string }) => {
    if (msg.type === 'baseline') {
      base = usage();
      delay.enable();
      process.send!({ type: 'ok' });
    } else if (msg.type === 'measure') {
      const now = usage();
      const report: Report = {
        rssMiB: (now.rss - base.rss) / MiB,
        arrayBuffersMiB: (now.arrayBuffers - base.arrayBuffers) / MiB,
        connections: server.connections,
        stallMaxMs: delay.max / 1e6,
      };
      process.send!({ type: 'report', report });
    }
  });
  process.on('disconnect', () => process.exit(0));
}

function request<T>(child: ChildProcess, type: string, answer: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (msg: { type: string } & Record<string, unknown>): void => {
      if (msg.type !== answer) return;
      child.off('message', on);
      resolve(msg as T);
    };
    child.on('message', on);
    if (type) child.send({ type });
  });
}

/** Writes `header` and `body` to a new socket; resolves once written or closed. */
function flood(port: number, header: Buffer, body: Buffer): Promise<Socket> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.write(header);
      socket.write(body, () => resolve(socket));
    });
    socket.on('error', () => resolve(socket));
    socket.on('close', () => resolve(socket));
  });
}

async function run(sockets: number, settleMs: number, limit: number | undefined): Promise<Report> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', String(limit ?? 0)], { execArgv: ['--import', 'tsx', '--expose-gc'] });
  try {
    const { port } = await request<{ port: number }>(child, '', 'listening');
    await request(child, 'baseline', 'ok');
    const header = Buffer.alloc(4);
    header.writeUInt32BE(FRAME_BYTES);
    const almost = Buffer.alloc(FRAME_BYTES - 1, 0x61);
    // A complete frame: a msgpack str32 of FRAME_BYTES - 5 bytes, decoded if accepted.
    const whole = Buffer.alloc(FRAME_BYTES, 0x61);
    whole[0] = 0xdb;
    whole.writeUInt32BE(FRAME_BYTES - 5, 1);
    const held = await Promise.all(Array.from({ length: sockets }, () => flood(port, header, almost)));
    held.push(await flood(port, header, whole));
    await new Promise((r) => setTimeout(r, settleMs));
    const { report } = await request<{ report: Report }>(child, 'measure', 'report');
    for (const s of held) s.destroy();
    return report;
  } finally {
    child.kill();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { sockets: { type: 'string', default: '40' }, held: { type: 'string', default: '2000' }, 'settle-ms': { type: 'string', default: '3000' } },
    strict: true,
  });
  const sockets = Number(values.sockets);
  const settleMs = Number(values['settle-ms']);
  console.log(`${sockets} unauthenticated sockets × (16 MiB header + 16 MiB − 1 bytes), + 1 complete 16 MiB frame; measured ${settleMs} ms later`);
  console.log('server  | RSS above idle | arrayBuffers | connections held | longest event-loop stall');
  for (const [name, limit] of [['before', FRAME_BYTES], ['after', undefined]] as const) {
    const r = await run(sockets, settleMs, limit);
    console.log(
      `${name.padEnd(7)} | ${mib(r.rssMiB).padStart(10)} MiB | ${mib(r.arrayBuffersMiB).padStart(8)} MiB | ${String(r.connections).padStart(16)} | ${r.stallMaxMs.toFixed(0).padStart(6)} ms`,
    );
  }
  const held = Number(values.held);
  const r = await runHeld(held, settleMs);
  console.log(
    `\nworst case within the limits: ${held} sockets, each holding all but 1 byte of a maxHandshakeFrameBytes (8 KiB) HELLO:\n`
      + `  RSS ${mib(r.rssMiB)} MiB above idle (${((r.rssMiB * 1024) / held).toFixed(1)} KiB per socket), arrayBuffers ${mib(r.arrayBuffersMiB)} MiB, ${r.connections} connections held`,
  );
}

/** `n` sockets each send a header announcing 8 KiB and 8 KiB − 1 bytes: the most a handshaking peer can make the server hold. */
async function runHeld(n: number, settleMs: number): Promise<Report> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', '0', String(n)], { execArgv: ['--import', 'tsx', '--expose-gc'] });
  try {
    const { port } = await request<{ port: number }>(child, '', 'listening');
    await request(child, 'baseline', 'ok');
    const header = Buffer.alloc(4);
    header.writeUInt32BE(8 * 1024);
    const body = Buffer.alloc(8 * 1024 - 1, 0x61);
    const sockets: Socket[] = [];
    for (let i = 0; i < n; i += 100) {
      sockets.push(...(await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => flood(port, header, body)))));
    }
    await new Promise((r) => setTimeout(r, settleMs));
    const { report } = await request<{ report: Report }>(child, 'measure', 'report');
    for (const s of sockets) s.destroy();
    return report;
  } finally {
    child.kill();
  }
}

/** Whole MiB; a GC can leave the process a little below its baseline, shown as 0. */
function mib(x: number): string {
  return Math.max(0, Math.round(x)).toString();
}
