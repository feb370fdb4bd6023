/**
 * `slow_close`: data passes untouched, but the end of the stream (the FIN) is held back
 * for `delay` ms (Toxiproxy's SlowCloseToxic).
 */
import { duration, shape } from '../../options.js';
import type { ToxicDefinition } from '../toxic-types.js';

export interface SlowCloseAttributes {
  /** How long the close is held back, ms. */
  readonly delay: number;
}

/**
 * @example
 * proxy.addToxic({ type: 'slow_close', attributes: { delay: 500 } });
 */
export const slowClose: ToxicDefinition<SlowCloseAttributes> = {
  type: 'slow_close',
  description: 'delays the close of the connection by delay ms',
  attributes: shape({ delay: duration({ min: 0, default: 0 }) }),
  create(ctx, attrs) {
    return {
      write: (chunk) => ctx.push(chunk),
      end: () => {
        ctx.schedule(attrs.delay, () => ctx.close());
      },
    };
  },
};
