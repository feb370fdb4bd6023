/**
 * One reconnect storm: N supervised connections against a wire server in a child process,
 * the server killed (SIGKILL) and restarted on the same port, and what the clients did
 * until every connection was `ready` again.
 *
 *   spawn server ─▶ start N children ─▶ all ready ─▶ SIGKILL ─▶ none ready
 *        ─▶ (down ~downMs, refused dials back off) ─▶ server listening again = "restart"
 *        ─▶ every child's next dial succeeds ─▶ all ready = end of the recovery window
 *
 * Dial starts come from `runtime.events$` (a child entering `dialing`), stamped with
 * `performance.now()` when the event is emitted. The recovery window starts when the
 * new server reported listening — or earlier, at the start of the earliest dial that then
 * succeeded (the server listened a little before its IPC message reached a busy parent).
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { connectionMachine } from '../../src/actors/connection-machine.js';
import { spawnServerProcess, type ServerProcess } from '../../src/demo/spawn-server.js';
import type { RuntimeEvent } from '../../src/observe/events.js';
import { createRuntime } from '../../src/runtime.js';
import { exponentialBackoff, type Jitter } from '../../src/supervisor/backoff.js';
import { wire } from '../../src/transport/wire.js';
import { dialRate, type DialRate } from './storm-stats.js';

export interface StormOptions {
  readonly connections: number;
  readonly jitter: Jitter;
  readonly initialMs: number;
  readonly maxMs: number;
  /** Target time from SIGKILL to the new server listening. */
  readonly downMs: number;
  readonly bucketMs: number;
  /** A fresh port per run: the previous run's sockets linger in TIME_WAIT on theirs. */
  readonly port: number;
  /** Give up on any phase after this long. */
  readonly phaseLimitMs: number;
}

export interface StormRun {
  /** `createSupervisor` with N children: validate, create and start N actors. */
  readonly startMs: number;
  /** From `createSupervisor` to N children `ready` (first connect of all of them). */
  readonly initialReadyMs: number;
  /** SIGKILL until no child is `ready`. */
  readonly detectMs: number;
  /** SIGKILL until the new server listened. */
  readonly downMs: number;
  /** Dials refused (or failed) while the server was down. */
  readonly outageDials: number;
  /** Restart (server listening) until N children `ready`. */
  readonly recoveryMs: number;
  readonly rate: DialRate;
  /** This process's event-loop utilisation and worst event-loop delay during the recovery. */
  readonly recoveryElu: number;
  readonly recoveryMaxLagMs: number;
  /** CPU time of the server process during the recovery (Linux; NaN elsewhere). */
  readonly serverCpuMs: number;
  /** Heap growth per connection once all were ready at start. */
  readonly heapBytesPerConnection: number;
}

/** utime + stime of a process, in ms (Linux /proc; NaN where unavailable). */
function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat(5); the slice starts at field 3. Clock ticks are 100 Hz on Linux.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A promise that a synchronous check (run on each event) resolves, or that times out. */
class Latch {
  #check: (() => boolean) | undefined;
  #resolve: ((at: number) => void) | undefined;

  wait(what: string, check: () => boolean, limitMs: number): Promise<number> {
    if (check()) return Promise.resolve(performance.now());
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#check = this.#resolve = undefined;
        reject(new Error(`timed out after ${limitMs} ms waiting for ${what}`));
      }, limitMs);
      this.#check = check;
      this.#resolve = (at) => {
        clearTimeout(timer);
        this.#check = this.#resolve = undefined;
        resolve(at);
      };
    });
  }

  poke(): void {
    if (this.#check?.()) this.#resolve!(performance.now());
  }
}

export async function runStorm(o: StormOptions): Promise<StormRun> {
  const spawnStarted = performance.now();
  let server: ServerProcess | undefined = await spawnServerProcess({ port: o.port });
  const spawnLeadMs = performance.now() - spawnStarted;
  const rt = createRuntime();
  const latch = new Latch();
  const dialStarts: number[] = [];
  const dialingSince = new Map<string, number>();
  let successfulDialStarts: number[] = [];
  let ready = 0;
  const sub = rt.events$.subscribe((e: RuntimeEvent) => {
    if (e.type !== 'state' || e.path === 'root/storm') return;
    if (e.to === 'dialing') {
      const now = performance.now();
      dialStarts.push(now);
      dialingSince.set(e.id, now);
    } else if (e.to === 'ready') {
      ready++;
      successfulDialStarts.push(dialingSince.get(e.id)!);
      latch.poke();
    }
    if (e.from === 'ready') {
      ready--;
      latch.poke();
    }
  });

  try {
    const protocol = wire();
    const backoff = exponentialBackoff({ initialMs: o.initialMs, maxMs: o.maxMs, multiplier: 2, jitter: o.jitter });
    // Long heartbeats: the storm is about dials, not probes.
    const input = {
      endpoint: { host: '127.0.0.1', port: o.port }, protocol, heartbeat: { intervalMs: 30_000 },
      connectTimeoutMs: 5000, handshakeTimeoutMs: 5000,
    };
    const children = Array.from({ length: o.connections }, (_, i) => ({
      id: `c${i}`, logic: connectionMachine, input, restart: 'permanent' as const, shutdownMs: 5000, backoff,
    }));
    globalThis.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const started = performance.now();
    rt.createSupervisor({
      id: 'storm', strategy: 'one-for-one', shutdownOrder: 'parallel',
      // Every refused dial is a restart: the intensity limit is for crash loops, not outages.
      maxRestarts: Number.POSITIVE_INFINITY,
      children,
    });
    const startMs = performance.now() - started;
    const allReady = await latch.wait('all connections ready at start', () => ready === o.connections, o.phaseLimitMs);
    const initialReadyMs = allReady - started;
    globalThis.gc?.();
    const heapBytesPerConnection = (process.memoryUsage().heapUsed - heapBefore) / o.connections;
    await sleep(200);

    const killedAt = performance.now();
    const dialsBeforeKill = dialStarts.length;
    await server.kill();
    server = undefined;
    const noneReady = await latch.wait('every connection to leave ready', () => ready === 0, o.phaseLimitMs);
    await sleep(Math.max(0, killedAt + o.downMs - spawnLeadMs - performance.now()));
    successfulDialStarts = [];
    server = await spawnServerProcess({ port: o.port, startTimeoutMs: o.phaseLimitMs });
    const backAt = performance.now();
    const serverCpuBefore = processCpuMs(server.pid);
    const elu0 = performance.eventLoopUtilization();
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const recoveredAt = await latch.wait('all connections ready after the restart', () => ready === o.connections, o.phaseLimitMs);
    lag.disable();
    const recoveryElu = performance.eventLoopUtilization(elu0).utilization;
    const serverCpuMs = processCpuMs(server.pid) - serverCpuBefore;

    const windowStart = Math.min(backAt, ...successfulDialStarts);
    const rate = dialRate(dialStarts, windowStart, recoveredAt, o.bucketMs);
    const outageDials = dialStarts.slice(dialsBeforeKill).filter((t) => t < windowStart).length;
    return {
      startMs, initialReadyMs, detectMs: noneReady - killedAt, downMs: windowStart - killedAt, outageDials,
      recoveryMs: recoveredAt - windowStart, rate, recoveryElu, recoveryMaxLagMs: lag.max / 1e6, serverCpuMs,
      heapBytesPerConnection,
    };
  } finally {
    await rt.shutdown();
    sub.unsubscribe();
    await server?.stop();
  }
}
