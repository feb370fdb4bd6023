/**
 * Connect mode (`custom({ connect, probe, reset?, close })`): a library that dials by
 * itself under one connection actor, in virtual time. The fake client (an EventEmitter
 * with connect/query/end, emitting 'error'/'end') stands for node-postgres or mysql2.
 */
import { describe, expect, it } from 'vitest';
import { VirtualTimeScheduler } from 'rxjs';
import { createActor } from 'xstate';
import { connectionMachine } from '../../src/actors/connection-machine.js';
import type { ConnectionInput, ConnectionOutput } from '../../src/actors/connection-types.js';
import { connectionState, liveConnection } from '../../src/actors/live-connection.js';
import {
  ConnectionClosedError, DialFailedError, DialRefusedError, DialTimeoutError, HandshakeRefusedError, RequestTimeoutError,
} from '../../src/errors.js';
import { custom } from '../../src/transport/custom.js';
import type { ConnectContext, Transport } from '../../src/transport/types.js';
import { FakeDbClient, FakeDbError, FakeDbServer, fakeDbProtocol, type FakeDbProtocolOptions } from './helpers/fake-db-client.js';
import { advanceTo, settle } from './helpers/virtual-connection.js';

function connectActor(options: FakeDbProtocolOptions & { input?: Partial<ConnectionInput>; server?: Partial<FakeDbServer> } = {}) {
  const vts = new VirtualTimeScheduler();
  const server = new FakeDbServer({ scheduler: vts });
  Object.assign(server, options.server);
  const { protocol, connects } = fakeDbProtocol(server, options);
  const errors: unknown[] = [];
  const states: string[] = [];
  const actor = createActor(connectionMachine, {
    input: {
      endpoint: { host: '127.0.0.1', port: 5432 },
      protocol,
      scheduler: vts,
      random: () => 0.5,
      loadSource: () => 0,
      heartbeat: { intervalMs: 1000, maxTimeoutMs: 200, suspectProbes: 1 },
      ...options.input,
    },
  });
  actor.subscribe({
    next: (s) => {
      const st = connectionState(s);
      if (states.at(-1) !== st) states.push(st);
    },
    error: (e) => errors.push(e),
  });
  actor.start();
  return {
    vts, server, protocol, connects, actor, errors, states,
    state: () => connectionState(actor.getSnapshot()),
    advanceTo: (ms: number) => advanceTo(vts, ms),
    output: (): ConnectionOutput => {
      const s = actor.getSnapshot();
      expect(s.status).toBe('done');
      return s.output!;
    },
    client: (i = 0): FakeDbClient => server.clients[i]!,
  };
}

const selects = (server: FakeDbServer) => server.queries.filter((q) => q.sql === 'SELECT 1').map((q) => q.at);

