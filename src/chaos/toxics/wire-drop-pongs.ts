/**
 * `wire_drop_pongs` (wirewarden, protocol-aware): drops PONG frames — each with
 * `probability` — and lets every other frame through. The peer's heartbeat probes go
 * unanswered while requests still work: the case of a wedged heartbeat path that a
 * connection's suspicion logic must tell apart from a dead peer. (A frame the inspector
 * says carries decoding state is never dropped; wire PONGs never do.)
 */
import { number, shape } from '../../options.js';
import type { ToxicDefinition } from '../toxic-types.js';
import { createFrameStageState, frameFilterStage, maxFrameBytesAttribute, type FrameStageState } from './frame-stage.js';

export interface WireDropPongsAttributes {
  /** Chance that a given PONG is dropped, in [0, 1]. Default 1. */
  readonly probability: number;
  /** Frames above this size pass through unclassified. Default 16 MiB. */
  readonly max_frame_bytes: number;
}

/**
 * @example
 * proxy.addToxic({ type: 'wire_drop_pongs', stream: 'downstream' });
 */
export const wireDropPongs: ToxicDefinition<WireDropPongsAttributes, FrameStageState> = {
  type: 'wire_drop_pongs',
  description: 'drops wire PONG frames (each with probability); other frames pass',
  attributes: shape({
    probability: number({ min: 0, max: 1, default: 1 }),
    max_frame_bytes: maxFrameBytesAttribute(),
  }),
  createState: createFrameStageState,
  create(ctx, attrs, state) {
    return frameFilterStage(ctx, state, attrs.max_frame_bytes, (frame, payload) => {
      const droppable = ctx.frames.classify(payload) === 'pong' && !ctx.frames.carriesState?.(payload);
      if (droppable && ctx.random() < attrs.probability) return;
      ctx.pushFrame(frame);
    });
  },
};
