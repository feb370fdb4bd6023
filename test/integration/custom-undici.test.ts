/**
 * The undici recipe (examples/undici-pool.ts) against a real `node:http` server on
 * 127.0.0.1: requests through leases over keep-alive connections, connections the
 * server closes are replaced (and a lease on one fails clearly instead of redialing
 * behind wirewarden's back), probes only ever reach idle connections, a server that
 * stops answering is detected by the heartbeat, and shutdown leaves no socket or timer.
 * Real time with bounded polling; the only fixed waits are the idle gaps under test.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Client } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ClientReplacedError, undiciClients } from '../../examples/undici-pool.js';
import { constantBackoff, createRuntime, hasCode, type PoolEvent } from '../../src/index.js';
import { cleanup, cleanups, waitFor } from '../pool/helpers/loopback.js';
import { expectHandlesBackTo, handleCounts } from '../transport/helpers.js';

afterEach(cleanup);

interface Origin {
  readonly port: number;
  /** Open server-side sockets. */
  readonly sockets: Set<Socket>;
  /** Probe requests (`HEAD /`) seen per client port. */
  readonly probes: Map<number, number>;
  /** Connections accepted so far. */
  accepted: number;
  /** While true, requests are held unanswered (a server that froze after accepting). */
  hang: boolean;
  /** Answers every held request and stops holding new ones. */
  resume(): void;
}

