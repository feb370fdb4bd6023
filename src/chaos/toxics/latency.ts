/**
 * `latency`: every chunk leaves `latency` ± `jitter` ms after it arrived (Toxiproxy's
 * LatencyToxic). The delay is measured from the chunk's arrival, not from when the chunk
 * ahead of it left, so a steady stream is shifted, not slowed; order is kept.
 */
import { duration, shape } from '../../options.js';
import type { ToxicDefinition } from '../toxic-types.js';
import { TimedQueue } from './timed-queue.js';

export interface LatencyAttributes {
  /** Added delay, ms. Default 0. */
  readonly latency: number;
  /** Uniform ± spread around `latency`, ms. Default 0. */
  readonly jitter: number;
}

/**
 * @example
 * proxy.addToxic({ type: 'latency', stream: 'downstream', attributes: { latency: 100, jitter: 20 } });
 */
export const latency: ToxicDefinition<LatencyAttributes> = {
  type: 'latency',
  description: 'delays every chunk by latency ± jitter ms',
  attributes: shape({
    latency: duration({ min: 0, default: 0 }),
    jitter: duration({ min: 0, default: 0 }),
  }),
  create(ctx, attrs) {
    const queue = new TimedQueue(ctx);
    const delayMs = () =>
      attrs.jitter > 0 ? Math.max(0, attrs.latency + (ctx.random() * 2 - 1) * attrs.jitter) : attrs.latency;
    return {
      write: (chunk) => queue.add(chunk, ctx.scheduler.now() + delayMs()),
      end: () => queue.closeWhenDrained(),
      flush: () => queue.flush(),
      get heldBytes() {
        return queue.heldBytes;
      },
    };
  },
};
