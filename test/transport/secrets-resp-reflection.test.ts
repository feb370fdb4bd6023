/**
 * A server that reflects the password cannot make wirewarden print it. The hostile
 * "Redis" (real sockets on 127.0.0.1) quotes the AUTH password in a non-RESP line (whole
 * or cut across chunks), an error reply, a malformed length, a HELLO version, or in
 * replies after a successful AUTH. Every output channel is read: the error and its whole
 * `cause` chain (message, stack, code, JSON, util.inspect), the session's own surfaces,
 * the pool's acquire error, `pool.events$`, `rt.events$`, pool snapshots, and every
 * inspector event with the snapshot of its actor. No 8-character piece of the password
 * may appear in any of them.
 */
import { inspect } from 'node:util';
import { asyncScheduler } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { hasCode, type ErrorCode } from '../../src/errors.js';
import { exponentialBackoff } from '../../src/index.js';
import { createRuntime } from '../../src/runtime.js';
import type { RespSession } from '../../src/transport/resp-session.js';
import { resp, type RespOptions } from '../../src/transport/resp.js';
import { tcp } from '../../src/transport/tcp.js';
import { expectHandlesBackTo, handleCounts, rejection, waitFor } from './helpers.js';
import { captureWarnings } from './resp-helpers/leak-checks.js';
import { ReflectingRedis, type ReflectMode } from './resp-helpers/reflecting-redis.js';

/** Longer than the 32 characters a ProtocolError quotes, with multi-byte characters. */
const PASSWORD = 'Rf7-üe€-Kq2#Lm9!Zx4%Wv8&Tn3*Hb6+Yd5';

/** Every 8-character piece of the password, as text and as its UTF-8 bytes read as latin1. */
const PIECES = [PASSWORD, Buffer.from(PASSWORD).toString('latin1')].flatMap((text) =>
  Array.from({ length: text.length - 7 }, (_, i) => text.slice(i, i + 8)),
);

function expectNoPassword(surfaces: ReadonlyArray<readonly [string, string]>): void {
  for (const [where, text] of surfaces) {
    const piece = PIECES.find((p) => text.includes(p));
    expect(piece, `a piece of the password in ${where}:\n${text.slice(0, 2000)}`).toBeUndefined();
  }
}

const deep = (value: unknown): string => inspect(value, { depth: null, showHidden: true });
const json = (value: unknown): string => {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return '';
  }
};

/** The error and each of its causes: message, stack, code, JSON and util.inspect. */
function chainSurfaces(label: string, err: unknown): Array<[string, string]> {
  const out: Array<[string, string]> = [[`${label} inspect`, deep(err)], [`${label} JSON`, json(err)]];
  let depth = 0;
  for (let e: unknown = err; e instanceof Error; e = e.cause, depth++) {
    out.push([`${label} cause ${depth} (${e.name})`, `${e.message}\n${e.stack}\n${String((e as { code?: unknown }).code)}`]);
  }
  expect(depth, `${label} is an Error`).toBeGreaterThan(0);
  return out;
}

let baseline: Record<string, number>;
const cleanups: Array<() => unknown> = [];

beforeEach(() => {
  baseline = handleCounts();
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await expectHandlesBackTo(baseline);
});

async function startServer(mode: ReflectMode): Promise<ReflectingRedis> {
  const server = await new ReflectingRedis(PASSWORD, mode).listen();
  cleanups.push(() => server.close());
  return server;
}

async function openWith(server: ReflectingRedis, options: RespOptions): Promise<RespSession> {
  const stream = await tcp().dial({ host: '127.0.0.1', port: server.port }, { connectTimeoutMs: 2000 });
  cleanups.push(() => stream.destroy());
  return resp({ password: PASSWORD, ...options }).open(stream, {
    signal: new AbortController().signal,
    endpoint: { host: '127.0.0.1', port: server.port },
    markAlive: () => {},
    scheduler: asyncScheduler,
  });
}

describe('a server reflecting the password, during the handshake', () => {
  const cases: Array<[ReflectMode, 2 | 3, ErrorCode, ErrorCode]> = [
    ['line', 2, 'WW_HANDSHAKE_FAILED', 'WW_PROTOCOL_ERROR'],
    ['line', 3, 'WW_HANDSHAKE_FAILED', 'WW_PROTOCOL_ERROR'],
    ['split-line', 2, 'WW_HANDSHAKE_FAILED', 'WW_PROTOCOL_ERROR'],
    ['bad-length', 2, 'WW_HANDSHAKE_FAILED', 'WW_PROTOCOL_ERROR'],
    ['error', 2, 'WW_HANDSHAKE_FAILED', 'WW_REMOTE_ERROR'],
    ['wrongpass', 3, 'WW_HANDSHAKE_REFUSED', 'WW_REMOTE_ERROR'],
  ];
  for (const [mode, protocolVersion, code, rootCode] of cases) {
    it(`${mode} (RESP${protocolVersion}): ${code} whose whole cause chain (down to ${rootCode}) is free of it`, async () => {
      const server = await startServer(mode);
      const err = await rejection(openWith(server, { protocolVersion }));
      expect(hasCode(err, code)).toBe(true);
      const codes: unknown[] = [];
      for (let e: unknown = err; e instanceof Error; e = e.cause) codes.push((e as { code?: unknown }).code);
      expect(codes).toContain(rootCode);
      // The redaction marks where the password was: the server's text is still quoted.
      expect(deep(err)).toContain('<redacted>');
      expectNoPassword(chainSurfaces('handshake error', err));
      await waitFor(() => server.connections === 0, 'the connection closed');
    });
  }

  it('hello-version: the version the server reports is redacted too', async () => {
    const server = await startServer('hello-version');
    const session = await openWith(server, { protocolVersion: 3 });
    expect(session.server.version).toBe('7.2.4-<redacted>');
    expectNoPassword([['session.server', deep(session.server)], ['JSON session', json(session)], ['inspect session', deep(session)]]);
    session.destroy();
  });
});

