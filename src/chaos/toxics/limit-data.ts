/**
 * `limit_data`: lets exactly `bytes` bytes through in this direction, then closes the
 * stream (Toxiproxy's LimitDataToxic). The count lives in per-connection state, so an
 * update of `bytes` applies to what was already sent. With `bytes` 0 the close happens
 * when the next chunk arrives, as in Toxiproxy.
 */
import { integer, shape } from '../../options.js';
import type { ToxicDefinition } from '../toxic-types.js';

export interface LimitDataAttributes {
  /** Bytes allowed through before the stream closes. */
  readonly bytes: number;
}

interface LimitDataState {
  transmitted: number;
}

/**
 * @example
 * proxy.addToxic({ type: 'limit_data', attributes: { bytes: 1024 } });
 */
export const limitData: ToxicDefinition<LimitDataAttributes, LimitDataState> = {
  type: 'limit_data',
  description: 'closes the connection after bytes bytes',
  attributes: shape({ bytes: integer({ min: 0, default: 0 }) }),
  createState: () => ({ transmitted: 0 }),
  create(ctx, attrs, state) {
    return {
      write(chunk) {
        const remaining = Math.max(0, attrs.bytes - state.transmitted);
        const allowed = remaining < chunk.length ? chunk.subarray(0, remaining) : chunk;
        if (allowed.length > 0) {
          state.transmitted += allowed.length;
          ctx.push(allowed);
        }
        if (attrs.bytes - state.transmitted <= 0) ctx.close();
      },
      end: () => ctx.close(),
    };
  },
};