describe('connect mode: connecting', () => {
  it('connect resolves with the client → ready in one step; the client is the session, no stream is dialed', async () => {
    const c = connectActor({ server: { connectMs: 30 } });
    expect(c.actor.getSnapshot().value).toEqual({ dialing: 'connecting' });
    await c.advanceTo(29);
    expect(c.state()).toBe('dialing');
    await c.advanceTo(30);
    expect(c.state()).toBe('ready');
    expect(c.states).toEqual(['dialing', 'ready']);
    const view = liveConnection<FakeDbClient>(c.actor)!;
    expect(view.session).toBe(c.client());
    expect(view.session!.connected).toBe(true);
    expect(c.connects).toHaveLength(1);
    expect(c.connects[0]!.endpoint).toEqual({ host: '127.0.0.1', port: 5432 });
    expect(c.connects[0]!.signal.aborted).toBe(false);
    expect(c.actor.getSnapshot().context).toMatchObject({ protocol: 'custom', readyAt: 30 });
    expect(c.errors).toEqual([]);
    c.actor.stop();
  });

  it('a rejected connect is dial-failed with the library error as cause (ECONNREFUSED → DialRefusedError)', async () => {
    const boom = new FakeDbError('connection reset during startup', 'ECONNRESET');
    const c = connectActor({ server: { connectError: boom } });
    await c.advanceTo(0);
    const out = c.output();
    expect(out.reason).toBe('dial-failed');
    expect(out.error).toBeInstanceOf(DialFailedError);
    expect(out.error!.message).toBe('connect to 127.0.0.1:5432 failed: connection reset during startup');
    expect(out.error!.cause).toBe(boom);
    expect(out.restartPace).toBeUndefined();

    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const r = connectActor({ server: { connectError: refused } });
    await r.advanceTo(0);
    expect(r.output().error).toBeInstanceOf(DialRefusedError);
    expect(r.output().error!.cause).toBe(refused);
  });

  it('refused(error) turns a permanent failure into HandshakeRefusedError, paced at the slowest', async () => {
    const auth = new FakeDbError('password authentication failed for user "app"', '28P01');
    const c = connectActor({ server: { connectError: auth }, refused: (err) => (err as FakeDbError).code === '28P01' });
    await c.advanceTo(0);
    const out = c.output();
    expect(out.reason).toBe('dial-failed');
    expect(out.error).toBeInstanceOf(HandshakeRefusedError);
    expect(out.error!.message).toBe('connect to 127.0.0.1:5432 refused: password authentication failed for user "app"');
    expect(out.error!.cause).toBe(auth);
    expect(out.restartPace).toBe('slowest');
  });

  it('a connect that resolves with no client is a failed connect', async () => {
    const vts = new VirtualTimeScheduler();
    const protocol = custom({ connect: async () => undefined, probe: async () => {}, close: async () => {} });
    const actor = createActor(connectionMachine, { input: { endpoint: { port: 5432 }, protocol, scheduler: vts, loadSource: () => 0 } });
    actor.start();
    await advanceTo(vts, 0);
    expect(actor.getSnapshot().output).toMatchObject({ reason: 'dial-failed', error: expect.any(DialFailedError) });
    expect(actor.getSnapshot().output!.error!.message).toBe('connect to 127.0.0.1:5432 failed: connect resolved without a client');
  });

  it('a HandshakeRefusedError thrown by connect passes through unchanged', async () => {
    const vts = new VirtualTimeScheduler();
    const refusal = new HandshakeRefusedError('bad credentials');
    const protocol = custom({
      connect: () => Promise.reject(refusal),
      probe: async () => {},
      close: async () => {},
    });
    const actor = createActor(connectionMachine, { input: { endpoint: { port: 5432 }, protocol, scheduler: vts, loadSource: () => 0 } });
    actor.start();
    await advanceTo(vts, 0);
    expect(actor.getSnapshot().output).toMatchObject({ reason: 'dial-failed', error: refusal, restartPace: 'slowest' });
  });

  it('connect is bounded by connectTimeoutMs + handshakeTimeoutMs; its signal aborts and the client is destroyed', async () => {
    const c = connectActor({ server: { connectHangs: true }, input: { connectTimeoutMs: 100, handshakeTimeoutMs: 150 } });
    await c.advanceTo(249);
    expect(c.state()).toBe('dialing');
    expect(c.connects[0]!.signal.aborted).toBe(false);
    await c.advanceTo(250);
    const out = c.output();
    expect(out.reason).toBe('dial-failed');
    expect(out.error).toBeInstanceOf(DialTimeoutError);
    expect(out.error!.message).toBe('connect to 127.0.0.1:5432 timed out after 250 ms (connectTimeoutMs + handshakeTimeoutMs)');
    expect(c.connects[0]!.signal.aborted).toBe(true);
    expect(c.client().ended).toBe(true);
    await settle();
    expect(c.vts.actions).toHaveLength(0);
  });

  it('a client that connect resolves after the timeout (the signal ignored) is closed, not leaked', async () => {
    const c = connectActor({ deafConnect: true, server: { connectMs: 500 }, input: { connectTimeoutMs: 100, handshakeTimeoutMs: 100 } });
    await c.advanceTo(200);
    expect(c.output().error).toBeInstanceOf(DialTimeoutError);
    expect(c.client().ended).toBe(false); // still connecting: the library did not listen
    await c.advanceTo(500);
    expect(c.client().connected).toBe(true);
    expect(c.client().ended).toBe(true);
    expect(c.client().endSignals).toHaveLength(1);
    expect(c.vts.actions).toHaveLength(0); // the close's bound went with it
  });

  it('a client that connects after CLOSE (or stop) is closed too', async () => {
    const closed = connectActor({ deafConnect: true, server: { connectMs: 50 } });
    await closed.advanceTo(10);
    closed.actor.send({ type: 'CLOSE' });
    expect(closed.output().reason).toBe('closed');
    expect(closed.connects[0]!.signal.aborted).toBe(true);
    await closed.advanceTo(50);
    expect(closed.client().ended).toBe(true);

    const stopped = connectActor({ deafConnect: true, server: { connectMs: 50 } });
    await stopped.advanceTo(10);
    stopped.actor.stop();
    await stopped.advanceTo(50);
    expect(stopped.client().ended).toBe(true);
    expect(stopped.vts.actions).toHaveLength(0);
  });

  it('lost() before connect resolved fails the connect with that error; the late client is closed', async () => {
    const vts = new VirtualTimeScheduler();
    let ctx: ConnectContext | undefined;
    let resolveConnect: ((client: { closed: boolean }) => void) | undefined;
    const client = { closed: false };
    const protocol = custom<{ closed: boolean }>({
      connect: (c) => {
        ctx = c;
        return new Promise((resolve) => (resolveConnect = resolve));
      },
      probe: async () => {},
      close: async (s) => {
        s.closed = true;
      },
    });
    const actor = createActor(connectionMachine, { input: { endpoint: { port: 5432 }, protocol, scheduler: vts, loadSource: () => 0 } });
    actor.start();
    await advanceTo(vts, 5);
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    ctx!.lost(reset);
    expect(actor.getSnapshot().output).toMatchObject({ reason: 'dial-failed', error: expect.any(DialFailedError) });
    expect(actor.getSnapshot().output!.error!.cause).toBe(reset);
    expect(ctx!.signal.aborted).toBe(true);
    ctx!.lost(new Error('again')); // ignored
    resolveConnect!(client);
    await settle();
    expect(client.closed).toBe(true);
    expect(vts.actions).toHaveLength(0);
  });
});

