/**
 * Supervised connections at scale, on real loopback sockets: 200 connection actors under
 * one one-for-one supervisor against a wire server in a child process, which is killed
 * (SIGKILL: the kernel, not our code, ends every connection) and restarted on the same
 * port. Checked: every child returns to `ready` within `maxMs` + a few seconds, the tree
 * still lists exactly the 200 ids, full jitter spreads the dials of the recovery (a
 * no-jitter control run shows the synchronised burst it prevents), and shutdown leaves no
 * socket or timer behind on either side.
 *
 * Wall-clock waits here are bounded polls, never assertions on tight timings: the machine
 * is shared. The server listens on a port below the ephemeral range (32768–60999), so a
 * client's own ephemeral port can never be the server's port while it is down (a
 * loopback connect to a free ephemeral port can connect to itself and then hold the port).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Subscription } from 'rxjs';
import { connectionMachine } from '../../src/actors/connection-machine.js';
import { spawnServerProcess, type ServerProcess } from '../../src/demo/spawn-server.js';
import type { RuntimeEvent } from '../../src/observe/events.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { exponentialBackoff, type Jitter } from '../../src/supervisor/backoff.js';
import type { SupervisorHandle } from '../../src/supervisor/supervisor-handle.js';
import { wire } from '../../src/transport/wire.js';

const CONNECTIONS = 200;
const INITIAL_MS = 50;
const MAX_MS = 1000;
/** Down long enough that most children reach the backoff cap before the server returns. */
const DOWN_MS = 1200;
const BUCKET_MS = 100;
const heartbeat = { intervalMs: 1000, minTimeoutMs: 50, maxTimeoutMs: 500, suspectProbes: 1 };

let server: ServerProcess | undefined;
let rt: Runtime | undefined;
let eventsSub: Subscription | undefined;

