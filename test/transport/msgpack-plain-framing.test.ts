/**
 * The plain-data gate on the framing pool's worker path: a PACKED inner decoded on a
 * worker thread is refused there, fast, and the failure comes back as `ProtocolError`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { hasCode, ProtocolError } from '../../src/errors.js';
import { packInner } from '../../src/transport/framing-packed.js';
import { createFramingPool, type FramingPool } from '../../src/transport/framing-pool.js';
import { referenceBomb } from './msgpack-bombs.js';

const pools: FramingPool[] = [];

afterEach(async () => {
  for (const pool of pools.splice(0)) await pool.close();
});

async function warmPool(): Promise<FramingPool> {
  const pool = createFramingPool({ maxThreads: 1, offloadThresholdBytes: 0 });
  pools.push(pool);
  // The first task starts the thread (seconds under tsx); time only what follows.
  expect(await pool.decode(packInner([4, 1, { warm: true }]))).toEqual([4, 1, { warm: true }]);
  return pool;
}

async function rejectionOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('plain msgpack only, on the framing pool', () => {
  it('refuses a 1.3 KB reference bomb (2^24 shared 500-byte strings) on the worker within 100 ms, without growing memory', async () => {
    const pool = await warmPool();
    const inner = referenceBomb(23, [0xd9, 0xf4, ...Buffer.alloc(500, 0x61)]);
    expect(inner.length).toBeGreaterThan(1300);
    expect(inner.length).toBeLessThan(1400);
    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();
    const err = await rejectionOf(pool.decode(inner));
    const elapsedMs = performance.now() - started;
    expect(err).toBeInstanceOf(ProtocolError);
    expect(hasCode(err, 'WW_PROTOCOL_ERROR')).toBe(true);
    expect(err.message).toBe(
      `PACKED inner of ${inner.length} bytes holds a structured-clone reference target (extension 0x69) at offset 3: the wire protocol accepts plain msgpack data only`,
    );
    expect(elapsedMs).toBeLessThan(100);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(32 * 1024 * 1024);
    // The thread survived and keeps decoding.
    expect(await pool.decode(packInner([5, 2, 'ok']))).toEqual([5, 2, 'ok']);
  });

  it('refuses a cycle and a Set there too, naming the kind', async () => {
    const pool = await warmPool();
    const cycle = Buffer.from([0x93, 0x04, 0x01, 0xd6, 0x69, 0, 0, 0, 1, 0x91, 0xd6, 0x70, 0, 0, 0, 1]);
    const set = Buffer.from([0x93, 0x04, 0x01, 0xd4, 0x73, 0x00, 0x91, 0x01]);
    expect((await rejectionOf(pool.decode(cycle))).message).toMatch(/structured-clone reference target/);
    expect((await rejectionOf(pool.decode(set))).message).toMatch(/holds a Set \(extension 0x73\) at offset 3/);
  });
});
