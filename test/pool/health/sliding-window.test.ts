/**
 * The two sliding windows against a plain list of (time, outcome) kept by the test: the
 * totals always equal a recount of the calls the window should still hold.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BUCKETS, CountWindow, TimeWindow } from '../../../src/pool/health/sliding-window.js';

const call = fc.record({ dtMs: fc.integer({ min: 0, max: 3000 }), failed: fc.boolean(), slow: fc.boolean() });

describe('sliding windows', () => {
  it('count-based: the totals are those of the last `size` calls', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 12 }), fc.array(call, { maxLength: 60 }), (size, list) => {
      const w = new CountWindow(size);
      list.forEach((c, i) => {
        w.record(c.failed, c.slow);
        const kept = list.slice(Math.max(0, i + 1 - size), i + 1);
        expect([w.calls, w.failures, w.slowCalls]).toEqual([kept.length, kept.filter((k) => k.failed).length, kept.filter((k) => k.slow).length]);
      });
      w.reset();
      expect([w.calls, w.failures, w.slowCalls]).toEqual([0, 0, 0]);
    }));
  });

  it('time-based: the totals are those of the calls in the buckets of the last sizeMs', () => {
    fc.assert(fc.property(fc.integer({ min: 10, max: 20_000 }), fc.integer({ min: -50_000, max: 50_000 }), fc.array(call, { maxLength: 60 }), (sizeMs, start, list) => {
      const w = new TimeWindow(sizeMs);
      const bucketMs = sizeMs / BUCKETS;
      let now = start;
      const seen: { bucket: number; failed: boolean; slow: boolean }[] = [];
      for (const c of list) {
        now += c.dtMs;
        w.record(c.failed, c.slow, now);
        const head = Math.floor(now / bucketMs);
        seen.push({ bucket: head, failed: c.failed, slow: c.slow });
        const kept = seen.filter((s) => s.bucket > head - BUCKETS);
        expect([w.calls, w.failures, w.slowCalls]).toEqual([kept.length, kept.filter((k) => k.failed).length, kept.filter((k) => k.slow).length]);
      }
      w.advance(now + sizeMs);
      expect([w.calls, w.failures, w.slowCalls]).toEqual([0, 0, 0]);
    }));
  });
});
