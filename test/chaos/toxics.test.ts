/**
 * Each toxic on a virtual clock: exact timings, sizes and ends, no sockets, no sleeping.
 */
import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/errors.js';
import { builtinToxics } from '../../src/chaos/toxics/index.js';
import { parseToxicSpec } from '../../src/chaos/toxic-spec.js';
import { sliceOffsets } from '../../src/chaos/toxics/slicer.js';
import { bench, bytes, seededRandom } from './virtual-pipeline.js';

describe('latency', () => {
  it('delivers each chunk latency ms after it arrived, in order, then closes', () => {
    const b = bench([{ type: 'latency', attributes: { latency: 100 } }]);
    b.pipe.write(bytes(3));
    b.advanceTo(10);
    b.pipe.write(bytes(4));
    b.pipe.end();
    b.advanceTo(99);
    expect(b.out).toEqual([]);
    b.advanceTo(200);
    expect(b.out.map((c) => [c.data.length, c.at])).toEqual([[3, 100], [4, 110]]);
    expect(b.endedAt).toBe(110);
    expect(b.vts.actions).toHaveLength(0);
  });

  it('keeps order under jitter, each delay within latency ± jitter', () => {
    const b = bench([{ type: 'latency', attributes: { latency: 50, jitter: 40 } }], { random: seededRandom(7) });
    for (let i = 0; i < 50; i++) {
      b.advanceTo(i);
      b.pipe.write(Buffer.from([i]));
    }
    b.advanceTo(1000);
    expect(b.out.map((c) => c.data[0])).toEqual([...Array(50).keys()]);
    let previous = 0;
    for (const [i, c] of b.out.entries()) {
      expect(c.at).toBeGreaterThanOrEqual(Math.max(previous, i + 10));
      expect(c.at).toBeLessThanOrEqual(Math.max(previous, i + 90));
      previous = c.at;
    }
    expect(new Set(b.out.map((c, i) => c.at - i)).size).toBeGreaterThan(5);
  });
});

describe('bandwidth', () => {
  it('sends rate KB/s (1 KB = 1000 B) in pieces of at most 100 ms', () => {
    const b = bench([{ type: 'bandwidth', attributes: { rate: 10 } }]);
    b.pipe.write(bytes(2500));
    b.pipe.end();
    b.advanceTo(1000);
    expect(b.received().length).toBe(2500);
    expect(Math.max(...b.out.map((c) => c.data.length))).toBe(1000);
    expect(b.out.map((c) => c.at)).toEqual([100, 200, 250]);
    expect(b.endedAt).toBe(250);
  });

  it('earns no credit while idle, and rate 0 is unlimited', () => {
    const b = bench([{ type: 'bandwidth', attributes: { rate: 1 } }]);
    b.advanceTo(5000);
    b.pipe.write(bytes(50));
    b.advanceTo(6000);
    expect(b.out.map((c) => c.at)).toEqual([5050]);
    const free = bench([{ type: 'bandwidth', attributes: { rate: 0 } }]);
    free.pipe.write(bytes(1 << 20));
    expect(free.received().length).toBe(1 << 20);
  });
});

describe('slow_close', () => {
  it('passes data at once and holds the close for delay ms', () => {
    const b = bench([{ type: 'slow_close', attributes: { delay: 300 } }]);
    b.pipe.write(bytes(5));
    expect(b.received().length).toBe(5);
    b.advanceTo(20);
    b.pipe.end();
    b.advanceTo(319);
    expect(b.endedAt).toBeUndefined();
    b.advanceTo(320);
    expect(b.endedAt).toBe(320);
  });
});

describe('timeout', () => {
  it('with 0 blackholes forever, closing only when its input ends', () => {
    const b = bench([{ type: 'timeout', attributes: { timeout: 0 } }]);
    b.pipe.write(bytes(10));
    b.advanceTo(1_000_000);
    expect(b.out).toEqual([]);
    expect(b.endedAt).toBeUndefined();
    b.pipe.end();
    expect(b.endedAt).toBe(1_000_000);
  });

  it('with N closes after N ms without data; each chunk re-arms the timer (Toxiproxy loop)', () => {
    const b = bench([{ type: 'timeout', attributes: { timeout: 50 } }]);
    b.advanceTo(30);
    b.pipe.write(bytes(1));
    b.advanceTo(79);
    expect(b.endedAt).toBeUndefined();
    b.advanceTo(100);
    expect(b.endedAt).toBe(80);
    expect(b.out).toEqual([]);
  });

  it('closes the stream when removed (Toxiproxy Cleanup)', () => {
    const b = bench([{ type: 'timeout', attributes: { timeout: 0 } }]);
    b.pipe.detach('timeout_downstream');
    expect(b.endedAt).toBe(0);
  });
});

