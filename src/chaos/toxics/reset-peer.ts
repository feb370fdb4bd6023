/**
 * `reset_peer`: the first chunk (or the end) to arrive in this direction starts a
 * `timeout` ms countdown, after which the connection is aborted with a TCP RST on both
 * sides, so peers read `ECONNRESET`. Data arriving meanwhile is discarded. Like
 * Toxiproxy's ResetToxic, an idle connection is left alone until traffic shows up.
 */
import { duration, shape } from '../../options.js';
import type { ToxicDefinition } from '../toxic-types.js';

export interface ResetPeerAttributes {
  /** Delay between the first traffic and the reset, ms; 0 = at once. */
  readonly timeout: number;
}

/**
 * @example
 * proxy.addToxic({ type: 'reset_peer', stream: 'upstream', attributes: { timeout: 0 } });
 */
export const resetPeer: ToxicDefinition<ResetPeerAttributes> = {
  type: 'reset_peer',
  description: 'resets the connection (TCP RST) timeout ms after the first data',
  attributes: shape({ timeout: duration({ min: 0, default: 0 }) }),
  create(ctx, attrs) {
    let armed = false;
    const trigger = () => {
      if (armed) return;
      armed = true;
      if (attrs.timeout <= 0) ctx.reset();
      else ctx.schedule(attrs.timeout, () => ctx.reset());
    };
    return { write: trigger, end: trigger };
  },
};