afterEach(async () => {
  eventsSub?.unsubscribe();
  if (rt && rt.state === 'running') await rt.shutdown();
  await server?.kill();
  server = rt = eventsSub = undefined;
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `cond` every 10 ms; throws naming `what` once `limitMs` passed. */
async function waitFor(what: string, cond: () => boolean | Promise<boolean>, limitMs: number): Promise<void> {
  const deadline = performance.now() + limitMs;
  while (!(await cond())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${limitMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Sockets, listeners and timers of this process. */
function handles(): Record<'TCPSocketWrap' | 'TCPServerWrap' | 'Timeout', number> {
  const out = { TCPSocketWrap: 0, TCPServerWrap: 0, Timeout: 0 };
  for (const r of process.getActiveResourcesInfo()) if (r in out) out[r as keyof typeof out]++;
  return out;
}

/** A wire server process on a free port below the ephemeral range. */
async function spawnOnFreePort(): Promise<ServerProcess> {
  for (let tries = 0; ; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    try {
      return await spawnServerProcess({ port });
    } catch (err) {
      if (tries >= 5 || !String(err).includes('EADDRINUSE')) throw err;
    }
  }
}

/** Dial start times split wherever `gapMs` passed without one: `[first, last, count]` per burst. */
function bursts(times: readonly number[], gapMs: number): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [];
  for (const t of [...times].sort((a, b) => a - b)) {
    const last = out[out.length - 1];
    if (last && t - last[1] < gapMs) {
      last[1] = t;
      last[2]++;
    } else {
      out.push([t, t, 1]);
    }
  }
  return out;
}

/** The most dial starts inside any window of `windowMs` (sliding, so a burst is never split). */
function peakInWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let peak = 0;
  for (let lo = 0, hi = 0; hi < sorted.length; hi++) {
    while (sorted[hi]! - sorted[lo]! >= windowMs) lo++;
    peak = Math.max(peak, hi - lo + 1);
  }
  return peak;
}

interface StormResult {
  readonly recoveryMs: number;
  /** Dial starts from the server's return to the last `ready`. */
  readonly dials: readonly number[];
  readonly peak: number;
  readonly buckets: readonly number[];
  readonly ids: readonly string[];
}

/**
 * Starts the tree against a server process, kills the server, waits until no child is
 * ready, restarts the server on the same port and waits until all are ready again.
 */
async function reconnectStorm(jitter: Jitter): Promise<{ sup: SupervisorHandle; result: StormResult }> {
  server = await spawnOnFreePort();
  const port = server.port;
  const runtime = createRuntime();
  rt = runtime;
  const dialStarts: number[] = [];
  /** When each child's current incarnation started dialing; the starts of dials that reached ready. */
  const dialingSince = new Map<string, number>();
  const readyDialStarts: number[] = [];
  let ready = 0;
  eventsSub = runtime.events$.subscribe((e: RuntimeEvent) => {
    if (e.type !== 'state' || e.path === 'root/storm') return;
    const now = performance.now();
    if (e.to === 'dialing') {
      dialStarts.push(now);
      dialingSince.set(e.id, now);
    }
    if (e.to === 'ready') {
      ready++;
      readyDialStarts.push(dialingSince.get(e.id) ?? now);
    }
    if (e.from === 'ready') ready--;
  });

  const protocol = wire();
  const backoff = exponentialBackoff({ initialMs: INITIAL_MS, maxMs: MAX_MS, multiplier: 2, jitter });
  const ids = Array.from({ length: CONNECTIONS }, (_, i) => `conn-${i + 1}`);
  const sup = runtime.createSupervisor({
    id: 'storm',
    strategy: 'one-for-one',
    // Every refused dial while the server is down is a restart: the intensity limit is for crash loops.
    maxRestarts: Number.POSITIVE_INFINITY,
    shutdownOrder: 'parallel',
    children: ids.map((id) => ({
      id,
      logic: connectionMachine,
      input: { endpoint: { host: '127.0.0.1', port }, protocol, heartbeat, connectTimeoutMs: 2000, handshakeTimeoutMs: 2000 },
      restart: 'permanent' as const,
      shutdownMs: 2000,
      backoff,
    })),
  });
  await waitFor('all connections ready at start', () => ready === CONNECTIONS, 5000);
  expect(await server.connections()).toBe(CONNECTIONS);

  const killedAt = performance.now();
  await server.kill();
  server = undefined;
  await waitFor('every child to leave ready', () => sup.children().every((c) => c.state !== 'ready'), 5000);
  await sleep(Math.max(0, killedAt + DOWN_MS - performance.now()));

  readyDialStarts.length = 0;
  server = await spawnServerProcess({ port });
  const backAt = performance.now();
  await waitFor('all connections ready after the restart', () => ready === CONNECTIONS, MAX_MS + 4000);
  const recoveredAt = performance.now();
  // The server listened a little before its IPC message arrived: a dial that started in
  // between and succeeded belongs to the recovery too.
  const windowStart = Math.min(backAt, ...readyDialStarts);
  const dials = dialStarts.filter((t) => t >= windowStart && t <= recoveredAt);
  const buckets = new Array<number>(Math.ceil((recoveredAt - windowStart) / BUCKET_MS) || 1).fill(0);
  for (const t of dials) buckets[Math.min(buckets.length - 1, Math.floor((t - windowStart) / BUCKET_MS))]!++;
  return {
    sup,
    result: {
      recoveryMs: recoveredAt - backAt,
      dials,
      peak: peakInWindow(dials, BUCKET_MS),
      buckets,
      ids: sup.children().map((c) => c.id),
    },
  };
}

describe('200 supervised connections through a server kill and restart', () => {
  it('all return to ready, none is lost, dials are spread by full jitter, and nothing is left after shutdown', async () => {
    const before = handles();
    const { sup, result } = await reconnectStorm('full');
    const ids = Array.from({ length: CONNECTIONS }, (_, i) => `conn-${i + 1}`);

    expect(result.recoveryMs).toBeLessThan(MAX_MS + 3000);
    expect(result.ids).toEqual(ids);
    expect(sup.children().every((c) => c.state === 'ready' && c.restarts >= 1)).toBe(true);
    // Each child dialed at least once after the server returned, and the dials did not
    // land together: no 100 ms window holds more than 40 % of them (a uniform spread over
    // the 1 s cap puts ~10–20 % in the busiest one; no jitter puts nearly all of them there).
    expect(result.dials.length).toBeGreaterThanOrEqual(CONNECTIONS);
    expect(result.peak).toBeLessThanOrEqual(0.4 * CONNECTIONS);
    expect(result.buckets.filter((n) => n > 0).length).toBeGreaterThanOrEqual(4);
    // One continuous flow rather than waves: the longest stretch without a 150 ms pause
    // covers at least half the cap.
    const flows = bursts(result.dials, 150);
    expect(Math.max(...flows.map(([first, last]) => last - first))).toBeGreaterThanOrEqual(MAX_MS / 2);

    const live = server!;
    expect(await live.connections()).toBe(CONNECTIONS);
    await rt!.shutdown();
    expect(eventsSub!.closed).toBe(true);
    await waitFor('the server to see every client leave', async () => (await live.connections()) === 0, 3000);
    await live.stop();
    server = undefined;
    await waitFor('sockets and timers back to baseline', () => {
      const now = handles();
      return now.TCPSocketWrap <= before.TCPSocketWrap && now.TCPServerWrap <= before.TCPServerWrap && now.Timeout <= before.Timeout;
    }, 3000);
  });

  it('without jitter (control), the recovery dials arrive in synchronised bursts', async () => {
    const { result } = await reconnectStorm('none');
    expect(result.ids).toHaveLength(CONNECTIONS);
    expect(result.recoveryMs).toBeLessThan(MAX_MS + 3000);
    // Every child waits exactly the same delays, so dials come in waves, one per backoff
    // step: the wave in flight when the server returned, and (if the restart cut it in
    // two) the refused half one cap later. Each wave is as wide as the client needs to
    // process it, far narrower than the 1 s that full jitter spreads over.
    const waves = bursts(result.dials, 150);
    expect(waves.length).toBeLessThanOrEqual(2);
    for (const [first, last] of waves) expect(last - first).toBeLessThan(500);
    await rt!.shutdown();
  });
});
