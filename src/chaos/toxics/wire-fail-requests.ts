/**
 * `wire_fail_requests` (wirewarden, protocol-aware): the first `count` request frames of
 * each connection fail; later ones pass. Put it on the `upstream` stream, where requests
 * travel.
 *
 * - `mode: 'error'` (default): the request never reaches the server; the client gets an
 *   error reply at once (for the wire protocol `[ERR, id, { code: 'WW_CHAOS_INJECTED',
 *   message }]`, a `RemoteError` on the caller's side), written between two frames of
 *   the downstream stream. If the frame inspector cannot build a reply, the request is
 *   dropped instead.
 * - `mode: 'drop'`: the request silently disappears; the caller sees its request timeout.
 *
 * A request that carries decoding state is let through and not counted: the wire codec
 * defines each payload object shape inline in the first frame that uses it, and dropping
 * that frame would leave the rest of the connection undecodable. So the first request of
 * each new payload shape passes (send a warm-up request to fail a precise count); payloads
 * without objects (strings, numbers, arrays) never carry state.
 *
 * The count lives in per-connection state: an update keeps counting.
 */
import { integer, oneOf, shape, string } from '../../options.js';
import type { ToxicDefinition } from '../toxic-types.js';
import { createFrameStageState, frameFilterStage, maxFrameBytesAttribute, type FrameStageState } from './frame-stage.js';

export interface WireFailRequestsAttributes {
  /** How many requests fail per connection. Default 1. */
  readonly count: number;
  /** `error`: answer with an error frame; `drop`: swallow the request. Default `error`. */
  readonly mode: 'error' | 'drop';
  /** The error message sent in `error` mode. */
  readonly message: string;
  /** Frames above this size pass through unclassified. Default 16 MiB. */
  readonly max_frame_bytes: number;
}

interface FailState extends FrameStageState {
  failed: number;
}

/**
 * @example
 * proxy.addToxic({ type: 'wire_fail_requests', stream: 'upstream', attributes: { count: 3, mode: 'error' } });
 */
export const wireFailRequests: ToxicDefinition<WireFailRequestsAttributes, FailState> = {
  type: 'wire_fail_requests',
  description: 'fails the first count wire requests per connection (error reply or drop)',
  attributes: shape({
    count: integer({ min: 0, default: 1 }),
    mode: oneOf(['error', 'drop'] as const, { default: 'error' }),
    message: string({ default: 'request failed by chaos toxic wire_fail_requests' }),
    max_frame_bytes: maxFrameBytesAttribute(),
  }),
  createState: () => ({ ...createFrameStageState(), failed: 0 }),
  create(ctx, attrs, state) {
    return frameFilterStage(ctx, state, attrs.max_frame_bytes, (frame, payload) => {
      const failable = ctx.frames.classify(payload) === 'request' && !ctx.frames.carriesState?.(payload);
      if (state.failed >= attrs.count || !failable) {
        ctx.pushFrame(frame);
        return;
      }
      state.failed += 1;
      const reply = attrs.mode === 'error' ? ctx.frames.errorReply?.(payload, attrs.message) : undefined;
      if (reply) ctx.reply(reply);
    });
  },
};
