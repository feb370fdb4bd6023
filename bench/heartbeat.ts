/**
 * CPU per idle heartbeat round trip and heap per connection, at 1k and 10k loopback
 * connections, supervised wirewarden connections side by side with a bare-socket floor.
 *
 *   npx tsx --expose-gc bench/heartbeat.ts [--sizes 1000,10000] [--interval-ms 1000]
 *                                         [--window-s 6] [--rounds 3] [--profile out.cpuprofile]
 *
 * The wire server runs in a child process (src/demo/server-process.ts), so only the
 * client side is measured. Both sides send one PING per connection per interval with a
 * random phase and wait for the PONG:
 *
 * - floor: raw `net.Socket`s that did the HELLO handshake by hand, a pre-encoded PING
 *   frame written from one `setInterval` per socket, PONG bytes counted on 'data';
 * - wirewarden: `connectionMachine` children of one supervisor in a runtime, `wire()`
 *   sessions; each idle tick goes ready → probing → ready (two state changes, one probe).
 *
 * CPU per heartbeat = process CPU time (user + system) over a window / round trips in
 * that window; the median of `--rounds` windows is reported. Heap per connection =
 * (heapUsed after all connected − before) / N, after forced GCs. Both sides build their
 * options once (a pool does too); each wirewarden child gets its own input object.
 *
 * Probe failures in the measured windows are reported: on a loaded machine a probe can
 * time out (event-loop lag above the 100 ms floor), and its suspect round adds state
 * changes the floor never makes. Compare ratios within one run; the machine is shared.
 *
 * Last, the cost of the machine alone: one standalone connection actor cycled
 * ready → probing → ready in a loop (stub scheduler and protocol, no I/O), i.e. the two
 * XState transitions per heartbeat and the probe bookkeeping around them.
 */
import { connect, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { parseArgs } from 'node:util';
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { pack } from 'msgpackr';
import type { SchedulerLike, Subscription } from 'rxjs';
import { createActor } from 'xstate';
import { spawnServerProcess, type ServerProcess } from '../src/demo/spawn-server.js';
import { createRuntime } from '../src/runtime.js';
import { connectionMachine } from '../src/actors/connection-machine.js';
import { wire } from '../src/transport/wire.js';
import { constantBackoff } from '../src/supervisor/backoff.js';
import type { ConnectionContext } from '../src/actors/connection-types.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,10000' },
    'interval-ms': { type: 'string', default: '1000' },
    'window-s': { type: 'string', default: '6' },
    rounds: { type: 'string', default: '3' },
    // Writes a V8 CPU profile of wirewarden's measured windows only (no connect phase).
    profile: { type: 'string' },
    // Writes a V8 sampling heap profile (garbage included) of the same windows.
    'alloc-profile': { type: 'string' },
  },
});
const sizes = values.sizes.split(',').map(Number);
const intervalMs = Number(values['interval-ms']);
const windowMs = Number(values['window-s']) * 1000;
const rounds = Number(values.rounds);

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('run with --expose-gc (npx tsx --expose-gc bench/heartbeat.ts) so heap figures are meaningful');
  process.exit(1);
}

function frame(value: unknown): Buffer {
  const payload = pack(value);
  const out = Buffer.allocUnsafe(4 + payload.length);
  out.writeUInt32BE(payload.length, 0);
  payload.copy(out, 4);
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function heapUsed(): number {
  for (let i = 0; i < 4; i++) gc!();
  return process.memoryUsage().heapUsed;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

interface Result {
  cpuPerBeatUs: number[];
  beatsPerSec: number[];
  heapPerConnBytes: number;
  /** Probes that timed out during the measured windows (wirewarden only). */
  probeFailures?: number;
}

/** Opens `n` sockets with at most `parallel` connects in flight (the server's backlog is finite). */
async function openInBatches<T>(n: number, parallel: number, open: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < n) {
      const i = next++;
      out[i] = await open(i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, n) }, worker));
  return out;
}