/** `HEAD /` → 200 (the probe); `GET /port` → the client's port; `GET /echo?v=x` → x; `GET /stream` → a body that never ends. */
async function startOrigin(): Promise<Origin> {
  const held: ServerResponse[] = [];
  const origin: Origin = {
    port: 0, sockets: new Set(), probes: new Map(), accepted: 0, hang: false,
    resume() {
      origin.hang = false;
      for (const res of held.splice(0)) if (!res.destroyed) res.end();
    },
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const clientPort = req.socket.remotePort!;
    if (req.method === 'HEAD') origin.probes.set(clientPort, (origin.probes.get(clientPort) ?? 0) + 1);
    if (origin.hang) return void held.push(res);
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/port') res.end(String(clientPort));
    else if (url.pathname === '/echo') res.end(url.searchParams.get('v') ?? '');
    else if (url.pathname === '/stream') res.write('the first of many chunks'); // never ended
    else res.end();
  });
  server.on('connection', (socket: Socket) => {
    origin.accepted++;
    origin.sockets.add(socket);
    socket.on('close', () => origin.sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => {
    for (const s of origin.sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return Object.assign(origin, { port: (server.address() as { port: number }).port });
}

async function get(client: Client, path: string): Promise<string> {
  const { statusCode, body } = await client.request({ method: 'GET', path });
  const text = await body.text();
  if (statusCode !== 200) throw new Error(`GET ${path}: ${statusCode}`);
  return text;
}

function poolOn(origin: Origin, options: { min?: number; max?: number; intervalMs?: number } = {}) {
  const rt = createRuntime({ loadSource: () => 0 });
  cleanups.push(() => rt.shutdown());
  const pool = rt.createPool({
    endpoints: [{ host: '127.0.0.1', port: origin.port }],
    protocol: undiciClients({ probe: { method: 'HEAD', path: '/' } }),
    min: options.min ?? 2,
    max: options.max ?? 2,
    heartbeat: { intervalMs: options.intervalMs ?? 50, minTimeoutMs: 50, maxTimeoutMs: 200, suspectProbes: 1 },
    backoff: constantBackoff({ delayMs: 20 }),
    closeTimeoutMs: 300,
    acquireTimeoutMs: 3000,
  });
  const events: PoolEvent[] = [];
  pool.events$.subscribe((e) => events.push(e));
  return { rt, pool, events };
}

describe('undici Clients under custom() connect mode', () => {
  it('serves requests through leases over keep-alive connections, at most max of them', async () => {
    const origin = await startOrigin();
    const { pool } = poolOn(origin, { min: 2, max: 3 });
    const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => pool.use((client) => get(client, `/echo?v=${i}`))));
    expect(replies).toEqual(Array.from({ length: 30 }, (_, i) => String(i)));
    // 30 requests, every one on a pooled connection: the server accepted no more than max.
    expect(origin.accepted).toBeLessThanOrEqual(3);
    expect(pool.stats().closed.dead).toBe(0);
  });

  it('the server closing every connection: each client reports it, the pool replaces them, and a lease on one fails clearly instead of redialing', async () => {
    const origin = await startOrigin();
    const { pool, events } = poolOn(origin, { min: 2, max: 2, intervalMs: 5000 });
    await waitFor('two connections', () => pool.stats().open === 2 && origin.sockets.size === 2);
    const lease = await pool.acquire();
    const heldPort = Number(await get(lease.conn, '/port'));
    const acceptedBefore = origin.accepted;

    for (const s of origin.sockets) s.destroy();
    await waitFor('both reported dead', () => events.filter((e) => e.type === 'connection-closed' && e.reason === 'dead').length === 2);
    expect(events.filter((e) => e.type === 'lease-lost')).toHaveLength(1);
    expect(() => lease.conn).toThrow(expect.objectContaining({ code: 'WW_LEASE_LOST' }));
    lease.release();

    await waitFor('two replacements', () => pool.stats().open === 2 && origin.accepted === acceptedBefore + 2);
    const ports = await Promise.all([pool.use((c) => get(c, '/port')), pool.use((c) => get(c, '/port'))]);
    expect(ports.map(Number)).not.toContain(heldPort);
    expect(origin.accepted).toBe(acceptedBefore + 2); // the replacements only: no client redialed by itself
  });

  it('requests queued on a Client when its connection goes fail with CLIENT_REPLACED: the Client dials nothing by itself', async () => {
    const origin = await startOrigin();
    const { pool } = poolOn(origin, { min: 1, max: 1, intervalMs: 5000 });
    const lease = await pool.acquire();
    const client = lease.conn;
    await get(client, '/port');
    const accepted = origin.accepted;
    origin.hang = true;
    // Pipelining 1: the first request is on the wire, the second waits behind it.
    const inFlight = get(client, '/echo?v=sent').then(() => undefined, (e: unknown) => e);
    const queued = get(client, '/echo?v=queued').then(() => undefined, (e: unknown) => e);
    await waitFor('the first request at the server', () => client.stats.running === 1 && client.stats.size === 2);
    for (const s of origin.sockets) s.destroy();
    // The request the server had: undici's own socket error (it was sent, so not retried)…
    expect(await inFlight).toMatchObject({ code: 'UND_ERR_SOCKET' });
    // …the one still queued: undici would dial again for it; the recipe's connector refuses.
    const err = await queued;
    expect(err).toBeInstanceOf(ClientReplacedError);
    expect((err as Error).message).toMatch(/^the connection to 127\.0\.0\.1:\d+ was lost; wirewarden replaces this client \(acquire again\)$/);
    expect(() => lease.conn).toThrow(expect.objectContaining({ code: 'WW_LEASE_LOST' }));
    lease.release();
    origin.resume();
    await waitFor('replaced', () => pool.stats().open === 1);
    expect(origin.accepted).toBe(accepted + 1); // the pool's replacement, not the stale client
  });

  it('probes only idle connections: a leased one gets none however long it sits unused, the idle one is probed every interval', async () => {
    const origin = await startOrigin();
    const { pool } = poolOn(origin, { min: 2, max: 2, intervalMs: 50 });
    await waitFor('two connections probed', () => origin.probes.size === 2 && [...origin.probes.values()].every((n) => n >= 2));
    const lease = await pool.acquire();
    const leasedPort = Number(await get(lease.conn, '/port'));
    const idlePort = [...origin.probes.keys()].find((p) => p !== leasedPort)!;
    const leasedBefore = origin.probes.get(leasedPort)!;
    const idleBefore = origin.probes.get(idlePort)!;
    await new Promise((r) => setTimeout(r, 400)); // eight intervals, the lease idle in its holder's hands
    expect(origin.probes.get(leasedPort)).toBe(leasedBefore);
    expect(origin.probes.get(idlePort)! - idleBefore).toBeGreaterThanOrEqual(3);
    expect(await get(lease.conn, '/echo?v=still-mine')).toBe('still-mine');
    lease.release();
    await waitFor('the released connection probed again', () => origin.probes.get(leasedPort)! > leasedBefore);
  });

  it('a server that stops answering: the idle connections are declared dead by the heartbeat and replaced once it answers again', async () => {
    const origin = await startOrigin();
    const { pool, events } = poolOn(origin, { min: 2, max: 2, intervalMs: 50 });
    await waitFor('two connections', () => pool.stats().open === 2);
    origin.hang = true;
    const t0 = Date.now();
    await waitFor('both dead', () => events.filter((e) => e.type === 'connection-closed' && e.reason === 'dead').length >= 2, 5000);
    // Bound: one interval + the suspicion window (2 × maxTimeoutMs) + slack; undici alone waits headersTimeout (300 s).
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(pool.stats().open).toBeLessThan(2);
    origin.resume();
    await waitFor('served again', () => pool.stats().open === 2, 5000);
    expect(await pool.use((c) => get(c, '/echo?v=back'))).toBe('back');
  });

  it('a Client released with a response still unread is retired, not handed to the next holder', async () => {
    const origin = await startOrigin();
    const { pool, events } = poolOn(origin, { min: 1, max: 1, intervalMs: 5000 });
    const status = await pool.use(async (client) => {
      const { statusCode } = await client.request({ method: 'GET', path: '/stream' });
      return statusCode; // the body left unread: the connection is still busy with it
    });
    expect(status).toBe(200);
    const port = await pool.use((client) => get(client, '/port'));
    const closed = events.filter((e): e is Extract<PoolEvent, { type: 'connection-closed' }> => e.type === 'connection-closed');
    expect(closed.map((e) => e.reason)).toEqual(['reset-failed']);
    expect(Number(port)).toBeGreaterThan(0);
    expect(origin.accepted).toBe(2); // the next holder got a new connection
  });

  it('shutdown closes every Client: no server socket, no client socket or timer left', async () => {
    const baseline = handleCounts();
    const origin = await startOrigin();
    const { rt, pool } = poolOn(origin, { min: 3, max: 3 });
    await waitFor('three connections', () => pool.stats().open === 3 && origin.sockets.size === 3);
    await pool.use((c) => get(c, '/echo?v=1'));
    await rt.shutdown();
    await waitFor('server sockets closed', () => origin.sockets.size === 0);
    await cleanup(); // the origin itself
    await expectHandlesBackTo(baseline);
  });
});

describe('undiciClients refusals', () => {
  it('nothing listening: the dial fails as refused and callers fail at their deadline, no socket left', async () => {
    const baseline = handleCounts();
    const probe = createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const rt = createRuntime({ loadSource: () => 0 });
    const pool = rt.createPool({
      endpoints: [{ host: '127.0.0.1', port }], protocol: undiciClients(), min: 1, max: 1,
      backoff: constantBackoff({ delayMs: 50 }), acquireTimeoutMs: 300,
    });
    const events: PoolEvent[] = [];
    pool.events$.subscribe((e) => events.push(e));
    const err = await pool.acquire().then(() => undefined, (e: unknown) => e);
    expect(hasCode(err, 'WW_POOL_TIMEOUT')).toBe(true);
    const failed = events.find((e) => e.type === 'dial-failed');
    expect(hasCode((failed as { error: unknown }).error, 'WW_DIAL_REFUSED')).toBe(true);
    await rt.shutdown();
    await expectHandlesBackTo(baseline);
  });
});
