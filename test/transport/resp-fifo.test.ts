/**
 * The FIFO under the RESP pipeline: order kept across compactions of its moving head.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RespFifo } from '../../src/transport/resp-fifo.js';

describe('resp fifo', () => {
  it('behaves like an array queue under any mix of push and shift (deep enough to compact)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant('shift' as const), fc.integer({ min: 1, max: 3000 })), { maxLength: 40 }), (ops) => {
        const fifo = new RespFifo<number>();
        const model: number[] = [];
        let next = 0;
        for (const op of ops) {
          if (op === 'shift') {
            // Shift a long run at once so the head passes the compaction threshold.
            const got: (number | undefined)[] = [];
            const want: (number | undefined)[] = [];
            for (let i = 0; i < 1500; i++) {
              got.push(fifo.shift());
              want.push(model.shift());
            }
            expect(got).toEqual(want);
          } else {
            for (let i = 0; i < op; i++) {
              fifo.push(next);
              model.push(next++);
            }
          }
          expect(fifo.size).toBe(model.length);
          expect(fifo.peek()).toBe(model[0]);
        }
        expect(fifo.drain()).toEqual(model);
        expect(fifo.size).toBe(0);
        expect(fifo.shift()).toBeUndefined();
      }),
      { numRuns: 50 },
    );
  });
});