describe('connect mode: the client reports its death', () => {
  it("'error' then 'end' → dead (socket-error) with the library error as cause; later reports are ignored", async () => {
    const c = connectActor();
    await c.advanceTo(1);
    const terminated = new FakeDbError('terminating connection due to administrator command', '57P01');
    c.server.kill(c.client(), terminated);
    const out = c.output();
    expect(out.reason).toBe('socket-error');
    expect(out.error).toBeInstanceOf(ConnectionClosedError);
    expect(out.error!.message).toBe('connection to 127.0.0.1:5432 failed: terminating connection due to administrator command');
    expect(out.error!.cause).toBe(terminated);
    // The client is closed on the way out (it holds a socket wirewarden cannot destroy).
    expect(c.client().endSignals).toHaveLength(1);
    c.client().emit('error', new Error('late'));
    c.client().emit('end');
    c.client().emit('traffic');
    await settle();
    expect(c.errors).toEqual([]);
    expect(c.vts.actions).toHaveLength(0);
  });

  it("'end' without an error → dead (peer-closed)", async () => {
    const c = connectActor();
    await c.advanceTo(1);
    c.client().destroy();
    expect(c.output()).toMatchObject({ reason: 'peer-closed', error: expect.any(ConnectionClosedError) });
    expect(c.output().error!.message).toBe('127.0.0.1:5432 closed the connection');
  });
});