async function floorRun(server: ServerProcess, n: number): Promise<Result> {
  const hello = frame([1, { version: 1 }]);
  const ping = frame([9, 0]);
  let pongBytes = 0;
  let pongFrameBytes = 0;
  const h0 = heapUsed();
  const sockets = await openInBatches(n, 256, (i) => new Promise<{ socket: Socket; timers: NodeJS.Timeout[] }>((resolve, reject) => {
    const socket = connect({ host: server.host, port: server.port, noDelay: true });
    const timers: NodeJS.Timeout[] = [];
    socket.once('error', reject);
    socket.once('connect', () => socket.write(hello));
    socket.once('data', () => {
      // HELLO_OK arrived: from now on every byte is a PONG.
      socket.on('data', (chunk: Buffer) => {
        if (pongFrameBytes === 0) pongFrameBytes = chunk.length;
        pongBytes += chunk.length;
      });
      const start = setTimeout(() => {
        socket.write(ping);
        timers.push(setInterval(() => socket.write(ping), intervalMs));
      }, Math.floor(Math.random() * intervalMs));
      timers.push(start);
      resolve({ socket, timers });
      void i;
    });
  }));
  await sleep(2 * intervalMs);
  const heapPerConnBytes = (heapUsed() - h0) / n;
  const cpuPerBeatUs: number[] = [];
  const beatsPerSec: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const b0 = pongBytes;
    const c0 = cpuMicros();
    const t0 = performance.now();
    await sleep(windowMs);
    const beats = (pongBytes - b0) / pongFrameBytes;
    cpuPerBeatUs.push((cpuMicros() - c0) / beats);
    beatsPerSec.push(beats / ((performance.now() - t0) / 1000));
  }
  for (const { socket, timers } of sockets) {
    for (const t of timers) clearTimeout(t);
    socket.destroy();
  }
  return { cpuPerBeatUs, beatsPerSec, heapPerConnBytes };
}

async function wirewardenRun(server: ServerProcess, n: number): Promise<Result> {
  const h0 = heapUsed();
  const rt = createRuntime();
  const protocol = wire();
  const sup = rt.createSupervisor({
    id: 'bench',
    maxRestarts: 100_000,
    withinMs: 60_000,
    shutdownOrder: 'parallel',
    children: [],
  });
  // Options built once and shared, as a pool or any config loader does; each child still
  // gets its own input and endpoint object.
  const heartbeat = { intervalMs, minTimeoutMs: 100, maxTimeoutMs: 2000, suspectProbes: 2 };
  const backoff = constantBackoff({ delayMs: 100 });
  // Start in batches like the floor, so neither side measures a SYN backlog overflow.
  for (let i = 0; i < n; i += 256) {
    const ids: string[] = [];
    for (let j = i; j < Math.min(n, i + 256); j++) {
      const id = `c${j}`;
      ids.push(id);
      sup.startChild({
        id,
        logic: connectionMachine,
        input: {
          endpoint: { host: server.host, port: server.port },
          protocol,
          heartbeat,
        },
        restart: 'permanent',
        backoff,
      });
    }
    await Promise.all(ids.map((id) => sup.whenChildState(id, 'ready')));
  }
  const counters = (): { sent: number; failed: number } => {
    let sent = 0;
    let failed = 0;
    for (const c of sup.children()) {
      const snap = sup.childRef(c.id)?.getSnapshot() as { context?: ConnectionContext } | undefined;
      sent += snap?.context?.probesSent ?? 0;
      failed += snap?.context?.probesFailed ?? 0;
    }
    return { sent, failed };
  };
  await sleep(2 * intervalMs);
  const heapPerConnBytes = (heapUsed() - h0) / n;
  const cpuPerBeatUs: number[] = [];
  const beatsPerSec: number[] = [];
  let probeFailures = 0;
  const profiler = values.profile || values['alloc-profile'] ? new Session() : undefined;
  if (profiler) {
    profiler.connect();
    if (values.profile) {
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    } else {
      await profiler.post('HeapProfiler.enable');
      await profiler.post('HeapProfiler.startSampling', {
        samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true,
      });
    }
  }
  for (let r = 0; r < rounds; r++) {
    const p0 = counters();
    const c0 = cpuMicros();
    const t0 = performance.now();
    await sleep(windowMs);
    const c1 = cpuMicros();
    const t1 = performance.now();
    // Counting probes walks every snapshot; that walk is outside the measured window.
    const p1 = counters();
    const beats = p1.sent - p0.sent;
    probeFailures += p1.failed - p0.failed;
    cpuPerBeatUs.push((c1 - c0) / beats);
    beatsPerSec.push(beats / ((t1 - t0) / 1000));
  }
  if (profiler) {
    const { profile } = values.profile
      ? await profiler.post('Profiler.stop')
      : await profiler.post('HeapProfiler.stopSampling');
    writeFileSync(values.profile ?? values['alloc-profile']!, JSON.stringify(profile));
    profiler.disconnect();
  }
  const notReady = sup.children().filter((c) => c.state !== 'ready' && c.state !== 'probing').length;
  if (notReady > 0) console.warn(`  warning: ${notReady} connections were not ready at the end`);
  await rt.shutdown();
  return { cpuPerBeatUs, beatsPerSec, heapPerConnBytes, probeFailures };
}

