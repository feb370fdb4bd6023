/**
 * `bandwidth`: at most `rate` KB/s (1 KB = 1000 bytes, as in Toxiproxy, whose sleep is
 * `len × 1 ms / rate`). A chunk leaves once its transmission time has passed; chunks
 * larger than 100 ms worth of bytes are cut into 100 ms pieces, so a slow link trickles
 * instead of stalling and then bursting. Idle time earns no credit: no burst after a pause.
 * `rate` 0 means unlimited.
 */
import { integer, shape } from '../../options.js';
import type { ToxicDefinition } from '../toxic-types.js';
import { TimedQueue } from './timed-queue.js';

export interface BandwidthAttributes {
  /** KB/s (1000 bytes per second each); 0 = unlimited. */
  readonly rate: number;
}

/**
 * @example
 * proxy.addToxic({ type: 'bandwidth', attributes: { rate: 100 } }); // 100 KB/s downstream
 */
export const bandwidth: ToxicDefinition<BandwidthAttributes> = {
  type: 'bandwidth',
  description: 'limits throughput to rate KB/s',
  attributes: shape({ rate: integer({ min: 0, default: 0 }) }),
  create(ctx, attrs) {
    const queue = new TimedQueue(ctx);
    /** When the simulated link finishes sending what is queued (scheduler time). */
    let freeAt = 0;
    return {
      write(chunk) {
        if (attrs.rate <= 0) {
          ctx.push(chunk);
          return;
        }
        const pieceBytes = attrs.rate * 100;
        for (let offset = 0; offset < chunk.length; offset += pieceBytes) {
          const piece = chunk.subarray(offset, Math.min(offset + pieceBytes, chunk.length));
          freeAt = Math.max(freeAt, ctx.scheduler.now()) + piece.length / attrs.rate;
          queue.add(piece, freeAt);
        }
      },
      end: () => queue.closeWhenDrained(),
      flush: () => queue.flush(),
      get heldBytes() {
        return queue.heldBytes;
      },
    };
  },
};
