/**
 * One reconnect storm: N supervised connections against a wire server in a child process,
 * the server killed (SIGKILL) and a new one listening on the same port `downMs` later, and
 * what the clients did until every connection was `ready` again.
 *
 *   server A ─▶ start N children ─▶ all ready ─▶ fork server B (listens at kill + downMs)
 *     ─▶ SIGKILL A ─▶ none ready ─▶ refused dials back off ─▶ B listens = the restart
 *     ─▶ every child's next dial succeeds ─▶ all ready = end of the recovery window
 *
 * Dial starts come from `runtime.events$` (a child entering `dialing`), stamped with
 * `performance.now()` when the event is emitted — which is when the supervisor spawned the
 * incarnation, however late a busy event loop ran its restart timer. The restart instant
 * is the one server B reports, so the outage lasts `downMs` whatever the parent is doing.
 */
import { connectionMachine } from '../../src/actors/connection-machine.js';
import type { RuntimeEvent } from '../../src/observe/events.js';
import { createRuntime } from '../../src/runtime.js';
import { exponentialBackoff, type Jitter } from '../../src/supervisor/backoff.js';
import { wire } from '../../src/transport/wire.js';
import { forkStormServer, type StormServer } from './storm-server-process.js';
import { dialRate, type DialRate } from './storm-stats.js';

export interface StormOptions {
  readonly connections: number;
  readonly jitter: Jitter;
  readonly initialMs: number;
  readonly maxMs: number;
  /** From SIGKILL to the new server listening. */
  readonly downMs: number;
  readonly bucketMs: number;
  /** A fresh port per storm: the previous storm's sockets linger in TIME_WAIT on theirs. */
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
  /** Dials started while the server was down (each refused). */
  readonly outageDials: number;
  /** Restart (the new server listening) until N children `ready`. */
  readonly recoveryMs: number;
  /** Exit reasons of the restarts scheduled after the server was back, by count. */
  readonly recoveryExits: Readonly<Record<string, number>>;
  /** Dial starts per bucket over the recovery window. */
  readonly rate: DialRate;
  /** This process's event-loop utilisation during the recovery. */
  readonly recoveryElu: number;
  /** Client CPU per connection (µs) from `createSupervisor` to all ready: spawn, connect, handshake. */
  readonly startCpuUs: number;
  /** Client CPU per connection (µs) from SIGKILL to all ready again: death, failed dials, reconnect. */
  readonly stormCpuUs: number;
  /** CPU time of the new server process during the recovery (Linux; NaN elsewhere). */
  readonly serverCpuMs: number;
  /** Heap growth per connection once all were ready at start. */
  readonly heapBytesPerConnection: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** This process's user + system CPU time in µs (all threads: GC helpers, libuv pool). */
function cpuUs(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/** Resolves with the time a condition, re-checked on every event, first held; or times out. */
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
  const servers: StormServer[] = [forkStormServer(o.port, performance.now())];
  const rt = createRuntime();
  const latch = new Latch();
  const dialStarts: number[] = [];
  const restarts: Array<{ at: number; reason: string }> = [];
  let ready = 0;
  const sub = rt.events$.subscribe((e: RuntimeEvent) => {
    if (e.type === 'restart') restarts.push({ at: performance.now(), reason: e.reason });
    if (e.type !== 'state' || e.path === 'root/storm') return;
    if (e.to === 'dialing') dialStarts.push(performance.now());
    else if (e.to === 'ready') ready++;
    if (e.from === 'ready') ready--;
    if (e.to === 'ready' || e.from === 'ready') latch.poke();
  });

  try {
    await servers[0]!.listening;
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
    const cpuAtStart = cpuUs();
    const started = performance.now();
    rt.createSupervisor({
      id: 'storm', strategy: 'one-for-one', shutdownOrder: 'parallel',
      // Every refused dial is a restart: the intensity limit is for crash loops, not outages.
      maxRestarts: Number.POSITIVE_INFINITY,
      children,
    });
    const startMs = performance.now() - started;
    const allReady = await latch.wait('all connections ready at start', () => ready === o.connections, o.phaseLimitMs);
    const startCpuUs = (cpuUs() - cpuAtStart) / o.connections;
    globalThis.gc?.();
    const heapBytesPerConnection = (process.memoryUsage().heapUsed - heapBefore) / o.connections;
    await sleep(200);

    const cpuAtKill = cpuUs();
    const killedAt = performance.now();
    servers.push(forkStormServer(o.port, killedAt + o.downMs));
    const dialsBeforeKill = dialStarts.length;
    await servers[0]!.kill();
    const noneReady = await latch.wait('every connection to leave ready', () => ready === 0, o.phaseLimitMs);
    const backAt = await servers[1]!.listening;
    // Counted from when this loop learns of the restart (late, when it is saturated).
    const serverCpuBefore = servers[1]!.cpuMs();
    const elu0 = performance.eventLoopUtilization();
    const recoveredAt = await latch.wait('all connections ready after the restart', () => ready === o.connections, o.phaseLimitMs);
    const stormCpuUs = (cpuUs() - cpuAtKill) / o.connections;
    const recoveryElu = performance.eventLoopUtilization(elu0).utilization;
    const serverCpuMs = servers[1]!.cpuMs() - serverCpuBefore;

    const rate = dialRate(dialStarts, backAt, recoveredAt, o.bucketMs);
    const outageDials = dialStarts.slice(dialsBeforeKill).filter((t) => t < backAt).length;
    // Why connections died again once the server was back (a second wave of dials).
    const recoveryExits: Record<string, number> = {};
    for (const r of restarts) if (r.at >= backAt) recoveryExits[r.reason] = (recoveryExits[r.reason] ?? 0) + 1;
    return {
      startMs, initialReadyMs: allReady - started, detectMs: noneReady - killedAt, downMs: backAt - killedAt, outageDials,
      recoveryMs: recoveredAt - backAt, rate, recoveryElu, recoveryExits, startCpuUs, stormCpuUs, serverCpuMs, heapBytesPerConnection,
    };
  } finally {
    await rt.shutdown();
    sub.unsubscribe();
    for (const s of servers) await s.stop();
  }
}