describe('connect mode: heartbeats', () => {
  it('probes an idle client; a frozen server is dead after the suspicion window', async () => {
    const c = connectActor();
    await c.advanceTo(1200);
    expect(selects(c.server)).toEqual([500]); // phase 0.5 × 1000
    expect(c.state()).toBe('ready');
    // The reply's 'traffic' (markAlive) comes before the async probe settles: the RTT is kept.
    expect(c.actor.getSnapshot().context.rttMs).toBe(1);
    c.server.frozen = true;
    await c.advanceTo(1500);
    expect(c.state()).toBe('probing');
    await c.advanceTo(3000);
    const out = c.output();
    expect(out.reason).toBe('heartbeat-timeout');
    expect(out.error).toBeInstanceOf(RequestTimeoutError);
    expect(c.client().ended).toBe(true); // closed on the way out
  });

  it('traffic while a probe is out (markAlive) ends probing at once', async () => {
    const c = connectActor();
    await c.advanceTo(1);
    c.server.frozen = true; // the probe gets no reply…
    await c.advanceTo(500);
    expect(c.state()).toBe('probing');
    c.client().emit('traffic'); // …but the library read something else
    await settle();
    expect(c.state()).toBe('ready');
    expect(c.actor.getSnapshot().context.rttMs).toBeUndefined(); // no sample from a probe that did not answer
    c.actor.stop();
  });

  it('never probes a leased connection, nor a busy one', async () => {
    let leased = true;
    let busy = false;
    const vts = new VirtualTimeScheduler();
    const server = new FakeDbServer({ scheduler: vts });
    const base = fakeDbProtocol(server).protocol;
    const protocol = custom<FakeDbClient>({
      connect: (ctx) => base.connect(ctx),
      probe: (client, signal) => base.probe(client, signal),
      close: (client, signal) => base.close(client, signal),
      busy: () => busy,
    });
    const actor = createActor(connectionMachine, {
      input: {
        endpoint: { port: 5432 }, protocol, scheduler: vts, random: () => 0.5, loadSource: () => 0,
        heartbeat: { intervalMs: 1000 }, leased: () => leased,
      },
    });
    actor.start();
    await advanceTo(vts, 5000);
    expect(selects(server)).toEqual([]);
    leased = false;
    busy = true;
    await advanceTo(vts, 8000);
    expect(selects(server)).toEqual([]);
    busy = false;
    await advanceTo(vts, 9000);
    expect(selects(server)).toEqual([8500]);
    expect(connectionState(actor.getSnapshot())).toBe('ready');
    actor.stop();
  });

  it("markAlive (the library's traffic) defers probes", async () => {
    const c = connectActor();
    await c.advanceTo(1);
    // A query every 400 ms: each reply is traffic, so no tick finds the connection silent.
    for (let at = 100; at <= 4100; at += 400) {
      await c.advanceTo(at);
      void c.client().query('SELECT now()');
    }
    await c.advanceTo(4400);
    expect(selects(c.server)).toEqual([]);
    await c.advanceTo(6000);
    expect(selects(c.server)).toEqual([5500]); // silent since 4101: the tick at 5500 probes

    const deaf = connectActor({ markAlive: false });
    await deaf.advanceTo(1);
    for (let at = 100; at <= 1300; at += 400) {
      await deaf.advanceTo(at);
      void deaf.client().query('SELECT now()');
    }
    expect(selects(deaf.server)).toEqual([500]); // without markAlive the tick saw no traffic
    c.actor.stop();
    deaf.actor.stop();
  });
});