describe('a server reflecting the password after a successful AUTH', () => {
  it('after-auth-line: the command rejects, the session closes with a ProtocolError, none carries it', async () => {
    const server = await startServer('after-auth-line');
    const session = await openWith(server, {});
    let closedWith: Error | undefined;
    session.onClose((error) => (closedWith = error));
    const err = await rejection(session.command(['GET', 'k']));
    expect(hasCode(err, 'WW_CONNECTION_CLOSED')).toBe(true);
    await session.closed;
    expect(hasCode(closedWith, 'WW_PROTOCOL_ERROR')).toBe(true);
    expect(closedWith?.message).toBe('unexpected RESP type byte 0x4e: "No: <redacted>\\r\\n"');
    expectNoPassword([...chainSurfaces('command error', err), ...chainSurfaces('close error', closedWith)]);
  });

  it('after-auth-error: the RemoteError of an ordinary command is redacted at the source', async () => {
    const server = await startServer('after-auth-error');
    const session = await openWith(server, {});
    const err = await rejection(session.command(['GET', 'k']));
    expect(hasCode(err, 'WW_REMOTE_ERROR')).toBe(true);
    expect(err.message).toBe('ERR the holder of <redacted> may not do this');
    expectNoPassword(chainSurfaces('command error', err));
    session.destroy();
  });
});

describe('a server reflecting the password, behind a pool', () => {
  async function withPool(
    mode: ReflectMode,
    body: (pool: ReturnType<typeof makePool>['pool']) => Promise<Array<[string, string]>>,
    checkPoolEvents?: (events: ReadonlyArray<{ type: string }>) => void,
  ): Promise<void> {
    const server = await startServer(mode);
    const captured = captureWarnings();
    const { rt, pool, runtimeEvents, poolEvents, inspections } = makePool(server.port);
    let surfaces: Array<[string, string]>;
    try {
      surfaces = await body(pool);
      surfaces.push(
        ['pool.connections()', json(pool.connections()) + deep(pool.connections())],
        ['pool.stats()', json(pool.stats()) + deep(pool.stats())],
        ...poolEvents.map((e, i): [string, string] => [`pool event ${i} (${e.type})`, deep(e)]),
        ...runtimeEvents.map((e, i): [string, string] => [`runtime event ${i} (${e.type})`, deep(e)]),
        ...inspections.flatMap((e, i): Array<[string, string]> => {
          // The event without the actor refs (they lead to the whole system), then the actor's snapshot.
          const { actorRef, ...rest } = e as InspectionEvent & { sourceRef?: unknown };
          const { sourceRef: _source, ...plain } = rest as typeof rest & { sourceRef?: unknown };
          return [[`inspection ${i} (${e.type})`, inspect(plain, { depth: 8 })], [`snapshot ${i}`, inspect(actorRef.getSnapshot(), { depth: 8 })]];
        }),
      );
    } finally {
      await rt.shutdown();
      await captured.stop();
    }
    surfaces.push(...captured.warnings.map((w, i): [string, string] => [`process warning ${i}`, `${w.message}\n${w.stack}\n${deep(w)}`]));
    expect(runtimeEvents.length).toBeGreaterThan(0);
    expect(inspections.length).toBeGreaterThan(0);
    checkPoolEvents?.(poolEvents);
    expectNoPassword(surfaces);
  }

  it('line: acquire fails with a PoolTimeoutError; its chain, the events, snapshots and inspector events are clean', async () => {
    await withPool('line', async (pool) => {
      const err = await rejection(pool.acquire({ timeoutMs: 300 }));
      expect(hasCode(err, 'WW_POOL_TIMEOUT')).toBe(true);
      return chainSurfaces('acquire error', err);
    });
  });

  it('wrongpass: acquire fails at once with EndpointRefusedError; everything is clean', async () => {
    await withPool('wrongpass', async (pool) => {
      const err = await rejection(pool.acquire());
      expect(hasCode(err, 'WW_ENDPOINT_REFUSED')).toBe(true);
      expect(hasCode(err.cause, 'WW_HANDSHAKE_REFUSED')).toBe(true);
      return chainSurfaces('acquire error', err);
    });
  });

  it('after-auth-line: a leased command fails, the connection dies with a ProtocolError; everything is clean', async () => {
    await withPool('after-auth-line', async (pool) => {
      const err = await rejection(pool.use((conn) => conn.command(['GET', 'k'])));
      expect(hasCode(err, 'WW_CONNECTION_CLOSED')).toBe(true);
      await waitFor(() => pool.stats().closed.dead > 0, 'the connection to die');
      return chainSurfaces('use error', err);
    }, (events) => expect(events.some((e) => e.type === 'connection-closed')).toBe(true));
  });
});

function makePool(port: number) {
  const rt = createRuntime();
  const runtimeEvents: Array<{ type: string }> = [];
  rt.events$.subscribe((e) => runtimeEvents.push(e));
  const inspections: InspectionEvent[] = [];
  rt.inspect((e) => inspections.push(e));
  const pool = rt.createPool<RespSession>({
    endpoints: [{ host: '127.0.0.1', port }],
    protocol: resp({ password: PASSWORD }),
    max: 1,
    acquireTimeoutMs: 2000,
    backoff: exponentialBackoff({ initialMs: 20, maxMs: 50, jitter: 'none' }),
  });
  const poolEvents: Array<{ type: string }> = [];
  pool.events$.subscribe((e) => poolEvents.push(e));
  return { rt, pool, runtimeEvents, poolEvents, inspections };
}