describe('reset_peer', () => {
  it('resets at the first chunk (timeout 0), dropping it; idle connections are left alone', () => {
    const b = bench([{ type: 'reset_peer', attributes: { timeout: 0 } }]);
    b.advanceTo(10_000);
    expect(b.resets).toBe(0);
    b.pipe.write(bytes(3));
    expect(b.resets).toBe(1);
    expect(b.out).toEqual([]);
  });

  it('resets timeout ms after the first chunk', () => {
    const b = bench([{ type: 'reset_peer', attributes: { timeout: 40 } }]);
    b.advanceTo(5);
    b.pipe.write(bytes(3));
    b.pipe.write(bytes(3));
    b.advanceTo(44);
    expect(b.resets).toBe(0);
    b.advanceTo(45);
    expect(b.resets).toBe(1);
  });
});

describe('slicer', () => {
  it('cuts chunks like Toxiproxy (pieces <= average + variation) and spaces them delay µs apart', () => {
    const b = bench([{ type: 'slicer', attributes: { average_size: 10, size_variation: 4, delay: 2000 } }], {
      random: seededRandom(3),
    });
    const input = Buffer.from([...Array(200).keys()]);
    b.pipe.write(input);
    b.pipe.end();
    b.advanceTo(10_000);
    expect(b.received()).toEqual(input);
    expect(b.out.length).toBeGreaterThanOrEqual(200 / 14);
    for (const c of b.out) expect(c.data.length).toBeLessThanOrEqual(14);
    expect(b.out.map((c) => c.at)).toEqual(b.out.map((_, i) => i * 2));
    expect(b.endedAt).toBe(b.out.at(-1)!.at);
  });

  it('covers the input exactly for any sizes, and refuses size_variation >= average_size', () => {
    const random = seededRandom(11);
    for (let n = 0; n < 300; n += 7) {
      const cuts = sliceOffsets(0, n, { average_size: 5, size_variation: 3, delay: 0 }, random);
      expect(cuts[0]).toBe(0);
      expect(cuts.at(-1)).toBe(n);
      for (let i = 1; i < cuts.length; i += 2) expect(cuts[i]!).toBeGreaterThanOrEqual(cuts[i - 1]!);
      for (let i = 2; i < cuts.length; i += 2) expect(cuts[i]).toBe(cuts[i - 1]);
    }
    expect(() => parseToxicSpec({ type: 'slicer', attributes: { average_size: 4, size_variation: 4 } }, builtinToxics)).toThrow(
      /toxic.attributes.size_variation must be smaller than toxic.attributes.average_size \(4\), got 4/,
    );
  });
});

describe('limit_data', () => {
  it('lets exactly bytes through, then closes', () => {
    const b = bench([{ type: 'limit_data', attributes: { bytes: 10 } }]);
    b.pipe.write(bytes(4, 1));
    b.pipe.write(bytes(4, 2));
    expect(b.endedAt).toBeUndefined();
    b.pipe.write(bytes(4, 3));
    expect(b.received()).toEqual(Buffer.concat([bytes(4, 1), bytes(4, 2), bytes(2, 3)]));
    expect(b.endedAt).toBe(0);
    b.pipe.write(bytes(4, 4));
    expect(b.received().length).toBe(10);
  });

  it('keeps its count across an update', () => {
    const b = bench([{ type: 'limit_data', attributes: { bytes: 10 } }]);
    b.pipe.write(bytes(6));
    b.pipe.update(parseToxicSpec({ type: 'limit_data', attributes: { bytes: 8 } }, builtinToxics));
    b.pipe.write(bytes(6));
    expect(b.received().length).toBe(8);
    expect(b.endedAt).toBe(0);
  });
});

describe('stall', () => {
  it('per chunk: holds everything for stall_ms, then lets it out in order', () => {
    const b = bench([{ type: 'stall', attributes: { probability: 1, stall_ms: 100 } }]);
    b.pipe.write(Buffer.from('a'));
    b.advanceTo(30);
    b.pipe.write(Buffer.from('b'));
    b.advanceTo(99);
    expect(b.out).toEqual([]);
    b.advanceTo(100);
    expect(b.out.map((c) => [String(c.data), c.at])).toEqual([['a', 100], ['b', 100]]);
    b.advanceTo(150);
    b.pipe.write(Buffer.from('c'));
    b.advanceTo(250);
    expect(b.out.at(-1)!.at).toBe(250);
  });

  it('per interval: stalls start on the ticks, and probability 0 never stalls', () => {
    const b = bench([{ type: 'stall', attributes: { probability: 1, stall_ms: 30, interval_ms: 100 } }]);
    b.pipe.write(Buffer.from('x'));
    expect(b.out).toHaveLength(1);
    b.advanceTo(110);
    b.pipe.write(Buffer.from('y'));
    b.advanceTo(130);
    expect(b.out.map((c) => c.at)).toEqual([0, 130]);
    b.pipe.dispose();
    expect(b.vts.actions).toHaveLength(0);
    const never = bench([{ type: 'stall', attributes: { probability: 0, stall_ms: 1000 } }]);
    never.pipe.write(bytes(1));
    expect(never.out).toHaveLength(1);
  });
});

