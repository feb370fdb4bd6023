/**
 * `timeout`: nothing gets through. With `timeout` > 0 the stream closes once `timeout` ms
 * pass without a chunk arriving (each chunk re-arms the timer, exactly as Toxiproxy's
 * loop re-creates its `time.After` per iteration); with 0 it blackholes until removed.
 * Removing the toxic closes the stream too (Toxiproxy's `Cleanup`): the data it swallowed
 * is gone, so the connection could not carry on correctly anyway.
 */
import { duration, shape } from '../../options.js';
import type { ToxicDefinition } from '../toxic-types.js';

export interface TimeoutAttributes {
  /** Close after this many ms without data; 0 = never close (blackhole). */
  readonly timeout: number;
}

/**
 * @example
 * proxy.addToxic({ type: 'timeout', stream: 'upstream', attributes: { timeout: 0 } }); // blackhole
 */
export const timeout: ToxicDefinition<TimeoutAttributes> = {
  type: 'timeout',
  description: 'drops all data; closes after timeout ms without data (0 = never)',
  attributes: shape({ timeout: duration({ min: 0, default: 0 }) }),
  create(ctx, attrs) {
    let cancel: (() => void) | undefined;
    const arm = () => {
      if (attrs.timeout <= 0) return;
      cancel?.();
      cancel = ctx.schedule(attrs.timeout, () => ctx.close());
    };
    arm();
    return {
      write: () => arm(),
      end: () => ctx.close(),
      remove: () => ctx.close(),
    };
  },
};
