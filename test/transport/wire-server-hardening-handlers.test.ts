/**
 * Whatever a wire handler throws or rejects with, the client gets an ERR reply with a
 * bounded description, the connection and the server live on, and the process sees no
 * unhandled rejection or uncaught exception (issue 10, item 1: a null-prototype rejection
 * used to exit the process; its synchronous twin killed the connection). Real loopback
 * sockets, a real `createWireServer`, the `wire()` client.
 */
import { asyncScheduler } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GoawayError, RemoteError } from '../../src/errors.js';
import { offloaded } from '../../src/transport/framing-offloaded.js';
import { tcp } from '../../src/transport/tcp.js';
import { createWireServer, type WireServer, type WireServerOptions } from '../../src/transport/wire-server.js';
import { MAX_FAILURE_MESSAGE_CHARS } from '../../src/transport/wire-server-failure.js';
import type { WireSession } from '../../src/transport/wire-session.js';
import { wire } from '../../src/transport/wire.js';
import { rejection, turn, waitFor } from './helpers.js';

const cleanups: Array<() => unknown> = [];
const escaped: Array<{ kind: string; value: unknown }> = [];
const onRejection = (value: unknown): void => void escaped.push({ kind: 'unhandledRejection', value });
const onException = (value: unknown): void => void escaped.push({ kind: 'uncaughtException', value });
const warnings: Error[] = [];
const onWarning = (w: Error): void => void warnings.push(w);

beforeEach(() => {
  escaped.length = 0;
  warnings.length = 0;
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  process.on('warning', onWarning);
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  process.off('unhandledRejection', onRejection);
  process.off('uncaughtException', onException);
  process.off('warning', onWarning);
});

/** A value to throw, described by how it defeats a naive `String(value)` / `.message`. */
const hostile: Array<[string, () => unknown, string]> = [
  ['a null-prototype object', () => Object.create(null), 'a thrown value that cannot be converted to a string'],
  ['an object whose toString throws', () => ({ toString: () => { throw new Error('no'); } }), 'a thrown value that cannot be converted to a string'],
  ['an object whose Symbol.toPrimitive throws', () => ({ [Symbol.toPrimitive]: () => { throw new Error('no'); } }), 'a thrown value that cannot be converted to a string'],
  [
    'an Error whose message getter throws',
    () => Object.defineProperty(new Error('hidden'), 'message', { get: () => { throw new Error('getter'); } }),
    'a thrown value that cannot be converted to a string',
  ],
  ['a Proxy whose every trap throws', () => new Proxy({}, { get: () => { throw new Error('trap'); }, getPrototypeOf: () => { throw new Error('trap'); } }), 'a thrown value that cannot be converted to a string'],
  ['a revoked Proxy', () => { const p = Proxy.revocable({}, {}); p.revoke(); return p.proxy; }, 'a thrown value that cannot be converted to a string'],
  ['a symbol', () => Symbol('why'), 'Symbol(why)'],
  ['undefined', () => undefined, 'undefined'],
  ['null', () => null, 'null'],
  ['a plain object with a message', () => ({ message: 'plain failure', code: 'E_PLAIN' }), 'plain failure'],
];

async function serve(opts: WireServerOptions): Promise<{ server: WireServer; session: WireSession }> {
  const server = createWireServer(opts);
  cleanups.push(() => server.close({ graceful: false }));
  const { port } = (await server.listen()) as { port: number };
  const stream = await tcp().dial({ port }, { connectTimeoutMs: 2000 });
  const session = await wire().open(stream, {
    signal: new AbortController().signal,
    endpoint: { host: '127.0.0.1', port },
    markAlive: () => {},
    scheduler: asyncScheduler,
  });
  cleanups.push(() => session.destroy());
  return { server, session };
}

/** The handler runs `mode` with the value the request names: `['ok', x]` echoes x. */
function hostileHandler(payload: unknown): unknown {
  const [mode, index] = payload as [string, number];
  if (mode === 'ok') return index;
  const value = hostile[index]![1]();
  if (mode === 'throw') throw value;
  return Promise.reject(value);
}

