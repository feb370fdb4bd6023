/**
 * Faults a real peer produces, seen by supervised connections on 127.0.0.1: a server that
 * closes its sockets (peer-closed), a server process killed by SIGKILL (the kernel closes
 * for it), a port nobody listens on (dial-failed), and a runtime shutdown that must leave
 * no socket or timer behind. Real time with short heartbeats; bounds are generous.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { connectionMachine } from '../../src/actors/connection-machine.js';
import { createWireServer } from '../../src/transport/wire-server.js';
import { wire } from '../../src/transport/wire.js';
import { constantBackoff } from '../../src/supervisor/backoff.js';
import { spawnServerProcess } from '../../src/demo/spawn-server.js';
import type { RuntimeEvent, StateEvent } from '../../src/observe/events.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function handles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap' || r === 'Timeout').length;
}

async function waitFor(what: string, cond: () => boolean, limitMs = 8000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((r) => setTimeout(r, 10));
  }
}

function supervised(rt: Runtime, port: number, count: number) {
  return rt.createSupervisor({
    id: 'conns',
    maxRestarts: 1000,
    withinMs: 60_000,
    children: Array.from({ length: count }, (_, i) => ({
      id: `c${i}`,
      logic: connectionMachine,
      input: {
        endpoint: { host: '127.0.0.1', port },
        protocol: wire(),
        heartbeat: { intervalMs: 200, minTimeoutMs: 20, maxTimeoutMs: 100, suspectProbes: 1 },
        connectTimeoutMs: 500,
        handshakeTimeoutMs: 500,
      },
      restart: 'permanent' as const,
      backoff: constantBackoff({ delayMs: 100 }),
    })),
  });
}

function deaths(events: RuntimeEvent[]): string[] {
  return events.filter((e): e is StateEvent => e.type === 'state' && e.to === 'dead').map((e) => e.reason ?? '?');
}

describe('supervised connections against real faults', () => {
  it('a server closing its sockets gives peer-closed, and the connections come back', async () => {
    const baseline = handles();
    const server = createWireServer({ handler: (p) => p });
    const { port } = (await server.listen()) as { port: number };
    const rt = createRuntime();
    const events: RuntimeEvent[] = [];
    rt.events$.subscribe((e) => events.push(e));
    const sup = supervised(rt, port, 3);
    await waitFor('all ready', () => sup.children().every((c) => c.state === 'ready'));

    await server.close({ graceful: false });
    await waitFor('three deaths', () => deaths(events).length >= 3);
    expect(deaths(events).slice(0, 3)).toEqual(['peer-closed', 'peer-closed', 'peer-closed']);

    const again = createWireServer({ port, handler: (p) => p });
    await again.listen();
    await waitFor('all ready again', () => sup.children().every((c) => c.state === 'ready'));
    expect(sup.children().map((c) => c.id)).toEqual(['c0', 'c1', 'c2']);

    await rt.shutdown();
    await again.close();
    await waitFor('handles released', () => handles() <= baseline);
  });

  it('a killed server process is noticed at once (the kernel closes its sockets), then dials are refused', async () => {
    const proc = await spawnServerProcess();
    cleanups.push(() => proc.stop());
    const rt = createRuntime();
    cleanups.push(() => rt.shutdown());
    const events: RuntimeEvent[] = [];
    rt.events$.subscribe((e) => events.push(e));
    const sup = supervised(rt, proc.port, 2);
    await waitFor('all ready', () => sup.children().every((c) => c.state === 'ready'));

    const killedAt = Date.now();
    await proc.kill();
    await waitFor('two deaths', () => deaths(events).length >= 2);
    // Detected through the socket, not by the heartbeat: well under one interval.
    expect(Date.now() - killedAt).toBeLessThan(2000);
    expect(['peer-closed', 'socket-error']).toContain(deaths(events)[0]);
    await waitFor('a refused redial', () => deaths(events).includes('dial-failed'));
  });

  it('shutdown with live connections leaves no socket or timer and the server sees every close', async () => {
    const baseline = handles();
    const server = createWireServer({ handler: (p) => p });
    const { port } = (await server.listen()) as { port: number };
    const rt = createRuntime();
    const sup = supervised(rt, port, 5);
    await waitFor('all ready', () => sup.children().every((c) => c.state === 'ready'));
    expect(server.connections).toBe(5);
    await rt.shutdown();
    expect(rt.state).toBe('stopped');
    await waitFor('server connections closed', () => server.connections === 0);
    await server.close();
    await waitFor('handles released', () => handles() <= baseline);
  });
});
