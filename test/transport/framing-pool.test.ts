/**
 * The framing pool with real worker threads (the `.ts` worker, loaded through tsx under
 * vitest). Bounded in time; the only waiting is for threads to start and exit.
 */
import { readdirSync } from 'node:fs';
import { Piscina } from 'piscina';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { hasCode, InvalidOptionError, PoolClosedError, ProtocolError } from '../../src/errors.js';
import { createFramingPool, FRAMING_POOL_DEFAULTS, type FramingPool } from '../../src/transport/framing-pool.js';
import { packInner, unpackInner } from '../../src/transport/framing-packed.js';
import { MessageType } from '../../src/transport/wire-messages.js';
import { rejection } from './helpers.js';

const pools: FramingPool[] = [];

function pool(options?: Parameters<typeof createFramingPool>[0]): FramingPool {
  const p = createFramingPool({ maxThreads: 1, ...options });
  pools.push(p);
  return p;
}

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

/** About `bytes` of msgpack: rows of small records, as a big API response would be. */
function rows(bytes: number): { id: number; name: string; score: number; active: boolean; tags: string[] }[] {
  const out = [];
  for (let i = 0; out.length * 40 < bytes; i++) out.push({ id: i, name: `user-${i}`, score: i * 1.5, active: i % 2 === 0, tags: ['a', 'b'] });
  return out;
}

/** OS threads of this process (Linux): worker threads are real threads. */
function osThreads(): number {
  return readdirSync('/proc/self/task').length;
}

