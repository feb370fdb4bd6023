/**
 * The connection actor end to end on 127.0.0.1, in real time: the default `tcp()`
 * transport (loaded lazily), the real `wire()` protocol and a `createWireServer` started
 * by the test. A frozen server (sockets open, nothing answered) must be declared dead
 * within `intervalMs + (1 + suspectProbes) × maxTimeoutMs` (elu pinned to 0); a CLOSE
 * must leave no socket or timer behind. Bounds are generous: the machine is shared.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createActor, type Actor } from 'xstate';
import { connectionMachine } from '../../src/actors/connection-machine.js';
import { connectionState, liveConnection } from '../../src/actors/live-connection.js';
import { createWireServer, type WireServer } from '../../src/transport/wire-server.js';
import type { WireSession } from '../../src/transport/wire-session.js';
import { wire } from '../../src/transport/wire.js';

const TOKEN = 'wire-token-never-in-snapshots';
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function handles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap' || r === 'Timeout').length;
}

async function waitFor(what: string, cond: () => boolean, limitMs = 5000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((r) => setTimeout(r, 5));
  }
}

async function startServer(): Promise<{ server: WireServer; port: number }> {
  const server = createWireServer({ token: TOKEN, handler: (payload) => payload });
  cleanups.push(() => server.close({ graceful: false }));
  const addr = (await server.listen()) as { port: number };
  return { server, port: addr.port };
}

const heartbeat = { intervalMs: 200, minTimeoutMs: 20, maxTimeoutMs: 100, suspectProbes: 2 };

function connect(port: number): Actor<typeof connectionMachine> {
  const actor = createActor(connectionMachine, {
    input: { endpoint: { host: '127.0.0.1', port }, protocol: wire({ token: TOKEN }), heartbeat, loadSource: () => 0 },
  });
  actor.subscribe({ error: (e) => { throw e; } });
  cleanups.push(() => actor.stop());
  return actor.start();
}

describe('connection actor over wire/tcp', () => {
  it('becomes ready, measures RTT, serves requests, and a frozen peer dies in bound', async () => {
    const { server, port } = await startServer();
    const actor = connect(port);
    const snapshots: string[] = [];
    actor.subscribe((s) => snapshots.push(JSON.stringify(s)));
    await waitFor('ready', () => connectionState(actor.getSnapshot()) === 'ready');
    const conn = liveConnection<WireSession>(actor)!;
    expect(await conn.session!.request({ echo: 'hi' })).toEqual({ echo: 'hi' });
    await waitFor('two answered probes', () => actor.getSnapshot().context.probesSent >= 2 && connectionState(actor.getSnapshot()) === 'ready');
    expect(actor.getSnapshot().context.rttMs).toBeGreaterThanOrEqual(0);
    expect(actor.getSnapshot().context.probesFailed).toBe(0);

    server.freeze();
    const frozenAt = Date.now();
    await waitFor('dead', () => actor.getSnapshot().status === 'done');
    const elapsedMs = Date.now() - frozenAt;
    const boundMs = heartbeat.intervalMs + (1 + heartbeat.suspectProbes) * heartbeat.maxTimeoutMs;
    expect(actor.getSnapshot().output?.reason).toBe('heartbeat-timeout');
    expect(elapsedMs).toBeLessThan(boundMs + 1000); // slack for a loaded 2-core machine
    for (const s of snapshots) expect(s).not.toContain(TOKEN);
    expect(snapshots.some((s) => s.includes('"suspect"'))).toBe(true);
  });

  it('CLOSE drains and leaves no socket or timer behind', async () => {
    const baseline = handles();
    const { server, port } = await startServer();
    const actor = connect(port);
    await waitFor('ready', () => connectionState(actor.getSnapshot()) === 'ready');
    await waitFor('server sees the client', () => server.connections === 1);
    actor.send({ type: 'CLOSE' });
    await waitFor('closed', () => actor.getSnapshot().status === 'done');
    expect(actor.getSnapshot().output?.reason).toBe('closed');
    await waitFor('server connection gone', () => server.connections === 0);
    await server.close();
    await waitFor('handles released', () => handles() <= baseline);
  });

  it('a refused dial is dial-failed with WW_DIAL_REFUSED', async () => {
    const { server, port } = await startServer();
    await server.close({ graceful: false });
    const actor = connect(port);
    await waitFor('dead', () => actor.getSnapshot().status === 'done');
    expect(actor.getSnapshot().output).toMatchObject({ reason: 'dial-failed', error: { code: 'WW_DIAL_REFUSED' } });
  });

  it('a wrong token is handshake-failed, refused for good (WW_HANDSHAKE_REFUSED: restarted at the slowest pace)', async () => {
    const { port } = await startServer();
    const actor = createActor(connectionMachine, {
      input: { endpoint: { port }, protocol: wire({ token: 'not-the-token-8c1f' }), heartbeat, loadSource: () => 0 },
    });
    cleanups.push(() => actor.stop());
    actor.subscribe({ error: () => {} });
    actor.start();
    await waitFor('dead', () => actor.getSnapshot().status === 'done');
    const out = actor.getSnapshot().output!;
    expect(out.reason).toBe('handshake-failed');
    expect(out.error?.code).toBe('WW_HANDSHAKE_REFUSED');
    expect(out.restartPace).toBe('slowest');
    expect(JSON.stringify(actor.getSnapshot())).not.toContain('not-the-token-8c1f');
  });
});