describe('the pipeline', () => {
  it('rolls toxicity per connection: a miss is a pass-through', () => {
    const hit = bench([{ type: 'latency', toxicity: 0.5, attributes: { latency: 100 } }], { random: () => 0.49 });
    const miss = bench([{ type: 'latency', toxicity: 0.5, attributes: { latency: 100 } }], { random: () => 0.5 });
    hit.pipe.write(bytes(1));
    miss.pipe.write(bytes(1));
    expect(hit.out).toHaveLength(0);
    expect(miss.out).toHaveLength(1);
  });

  it('chains toxics in the order added, delays adding up', () => {
    const b = bench([
      { type: 'latency', name: 'a', attributes: { latency: 30 } },
      { type: 'latency', name: 'b', attributes: { latency: 20 } },
    ]);
    b.pipe.write(bytes(1));
    b.advanceTo(100);
    expect(b.out[0]!.at).toBe(50);
  });

  it('an update lets held data out at once and applies to what comes next', () => {
    const b = bench([{ type: 'latency', attributes: { latency: 1000 } }]);
    b.pipe.write(Buffer.from('a'));
    b.advanceTo(10);
    b.pipe.update(parseToxicSpec({ type: 'latency', attributes: { latency: 5 } }, builtinToxics));
    expect(b.out.map((c) => [String(c.data), c.at])).toEqual([['a', 10]]);
    b.pipe.write(Buffer.from('b'));
    b.advanceTo(100);
    expect(b.out.map((c) => [String(c.data), c.at])).toEqual([['a', 10], ['b', 15]]);
    expect(b.vts.actions).toHaveLength(0);
  });

  it('a removal lets held data out and carries a pending end through', () => {
    const b = bench([{ type: 'slow_close', attributes: { delay: 10_000 } }, { type: 'latency', attributes: { latency: 500 } }]);
    b.pipe.write(bytes(2));
    b.pipe.end();
    b.pipe.detach('latency_downstream');
    expect(b.received().length).toBe(2);
    b.pipe.detach('slow_close_downstream');
    expect(b.endedAt).toBe(0);
    expect(b.vts.actions).toHaveLength(0);
  });

  it('a toxic that throws reports once, stops delivery and leaves no timer', () => {
    const b = bench([{ type: 'latency', attributes: { latency: 100 } }], {
      frames: { classify: () => { throw new Error('classifier bug'); } },
    });
    b.attach({ type: 'wire_drop_pongs' });
    b.pipe.write(Buffer.from([0, 0, 0, 1, 0x91]));
    b.advanceTo(200);
    expect(b.errors).toHaveLength(1);
    expect((b.errors[0] as Error).message).toBe('classifier bug');
    expect(b.pipe.disposed).toBe(true);
    expect(b.out).toEqual([]);
    b.pipe.write(bytes(1));
    expect(b.vts.actions).toHaveLength(0);
  });

  it('validates specs with Toxiproxy defaults and refuses unknown attributes', () => {
    const entry = parseToxicSpec({ type: 'latency' }, builtinToxics);
    expect(entry).toMatchObject({ name: 'latency_downstream', stream: 'downstream', toxicity: 1, attributes: { latency: 0, jitter: 0 } });
    const fail = (spec: object) => () => parseToxicSpec(spec as never, builtinToxics);
    expect(fail({ type: 'latency', attributes: { latecy: 5 } })).toThrow(InvalidOptionError);
    expect(fail({ type: 'latency', attributes: { latecy: 5 } })).toThrow(/toxic.attributes.latecy is not a known option/);
    expect(fail({ type: 'latency', attributes: { latency: -5 } })).toThrow('toxic.attributes.latency must be an integer in [0, 2147483647] (ms), got -5');
    expect(fail({ type: 'nope' })).toThrow(/toxic.type must be one of "latency", .* got "nope"/);
    expect(fail({ type: 'latency', toxicity: 2 })).toThrow('toxic.toxicity must be a finite number in [0, 1], got 2');
    expect(fail({ type: 'latency', stream: 'sideways' })).toThrow(/toxic.stream must be one of "upstream", "downstream"/);
  });
});
