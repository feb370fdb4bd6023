/**
 * `stall` (wirewarden): random stalls, the way packet loss looks from above TCP. A lost
 * segment is retransmitted after a timeout, and everything behind it waits (head-of-line
 * blocking), so the application sees a pause, then a burst — never missing or reordered
 * bytes. With `interval_ms` 0 a stall may start at each chunk (probability per chunk);
 * otherwise every `interval_ms` (probability per interval, idle or not). During a stall
 * of `stall_ms` everything is held; then it all leaves in order.
 */
import { duration, number, shape } from '../../options.js';
import type { ToxicDefinition } from '../toxic-types.js';
import { TimedQueue } from './timed-queue.js';

export interface StallAttributes {
  /** Chance that a stall starts, per chunk or per interval, in [0, 1]. */
  readonly probability: number;
  /** How long a stall holds the stream, ms. */
  readonly stall_ms: number;
  /** 0: decide at each chunk; > 0: decide every `interval_ms`. */
  readonly interval_ms: number;
}

/**
 * @example
 * // 5 % of chunks freeze the stream for 200 ms
 * proxy.addToxic({ type: 'stall', stream: 'downstream', attributes: { probability: 0.05, stall_ms: 200 } });
 */
export const stall: ToxicDefinition<StallAttributes> = {
  type: 'stall',
  description: 'holds the stream for stall_ms with probability per chunk or per interval_ms',
  attributes: shape({
    probability: number({ min: 0, max: 1, default: 0 }),
    stall_ms: duration({ min: 0, default: 0 }),
    interval_ms: duration({ min: 0, default: 0 }),
  }),
  create(ctx, attrs) {
    const queue = new TimedQueue(ctx);
    /** End of the current stall (scheduler time); in the past when not stalled. */
    let stalledUntil = -Infinity;
    const maybeStall = () => {
      const now = ctx.scheduler.now();
      if (now >= stalledUntil && attrs.stall_ms > 0 && ctx.random() < attrs.probability) {
        stalledUntil = now + attrs.stall_ms;
      }
    };
    if (attrs.interval_ms > 0) {
      const tick = () => {
        maybeStall();
        ctx.schedule(attrs.interval_ms, tick);
      };
      ctx.schedule(attrs.interval_ms, tick);
    }
    return {
      write(chunk) {
        if (attrs.interval_ms === 0) maybeStall();
        queue.add(chunk, Math.max(stalledUntil, ctx.scheduler.now()));
      },
      end: () => queue.closeWhenDrained(),
      flush: () => queue.flush(),
      get heldBytes() {
        return queue.heldBytes;
      },
    };
  },
};