describe('connect mode: closing', () => {
  it('CLOSE ends the client gracefully (close gets a signal); nothing is left', async () => {
    const c = connectActor();
    await c.advanceTo(1);
    c.actor.send({ type: 'CLOSE' });
    await settle();
    expect(c.output().reason).toBe('closed');
    expect(c.client().ended).toBe(true);
    expect(c.client().endSignals).toHaveLength(1);
    expect(c.client().endSignals[0]).toBeInstanceOf(AbortSignal);
    expect(c.vts.actions).toHaveLength(0);
  });

  it('a close that hangs is aborted at closeTimeoutMs (the library then destroys the client)', async () => {
    const c = connectActor({ input: { closeTimeoutMs: 300 } });
    await c.advanceTo(1);
    c.client().endHangs = true;
    c.actor.send({ type: 'CLOSE' });
    await c.advanceTo(300);
    expect(c.state()).toBe('closing');
    await c.advanceTo(301);
    expect(c.state()).toBe('closed');
    expect(c.client().endSignals[0]!.aborted).toBe(true);
    expect(c.client().ended).toBe(true);
    expect(c.vts.actions).toHaveLength(0);
  });

  it('KILL closes the client with closeTimeoutMs as its bound', async () => {
    const c = connectActor({ input: { closeTimeoutMs: 300 } });
    await c.advanceTo(1);
    c.client().endHangs = true;
    c.actor.send({ type: 'KILL', reason: 'max-lifetime' });
    expect(c.output().reason).toBe('max-lifetime');
    expect(c.client().endSignals).toHaveLength(1);
    expect(c.client().ended).toBe(false);
    await c.advanceTo(301);
    expect(c.client().ended).toBe(true);
    expect(c.vts.actions).toHaveLength(0);
  });

  it('KILL during a graceful close cuts it short', async () => {
    const c = connectActor({ input: { closeTimeoutMs: 5000 } });
    await c.advanceTo(1);
    c.client().endHangs = true;
    c.actor.send({ type: 'CLOSE' });
    c.actor.send({ type: 'KILL', reason: 'max-lifetime' });
    await settle();
    expect(c.client().endSignals).toHaveLength(1);
    expect(c.client().ended).toBe(true);
    expect(c.vts.actions).toHaveLength(0);
  });
});

describe('custom(): construction', () => {
  const session = { probe: async () => {}, close: async () => {} };
  it('takes exactly one of open and connect', () => {
    const both = { ...session, open: async () => ({}), connect: async () => ({}) };
    expect(() => custom(both as never)).toThrow(expect.objectContaining({ code: 'WW_INVALID_OPTION', message: expect.stringMatching(/got both/) }));
    expect(() => custom(session as never)).toThrow(expect.objectContaining({ code: 'WW_INVALID_OPTION', message: expect.stringMatching(/got neither/) }));
    expect(() => custom({ ...session, connect: 'pg' } as never)).toThrow(expect.objectContaining({ code: 'WW_INVALID_OPTION' }));
    const p = custom({ ...session, connect: async () => ({}) });
    expect(typeof p.connect).toBe('function');
    expect(p.open).toBeUndefined();
    expect(Object.isFrozen(p)).toBe(true);
    expect('reset' in p).toBe(false);
  });

  it('the connection actor accepts a connect protocol and refuses an object with both', () => {
    const ok = createActor(connectionMachine, { input: { endpoint: { port: 1 }, protocol: custom({ ...session, connect: async () => ({}) }) } });
    expect(ok.getSnapshot().status).toBe('active');
    const both = { name: 'x', ...session, open: async () => ({}), connect: async () => ({}) };
    const bad = createActor(connectionMachine, { input: { endpoint: { port: 1 }, protocol: both as never } });
    expect(bad.getSnapshot()).toMatchObject({ status: 'error', error: expect.objectContaining({ code: 'WW_INVALID_OPTION' }) });
  });

  it('refuses a transport next to a connect protocol (it would never be used), at the pool too', async () => {
    const protocol = custom({ ...session, connect: async () => ({}) });
    const transport: Transport = { kind: 'never', dial: () => { throw new Error('connect mode must not dial a stream'); } };
    const bad = createActor(connectionMachine, { input: { endpoint: { port: 1 }, protocol, transport } });
    expect(bad.getSnapshot()).toMatchObject({
      status: 'error',
      error: expect.objectContaining({ code: 'WW_INVALID_OPTION', message: expect.stringMatching(/^connection\.transport must be absent with a connect-mode protocol/) }),
    });
    const { createRuntime } = await import('../../src/runtime.js');
    const rt = createRuntime();
    expect(() => rt.createPool({ endpoints: [{ host: '127.0.0.1', port: 1 }], protocol, transport }))
      .toThrow(expect.objectContaining({ code: 'WW_INVALID_OPTION', message: expect.stringMatching(/^pool\.transport must be absent/) }));
    await rt.shutdown();
  });
});
