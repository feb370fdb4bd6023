/** Public options of the transport layer are validated at construction, with named paths. */
import { describe, expect, it } from 'vitest';
import { hasCode } from '../../src/errors.js';
import { custom } from '../../src/transport/custom.js';
import { tcp } from '../../src/transport/tcp.js';
import { tls } from '../../src/transport/tls.js';
import { unix } from '../../src/transport/unix.js';
import { createWireServer } from '../../src/transport/wire-server.js';
import { wire, WIRE_DEFAULTS } from '../../src/transport/wire.js';

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(hasCode(err, 'WW_INVALID_OPTION')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected InvalidOptionError');
}

describe('transport options', () => {
  it.each([
    [() => tcp({ nodelay: true } as never), 'tcp.nodelay is not a known option (known: noDelay, keepAlive, keepAliveInitialDelayMs)'],
    [() => tcp({ keepAliveInitialDelayMs: -1 }), 'tcp.keepAliveInitialDelayMs must be an integer in [0, 2147483647] (ms), got -1'],
    [() => tls({ minVersion: 'TLSv1' as never }), 'tls.minVersion must be one of "TLSv1.2", "TLSv1.3", got "TLSv1"'],
    [() => tls({ ca: 42 as never }), 'tls.ca must be a string, a Buffer or an array of them, got 42'],
    [() => tls({ rejectUnauthorized: 'no' as never }), 'tls.rejectUnauthorized must be a boolean, got "no"'],
    [() => unix({ path: '/x' } as never), 'unix.path is not a known option (known: )'],
    [() => wire({ token: 5 as never }), 'wire.token must be a string, got a number'],
    [() => wire({ requestTimeoutMs: -5 }), 'wire.requestTimeoutMs must be an integer in [0, 2147483647] (ms), got -5'],
    [() => wire({ maxFrameBytes: 0 }), 'wire.maxFrameBytes must be an integer in [1, 4294967295], got 0'],
    [() => wire({ maxQueuedBytes: 1.5 }), 'wire.maxQueuedBytes must be an integer >= 0, got 1.5'],
    [() => createWireServer({ clientIdleTimeoutMs: 0 }), 'wireServer.clientIdleTimeoutMs must be an integer in [1, 2147483647] (ms), got 0'],
    [() => createWireServer({ port: 70000 }), 'wireServer.port must be an integer in [0, 65535], got 70000'],
    [() => createWireServer({ scheduler: {} as never }), 'wireServer.scheduler must be a SchedulerLike, got an object'],
    [() => createWireServer({ handler: 'echo' as never }), 'wireServer.handler must be a function, got "echo"'],
    [() => custom({ open: 1 } as never), 'custom.open must be a function, got 1'],
    [() => custom({ open: async () => 1, probe: async () => {} } as never), 'custom.close must be a function, got undefined'],
  ])('%#: rejects bad options with a message naming the path', (fn, message) => {
    expect(messageOf(fn)).toBe(message);
  });

  it('never prints a token value in a validation error', () => {
    // A wrong type is described by kind, and a string token is always valid.
    expect(messageOf(() => wire({ token: { secret: 'abc' } as never }))).toBe('wire.token must be a string, got an object');
  });

  it('has documented defaults', () => {
    expect(WIRE_DEFAULTS).toEqual({ maxFrameBytes: 16 * 1024 * 1024, maxQueuedBytes: 8 * 1024 * 1024, requestTimeoutMs: 30_000, closeTimeoutMs: 5_000 });
    expect(wire().name).toBe('wire');
    expect(tcp().kind).toBe('tcp');
    expect(tls().kind).toBe('tls');
    expect(unix().kind).toBe('unix');
  });
});

describe('custom()', () => {
  it('wraps the four functions into a Protocol, reset optional', async () => {
    const calls: string[] = [];
    const p = custom<{ n: number }>({
      open: async (_stream, ctx) => {
        calls.push(`open ${ctx.endpoint.port}`);
        return { n: 1 };
      },
      probe: async (s) => void calls.push(`probe ${s.n}`),
      close: async (s) => void calls.push(`close ${s.n}`),
    });
    expect(p.name).toBe('custom');
    expect(p.reset).toBeUndefined();
    const session = await p.open(null as never, { endpoint: { port: 9 } } as never);
    await p.probe(session, new AbortController().signal);
    await p.close(session);
    expect(calls).toEqual(['open 9', 'probe 1', 'close 1']);

    const withReset = custom<{ n: number }>({
      open: async () => ({ n: 2 }),
      probe: async () => {},
      reset: async (s) => void calls.push(`reset ${s.n}`),
      close: async () => {},
    });
    await withReset.reset!({ n: 2 });
    expect(calls.at(-1)).toBe('reset 2');
    expect(Object.isFrozen(withReset)).toBe(true);
  });
});