describe('createFramingPool', () => {
  it('round-trips a 2 MiB object through the worker (encode, then decode), equal to the input', async () => {
    const framing = pool();
    const value = [MessageType.REQ, 7, { rows: rows(2 << 20), blob: Buffer.alloc(64 * 1024, 3), index: new Map([[1, 'one']]) }];
    const bytes = await framing.encode(value);
    expect(bytes.length).toBeGreaterThan(1 << 20);
    const back = await framing.decode(bytes);
    expect(back).toEqual(value);
    // Buffers stay Buffers and Maps stay Maps, as on the inline path.
    const body = (back as [number, number, { blob: unknown; index: unknown }])[2];
    expect(Buffer.isBuffer(body.blob)).toBe(true);
    expect(body.index).toBeInstanceOf(Map);
    expect(framing.threads).toBe(1);
  });

  it('agrees with the inline codec both ways: worker-encoded bytes decode inline and vice versa', async () => {
    const framing = pool();
    const value = [MessageType.PUSH, { rows: rows(300 * 1024), note: 'ü€ — unicode' }];
    expect(unpackInner(await framing.encode(value))).toEqual(value);
    expect(await framing.decode(packInner(value))).toEqual(value);
  });

  it('transfers buffers instead of copying them, and never detaches the caller’s bytes', async () => {
    const framing = pool();
    const run = vi.spyOn(Piscina.prototype, 'run');
    const input = packInner([MessageType.MSG, { rows: rows(256 * 1024) }]);
    const copyOfInput = Buffer.from(input);
    await framing.decode(input);
    // The caller's view into a shared block is intact (the pool copied it once)...
    expect(input.equals(copyOfInput)).toBe(true);
    // ...and the copy it made was transferred: detached here after the task was posted.
    const [, decodeOptions] = run.mock.calls[0]!;
    const sent = decodeOptions!.transferList![0] as ArrayBuffer;
    expect(sent.byteLength).toBe(0);

    const encoded = await framing.encode({ rows: rows(256 * 1024) });
    const [, encodeOptions] = run.mock.calls[1]!;
    expect((encodeOptions!.transferList![0] as ArrayBuffer).byteLength).toBe(0);
    // The result is the worker's own buffer, moved here whole: nothing else shares it.
    expect(encoded.byteOffset).toBe(0);
    expect(encoded.buffer.byteLength).toBe(encoded.length);
  });

  it('snapshots the value at encode time: mutating it afterwards does not change the bytes', async () => {
    const framing = pool();
    const value = { n: 1, list: [1, 2, 3] };
    const pending = framing.encode(value);
    value.n = 2;
    value.list.push(4);
    expect(unpackInner(await pending)).toEqual({ n: 1, list: [1, 2, 3] });
  });

  it('rebuilds a worker error from its code: a malformed inner rejects with ProtocolError', async () => {
    const framing = pool();
    const secret = packInner([MessageType.REQ, 1, { token: 's3cret-token' }]);
    const err = await rejection(framing.decode(Buffer.concat([secret, Buffer.from([0xc0])])));
    expect(err).toBeInstanceOf(ProtocolError);
    expect(hasCode(err, 'WW_PROTOCOL_ERROR')).toBe(true);
    expect(err.message).toBe(`undecodable PACKED inner of ${secret.length + 1} bytes`);
    expect((err.cause as Error).message).toBe('trailing bytes after the value');
    expect(`${err.message} ${(err.cause as Error).message}`).not.toContain('s3cret');
    const truncated = await rejection(framing.decode(Buffer.from([0x93, 0x01])));
    expect(truncated).toBeInstanceOf(ProtocolError);
    // The pool survives a bad task.
    expect(await framing.decode(packInner({ ok: 1 }))).toEqual({ ok: 1 });
  });

  it('rejects a value that cannot be serialized with ProtocolError, before any thread starts', async () => {
    const framing = pool();
    const err = await rejection(framing.encode({ fn: () => 1 }));
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err.message).toMatch(/cannot be encoded/);
    expect(framing.threads).toBe(0);
  });

  it('is lazy: no thread before the first task', () => {
    const framing = pool({ minThreads: 1 });
    expect(framing.threads).toBe(0);
    expect(framing.pending).toBe(0);
  });

  it('shouldOffload compares with offloadThresholdBytes, and says no once closed', async () => {
    const framing = pool({ offloadThresholdBytes: 1000 });
    expect(framing.shouldOffload(999)).toBe(false);
    expect(framing.shouldOffload(1000)).toBe(true);
    await framing.close();
    expect(framing.shouldOffload(1 << 20)).toBe(false);
  });

  it('close() leaves no worker thread, rejects pending tasks with PoolClosedError, and refuses new ones', async () => {
    const baseline = osThreads();
    const framing = pool({ maxThreads: 2, minThreads: 2 });
    await framing.decode(packInner({ warm: true }));
    expect(framing.threads).toBe(2);
    expect(osThreads()).toBeGreaterThanOrEqual(baseline + 2);
    const inFlight = rejection(framing.decode(packInner({ rows: rows(4 << 20) })));
    expect(framing.pending).toBe(1);
    await framing.close();
    const err = await inFlight;
    expect(err).toBeInstanceOf(PoolClosedError);
    expect(framing.pending).toBe(0);
    expect(framing.threads).toBe(0);
    expect(osThreads()).toBeLessThanOrEqual(baseline);
    // A busy worker's port is a ref'd handle ('MessagePort'); none may be left.
    expect(process.getActiveResourcesInfo().filter((r) => /Worker|MessagePort/.test(r))).toEqual([]);
    expect(await rejection(framing.decode(Buffer.from([0xc0])))).toBeInstanceOf(PoolClosedError);
    expect(await rejection(framing.encode(1))).toBeInstanceOf(PoolClosedError);
    await framing.close();
  });

  it('lets idle threads end after idleTimeoutMs', async () => {
    const framing = pool({ idleTimeoutMs: 20 });
    await framing.decode(packInner(1));
    expect(framing.threads).toBe(1);
    const deadline = Date.now() + 5000;
    while (framing.threads > 0 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    expect(framing.threads).toBe(0);
  });

  it('supports `await using`', async () => {
    let closed: FramingPool | undefined;
    {
      await using framing = createFramingPool({ maxThreads: 1 });
      closed = framing;
      expect(await framing.decode(packInner('x'))).toBe('x');
    }
    expect(closed.closed).toBe(true);
    expect(closed.threads).toBe(0);
  });

  it('validates options: unknown keys, bounds, and minThreads <= maxThreads', () => {
    expect(FRAMING_POOL_DEFAULTS).toEqual({
      minThreads: 0,
      maxThreads: expect.any(Number) as number,
      idleTimeoutMs: 30_000,
      offloadThresholdBytes: 4 * 1024 * 1024,
    });
    expect(FRAMING_POOL_DEFAULTS.maxThreads).toBeGreaterThanOrEqual(1);
    expect(createFramingPool().options).toEqual(FRAMING_POOL_DEFAULTS);
    const bad: [unknown, string][] = [
      [{ threads: 2 }, 'framing.threads is not a known option'],
      [{ maxThreads: 0 }, 'framing.maxThreads must be an integer in [1, 1024], got 0'],
      [{ idleTimeoutMs: -5 }, 'framing.idleTimeoutMs must be an integer in [0, 2147483647] (ms), got -5'],
      [{ offloadThresholdBytes: 1.5 }, 'framing.offloadThresholdBytes must be an integer in [0, 4294967295], got 1.5'],
      [{ minThreads: 3, maxThreads: 2 }, 'framing.minThreads must be <= framing.maxThreads (2), got 3'],
    ];
    for (const [options, message] of bad) {
      expect(() => createFramingPool(options as never)).toThrow(InvalidOptionError);
      expect(() => createFramingPool(options as never)).toThrow(message);
    }
  });
});
