/**
 * Durations of 2^31 ms or more overflowed Node's 32-bit timers, which then fire after
 * ~1 ms: `request(…, { timeoutMs: 2 ** 31 })` failed at once, a graceful close with
 * `closeTimeoutMs: 2 ** 31` was cut after 2 ms. Options now refuse them; the longest valid
 * duration waits. Delays computed from valid durations (a derived suspicion window, a
 * load-scaled probe, jittered backoff, a RESP block plus grace, latency plus jitter) are
 * kept within the timer's range.
 */
import { asyncScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { parseHeartbeat } from '../../src/actors/connection-input.js';
import { loadScaledTimeoutMs } from '../../src/actors/rtt-estimator.js';
import { hasCode } from '../../src/errors.js';
import { constantBackoff, createWireServer, exponentialBackoff, tcp, wire, type BackoffPolicy } from '../../src/index.js';
import { MAX_DURATION_MS } from '../../src/options.js';
import type { WireSession } from '../../src/transport/wire-session.js';
import { MessageType as T } from '../../src/transport/wire-messages.js';
import { bench } from '../chaos/virtual-pipeline.js';
import { virtualRuntime } from '../supervisor/helpers/virtual-runtime.js';
import { workerMachine } from '../supervisor/helpers/worker-machine.js';
import { advance, RawPeer } from '../transport/helpers.js';
import { open as openResp } from '../transport/resp-helpers/scripted-session.js';

const LONGEST = 2 ** 31 - 1;
/** Long enough for an overflowed timer (1 ms) to have fired several times over. */
const OVERFLOW_WINDOW_MS = 50;

const settledWithin = (p: Promise<unknown>, ms: number) =>
  Promise.race([p.then(() => true, () => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);

describe('real timers: the longest duration waits, a longer one is refused', () => {
  it('request(…, { timeoutMs }) over loopback', async () => {
    const server = createWireServer({ handler: () => new Promise(() => {}) });
    const address = (await server.listen()) as { host: string; port: number };
    const socket = await tcp().dial(address, { connectTimeoutMs: 1000 });
    const session = (await wire().open(socket, {
      signal: new AbortController().signal, endpoint: address, markAlive: () => {}, scheduler: asyncScheduler,
    })) as WireSession;
    const refused = await session.request('x', { timeoutMs: 2 ** 31 }).catch((err: unknown) => err);
    expect(hasCode(refused, 'WW_INVALID_OPTION')).toBe(true);
    const pending = session.request('x', { timeoutMs: LONGEST });
    expect(await settledWithin(pending, OVERFLOW_WINDOW_MS)).toBe(false);
    session.destroy();
    expect(hasCode(await pending.catch((err: unknown) => err), 'WW_CONNECTION_CLOSED')).toBe(true);
    await server.close({ graceful: false });
  });

  it('createWireServer({ closeTimeoutMs }): a graceful close waits for the client', async () => {
    expect(() => createWireServer({ closeTimeoutMs: 2 ** 31 })).toThrow(/closeTimeoutMs must be an integer in \[0, 2147483647\] \(ms\)/);
    const server = createWireServer({ closeTimeoutMs: LONGEST });
    const { port } = (await server.listen()) as { port: number };
    // A raw client that says HELLO and then ignores the GOAWAY: only the bound could end it.
    const peer = await RawPeer.connect(port);
    peer.send([T.HELLO, { version: 1 }]);
    await peer.next(T.HELLO_OK);
    const closing = server.close();
    await peer.next(T.GOAWAY);
    expect(await settledWithin(closing, OVERFLOW_WINDOW_MS)).toBe(false);
    expect(peer.closed).toBe(false);
    peer.socket.destroy();
    await closing;
  });
});

describe('computed delays stay within the timer range', () => {
  it('derived heartbeat bounds: maxIntervalMs (4 × interval) and the suspicion window ((1 + probes) × max timeout)', () => {
    expect(parseHeartbeat({ intervalMs: LONGEST }).maxIntervalMs).toBe(MAX_DURATION_MS);
    expect(parseHeartbeat({ maxTimeoutMs: LONGEST, suspectProbes: 100 }).suspicionWindowMs).toBe(MAX_DURATION_MS);
    expect(parseHeartbeat({ intervalMs: 1000 }).maxIntervalMs).toBe(4000);
  });

  it('a load-scaled probe timeout', () => {
    expect(loadScaledTimeoutMs(LONGEST, 100, 1)).toBe(MAX_DURATION_MS);
    expect(loadScaledTimeoutMs(2000, 0.5, 1)).toBe(3000);
  });

  it('jitter above a maxMs near the limit', () => {
    const top = () => 1 - Number.EPSILON;
    const proportional = exponentialBackoff({ initialMs: LONGEST, maxMs: LONGEST, jitter: 'proportional', jitterRatio: 1 });
    expect(proportional.delayMs(1, undefined, top)).toBe(MAX_DURATION_MS);
    expect(constantBackoff({ delayMs: LONGEST, jitterRatio: 0.5 }).delayMs(1, undefined, top)).toBe(MAX_DURATION_MS);
  });

  it('a custom backoff policy returning more: the restart waits (and reports) the longest delay', async () => {
    const v = virtualRuntime();
    const huge: BackoffPolicy = { name: 'huge', options: {}, delayMs: () => 1e12 };
    const s = v.rt.createSupervisor({ id: 's', children: [{ id: 'w', logic: workerMachine, backoff: huge }] });
    s.childRef('w')!.send({ type: 'DIE' });
    expect(v.of('restart').map((e) => e.delayMs)).toEqual([MAX_DURATION_MS]);
    v.advance(MAX_DURATION_MS - 1);
    expect(s.children()[0]!.state).toBe('restarting');
    v.advance(1);
    expect(s.children()[0]!.state).toBe('ready');
    await v.shutdown();
  });

  it('a RESP block longer than a timer can wait gets no default deadline (like BLPOP 0)', async () => {
    const { session, vts, peer } = await openResp({ requestTimeoutMs: 1000 });
    advance(vts, 1000); // the handshake's shared deadline timer lapses
    expect(vts.actions).toHaveLength(0);
    const popped = session.command(['BLPOP', 'q', '3000000']); // 34.7 days
    expect(vts.actions).toHaveLength(0);
    await peer.received(1);
    peer.send('*2\r\n$1\r\nq\r\n$1\r\nx\r\n');
    expect(await popped).toEqual(['q', 'x']);
    session.destroy();
  });

  it('latency + jitter past the limit: the toxic timer waits the longest delay, then re-arms for the rest', () => {
    const b = bench([{ type: 'latency', attributes: { latency: LONGEST, jitter: LONGEST } }], { random: () => 1 - Number.EPSILON });
    b.pipe.write(Buffer.from('x'));
    expect((b.vts.actions as { delay: number }[]).map((a) => a.delay)).toEqual([MAX_DURATION_MS]);
    b.advanceTo(MAX_DURATION_MS);
    expect(b.out).toHaveLength(0);
    b.advanceTo(2 * MAX_DURATION_MS);
    expect(b.out).toHaveLength(1);
    expect(b.out[0]!.at).toBeGreaterThan(MAX_DURATION_MS);
  });
});