/**
 * µs of CPU per ready → probing → ready cycle of one standalone connection actor: a
 * scheduler whose actions never fire and a protocol whose probe answers at once, so
 * only the machine and the probe bookkeeping run (the heartbeat path minus all I/O).
 */
async function machineCycleUs(cycles: number): Promise<number> {
  const inert: Subscription = { closed: false, unsubscribe() {} } as unknown as Subscription;
  const scheduler: SchedulerLike = { now: () => Date.now(), schedule: () => inert };
  const answered = Promise.resolve();
  const actor = createActor(connectionMachine, {
    input: {
      endpoint: { host: '127.0.0.1', port: 1 },
      protocol: { name: 'stub', open: () => Promise.resolve({}), probe: () => answered, close: () => Promise.resolve() },
      transport: { kind: 'stub', dial: () => Promise.resolve(new PassThrough()) },
      scheduler,
      random: () => 0.5,
      loadSource: () => 0,
    },
  });
  actor.start();
  while (actor.getSnapshot().value !== 'ready') await sleep(1);
  const idle = { type: 'ww.heartbeat.idle' } as const;
  const run = async (k: number): Promise<void> => {
    for (let i = 0; i < k; i++) {
      actor.send(idle);
      // The probe's reply arrives as a promise reaction, as over a socket.
      await answered;
      await answered;
    }
  };
  await run(cycles / 4);
  const sent0 = actor.getSnapshot().context.probesSent;
  const c0 = cpuMicros();
  await run(cycles);
  const us = (cpuMicros() - c0) / cycles;
  const snap = actor.getSnapshot();
  if (snap.value !== 'ready' || snap.context.probesSent - sent0 !== cycles) {
    throw new Error('machine benchmark: the actor left the heartbeat path');
  }
  actor.stop();
  return us;
}

const fmt = (x: number, d = 1) => x.toFixed(d);

async function main(): Promise<void> {
  console.log(`heartbeat bench: interval ${intervalMs} ms, window ${windowMs / 1000} s × ${rounds} rounds, node ${process.version}`);
  const rows: string[] = [];
  for (const n of sizes) {
    // A fresh server (and port) per side: closed client sockets linger in TIME_WAIT.
    let server = await spawnServerProcess();
    const floor = await floorRun(server, n);
    await server.stop();
    await sleep(500);
    server = await spawnServerProcess();
    const ours = await wirewardenRun(server, n);
    await server.stop();
    const fCpu = median(floor.cpuPerBeatUs);
    const oCpu = median(ours.cpuPerBeatUs);
    console.log(`  n=${n}: floor ${fmt(fCpu)} µs/hb (${fmt(median(floor.beatsPerSec), 0)} hb/s), wirewarden ${fmt(oCpu)} µs/hb (${fmt(median(ours.beatsPerSec), 0)} hb/s)`);
    if (ours.probeFailures) console.warn(`  warning: ${ours.probeFailures} probes timed out during the windows (machine overloaded?); their suspect rounds are in the figure`);
    rows.push(
      `| ${n} | ${fmt(fCpu)} | ${fmt(oCpu)} | ${fmt(oCpu / fCpu, 2)}× | ${fmt(median(floor.beatsPerSec), 0)} / ${fmt(median(ours.beatsPerSec), 0)} | ${fmt(floor.heapPerConnBytes / 1024, 2)} | ${fmt(ours.heapPerConnBytes / 1024, 2)} |`,
    );
    await sleep(500);
  }
  console.log('\n| connections | floor CPU µs/heartbeat | wirewarden CPU µs/heartbeat | ratio | heartbeats/s floor / wirewarden | floor heap KB/conn | wirewarden heap KB/conn |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) console.log(r);
  const machine = [];
  for (let i = 0; i < 3; i++) machine.push(await machineCycleUs(100_000));
  console.log(`\nmachine alone (standalone actor, no I/O): ${fmt(median(machine))} µs per ready → probing → ready cycle (median of 3 × 100k)`);
}

await main();