describe('wire server: any handler outcome becomes an ERR reply', () => {
  for (const mode of ['throw', 'reject'] as const) {
    it(`${mode}: each hostile value gets ERR with a safe message; the connection and the process live on`, async () => {
      const { server, session } = await serve({ handler: hostileHandler });
      for (const [i, [what, , message]] of hostile.entries()) {
        const err = await rejection(session.request([mode, i], { timeoutMs: 2000 }));
        expect(err, what).toBeInstanceOf(RemoteError);
        expect((err.cause as Error).message, what).toBe(message);
        expect(await session.request(['ok', i]), `${what}: the same connection still serves`).toBe(i);
      }
      await turn(3);
      expect(escaped).toEqual([]);
      expect(session.state).toBe('open');
      expect(server.connections).toBe(1);
      expect(server.clients()[0]!.inFlight).toBe(0);
    });
  }

  it('passes a string code on, and cuts a huge message to a bounded length', async () => {
    const { session } = await serve({
      handler: (p) => {
        if (p === 'coded') throw Object.assign(new Error('no such user'), { code: 'E_NOUSER' });
        if (p === 'huge') return Promise.reject(new Error('x'.repeat(1_000_000)));
        throw Object.defineProperty(new Error('code getter'), 'code', { get: () => { throw new Error('no'); } });
      },
    });
    const coded = await rejection(session.request('coded'));
    expect((coded.cause as { code?: string }).code).toBe('E_NOUSER');
    expect((coded.cause as Error).message).toBe('no such user');
    const huge = (await rejection(session.request('huge'))).cause as Error;
    expect(huge.message).toHaveLength(MAX_FAILURE_MESSAGE_CHARS);
    expect(huge.message.endsWith('…')).toBe(true);
    const getter = (await rejection(session.request('getter'))).cause as { code?: string; message: string };
    expect(getter.code).toBeUndefined();
    expect(getter.message).toBe('code getter');
    expect(escaped).toEqual([]);
  });

  it('a handler that rethrows a downstream GoawayError is a RemoteError, not "never run, retry elsewhere"', async () => {
    let runs = 0;
    const { session } = await serve({
      handler: () => {
        runs++;
        throw new GoawayError('request 1 refused: 10.0.0.2:7000 is going away'); // a gateway's downstream
      },
    });
    const err = await rejection(session.request('side effect'));
    expect(err).toBeInstanceOf(RemoteError);
    expect(err).not.toBeInstanceOf(GoawayError);
    expect((err.cause as { code?: string }).code).toBe('WW_REMOTE_ERROR');
    expect((err.cause as Error).message).toBe('request 1 refused: 10.0.0.2:7000 is going away');
    expect(runs).toBe(1);
    expect(session.state).toBe('open'); // the server itself is not going away
  });

  it('a returned thenable that throws, or calls back twice, settles its request exactly once', async () => {
    const { server, session } = await serve({
      handler: (p) => {
        if (p === 'throwing-then') return { then: () => { throw Object.create(null); } };
        if (p === 'then-getter') return Object.defineProperty({}, 'then', { get: () => { throw new Error('then getter'); } });
        return { then: (ok: (v: unknown) => void, fail: (e: unknown) => void) => { ok('first'); ok('second'); fail(new Error('late')); } };
      },
    });
    expect((await rejection(session.request('throwing-then'))).cause).toMatchObject({ message: 'a thrown value that cannot be converted to a string' });
    expect(((await rejection(session.request('then-getter'))).cause as Error).message).toBe('then getter');
    expect(await session.request('twice')).toBe('first');
    await turn(3);
    expect(server.clients()[0]!.inFlight).toBe(0); // one decrement per request, not one per callback
    expect(escaped).toEqual([]);
  });

  it('a reply value whose inspection throws (a Proxy) gets ERR instead of killing the connection', async () => {
    const trap = new Proxy({}, { getPrototypeOf: () => { throw new Error('trap'); }, ownKeys: () => { throw new Error('trap'); } });
    const { server, session } = await serve({ handler: (p) => (p === 'proxy' ? trap : p) });
    const err = await rejection(session.request('proxy'));
    expect(err).toBeInstanceOf(RemoteError);
    expect((err.cause as Error).message).toMatch(/^reply not sent: /);
    expect(await session.request('after')).toBe('after');
    expect(server.connections).toBe(1);
    expect(escaped).toEqual([]);
  });

  it('a reply whose encoding throws a self-throwing Proxy gets ERR: sync, async, offloaded, or the Proxy itself', async () => {
    // Every check of P (its prototype for `instanceof`, any property) throws P again, so
    // a catch block that asks `err instanceof Error` rethrows it (review of issue 10).
    const P: object = new Proxy({}, { getPrototypeOf() { throw P; }, get() { throw P; } });
    // Q has no `then` (not a thenable), but asking `Q instanceof X` throws Q.
    const Q: object = new Proxy({}, { getPrototypeOf() { throw Q; } });
    const getter = (): object => ({ get a() { throw P; } });
    const outcomes: Record<string, () => unknown> = {
      sync: getter,
      async: () => Promise.resolve(getter()),
      offloaded: () => offloaded(getter()),
      'offloaded async': () => Promise.resolve(offloaded(getter())),
      'P itself': () => P,
      'Q itself': () => Q,
      'Q async': () => Promise.resolve(Q),
    };
    const { server, session } = await serve({ handler: (p) => (typeof p === 'string' && p in outcomes ? outcomes[p]!() : p) });
    for (const name of Object.keys(outcomes)) {
      const err = await rejection(session.request(name, { timeoutMs: 2000 }));
      expect(err, name).toBeInstanceOf(RemoteError);
      expect((err.cause as Error).message, name).toMatch(/^(reply not sent: .*|a thrown value that cannot be converted to a string)$/);
      expect(await session.request('after'), `${name}: the same connection still serves`).toBe('after');
    }
    await turn(3);
    expect(escaped).toEqual([]);
    expect(server.connections).toBe(1);
    expect(server.clients()[0]!.inFlight).toBe(0);
  });

  it('client side: a push or close listener that throws a self-throwing Proxy becomes a warning, not a crash', async () => {
    const P: object = new Proxy({}, { getPrototypeOf() { throw P; }, get() { throw P; } });
    const { server, session } = await serve({ handler: (p) => p });
    session.onPush(() => {
      throw P;
    });
    session.onClose(() => {
      throw P;
    });
    expect(server.push('all', 'hello')).toBe(1);
    await waitFor(() => warnings.some((w) => w.name === 'WirewardenPushListenerWarning'), 'push listener warning');
    expect(await session.request('still open')).toBe('still open');
    expect(session.state).toBe('open');
    session.destroy();
    await waitFor(() => warnings.some((w) => w.name === 'WirewardenCloseListenerWarning'), 'close listener warning');
    await turn(3);
    expect(escaped).toEqual([]);
  });

  it('a one-way handler and a drop listener that throw hostile values become warnings, not crashes', async () => {
    const { server, session } = await serve({
      onMessage: (p) => (p === 'sync' ? (() => { throw Object.create(null); })() : Promise.reject(Object.create(null))),
      onClientDropped: () => {
        throw Object.create(null);
      },
      handler: (p) => p,
    });
    session.send('sync');
    session.send('async');
    expect(await session.request('still here')).toBe('still here');
    await waitFor(() => warnings.filter((w) => w.name === 'WirewardenHandlerWarning').length === 2, 'two handler warnings');
    // A dropped client whose listener throws: the server keeps serving the next one.
    const stream = await tcp().dial({ port: (server.address as { port: number }).port }, { connectTimeoutMs: 2000 });
    stream.write(Buffer.from([0xff, 0xff, 0xff, 0xff])); // an oversized length: dropped as a protocol error
    await waitFor(() => warnings.some((w) => w.name === 'WirewardenListenerWarning'), 'listener warning');
    expect(await session.request('and here')).toBe('and here');
    stream.destroy();
    await turn(3);
    expect(escaped).toEqual([]);
  });
});
