/**
 * A runtime that owns a framing pool: created with `createRuntime({ framing })`, usable by
 * the wire protocol, closed (every thread ended) by `shutdown()`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/errors.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { packInner } from '../../src/transport/framing-packed.js';
import { FRAMING_POOL_DEFAULTS } from '../../src/transport/framing-pool.js';
import { wire } from '../../src/transport/wire.js';

const runtimes: Runtime[] = [];

afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((rt) => rt.shutdown()));
});

describe('createRuntime({ framing })', () => {
  it('has no framing pool unless asked for one', () => {
    const rt = createRuntime();
    runtimes.push(rt);
    expect(rt.framing).toBeUndefined();
  });

  it('owns a lazily started pool that shutdown() closes, leaving no worker thread', async () => {
    const rt = createRuntime({ framing: { maxThreads: 1, offloadThresholdBytes: 1024 } });
    runtimes.push(rt);
    const framing = rt.framing!;
    expect(framing.options).toEqual({ ...FRAMING_POOL_DEFAULTS, maxThreads: 1, offloadThresholdBytes: 1024 });
    expect(framing.threads).toBe(0);
    // The wire protocol accepts it.
    expect(() => wire({ framing })).not.toThrow();
    expect(await framing.decode(packInner({ rows: [1, 2, 3] }))).toEqual({ rows: [1, 2, 3] });
    expect(framing.threads).toBe(1);
    await rt.shutdown();
    expect(framing.closed).toBe(true);
    expect(framing.threads).toBe(0);
    expect(process.getActiveResourcesInfo().filter((r) => /Worker|MessagePort/.test(r))).toEqual([]);
  });

  it('validates the framing options at construction, naming the path', () => {
    expect(() => createRuntime({ framing: { maxThreads: 0 } })).toThrow(InvalidOptionError);
    expect(() => createRuntime({ framing: { maxThreads: 0 } })).toThrow('runtime.framing.maxThreads must be an integer in [1, 1024], got 0');
    expect(() => createRuntime({ framing: { threads: 2 } as never })).toThrow('runtime.framing.threads is not a known option');
  });
});
